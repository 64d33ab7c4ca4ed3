import { useEffect, useState } from 'react';
import { api, wsPath, type Page } from './api';
import { ProblemBanner } from './forms';
import { Pager, usePaged } from './paging';
import { Link } from './router';
import type { Connector } from './types';

const PAGE_SIZE = 20;

/** Versions as badges: the default and latest ones are marked. */
export function VersionBadges({ connector }: { connector: Connector }) {
  if (connector.versions.length === 0) return <span className="muted">no versions</span>;
  return (
    <span className="badges">
      {connector.versions.map((v) => (
        <span key={v.id} className="version">
          {v.name}
          {v.isDefault ? <span className="badge default">default</span> : null}
          {v.isLatest ? <span className="badge latest">latest</span> : null}
        </span>
      ))}
    </span>
  );
}

export function ConnectorList({ workspaceId }: { workspaceId: string }) {
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  // Searching as one types, once the typing pauses.
  useEffect(() => {
    const timer = setTimeout(() => setQuery(search.trim()), 250);
    return () => clearTimeout(timer);
  }, [search]);
  const paged = usePaged(
    async (cursor) =>
      (await api.get<Page<Connector>>(wsPath(workspaceId, 'connectors'), { limit: PAGE_SIZE, cursor, q: query })).body,
    `${workspaceId}\u0000${query}`,
  );
  const base = `/w/${encodeURIComponent(workspaceId)}/connectors`;
  return (
    <section>
      <div className="title-row">
        <h1>Connectors</h1>
        <Link className="button primary" to={`${base}/new`}>
          New connector
        </Link>
      </div>
      <form
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          setQuery(search.trim());
        }}
      >
        <label htmlFor="connector-search">Search by name</label>{' '}
        <input
          id="connector-search"
          type="search"
          value={search}
          onChange={(event) => setSearch(event.target.value)}
          placeholder="name contains…"
        />{' '}
        <button type="submit">Search</button>
      </form>
      <ProblemBanner problem={paged.problem} />
      <table aria-busy={paged.loading}>
        <thead>
          <tr>
            <th>Name</th>
            <th>Id</th>
            <th>Protocol</th>
            <th>Status</th>
            <th>Versions</th>
          </tr>
        </thead>
        <tbody>
          {paged.items.map((c) => (
            <tr key={c.id}>
              <td>
                <Link to={`${base}/${encodeURIComponent(c.id)}`}>{c.name}</Link>
              </td>
              <td>
                <code>{c.id}</code>
              </td>
              <td>{c.protocolType}</td>
              <td>{c.status}</td>
              <td>
                <VersionBadges connector={c} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!paged.loading && paged.items.length === 0 ? (
        <p className="muted">{query ? `No connector's name contains "${query}".` : 'No connectors yet.'}</p>
      ) : null}
      <Pager {...paged} />
    </section>
  );
}
