import { useEffect, useState } from 'react';
import { api, wsPath, type Page } from './api';
import { ProblemBanner } from './forms';
import { Pager, usePaged } from './paging';
import { Link } from './router';
import type { Connection, Connector } from './types';

export const ENV_TYPES = [
  ['0', 'Development'],
  ['1', 'Production'],
] as const;
export const envName = (envType: number) => (envType === 1 ? 'Production' : 'Development');

export function HealthBadge({ health }: { health: Connection['health'] }) {
  return (
    <span className={`badge health-${health.state}`} title={health.message ?? undefined}>
      {health.state}
    </span>
  );
}

/** The workspace's connectors, for pickers (the first 100 by id). */
export function useConnectors(workspaceId: string): Connector[] {
  const [connectors, setConnectors] = useState<Connector[]>([]);
  useEffect(() => {
    api.get<Page<Connector>>(wsPath(workspaceId, 'connectors'), { limit: 100 }).then(
      (reply) => setConnectors(reply.body.items),
      () => setConnectors([]),
    );
  }, [workspaceId]);
  return connectors;
}

export function ConnectionList({ workspaceId }: { workspaceId: string }) {
  const connectors = useConnectors(workspaceId);
  const [connectorId, setConnectorId] = useState('');
  const paged = usePaged(
    async (cursor) =>
      (await api.get<Page<Connection>>(wsPath(workspaceId, 'connections'), { limit: 20, cursor, connectorId })).body,
    `${workspaceId}\u0000${connectorId}`,
  );
  const base = `/w/${encodeURIComponent(workspaceId)}/connections`;
  return (
    <section>
      <div className="title-row">
        <h1>Connections</h1>
        <Link className="button primary" to={`${base}/new`}>
          New connection
        </Link>
      </div>
      <label htmlFor="connection-filter">Connector</label>{' '}
      <select id="connection-filter" value={connectorId} onChange={(e) => setConnectorId(e.target.value)}>
        <option value="">All connectors</option>
        {connectors.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name}
          </option>
        ))}
      </select>
      <ProblemBanner problem={paged.problem} />
      <table aria-busy={paged.loading}>
        <thead>
          <tr>
            <th>Name</th>
            <th>Id</th>
            <th>Type</th>
            <th>Environment</th>
            <th>Connector</th>
            <th>Health</th>
          </tr>
        </thead>
        <tbody>
          {paged.items.map((c) => (
            <tr key={c.id}>
              <td>
                <Link to={`${base}/${c.id}`}>{c.name}</Link>
              </td>
              <td>
                <code>{c.id}</code>
              </td>
              <td>{c.type}</td>
              <td>{envName(c.envType)}</td>
              <td>{c.connectorId ?? '—'}</td>
              <td>
                <HealthBadge health={c.health} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!paged.loading && paged.items.length === 0 ? <p className="muted">No connections yet.</p> : null}
      <Pager {...paged} />
    </section>
  );
}
