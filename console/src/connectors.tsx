import { useState } from 'react';
import { api, etagOf, wsPath, type Page } from './api';
import { ProblemBanner, problemOf } from './forms';
import { Pager, usePaged } from './paging';
import { Link, useQueryParams } from './router';
import type { Connector } from './types';
import {
  BulkBar,
  ConfirmDialog,
  EmptyState,
  FilterSelect,
  Outcome,
  SearchBox,
  SelectAllCell,
  SelectCell,
  deleteEach,
  useSelection,
} from './ui';

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

/** How many connections go with each connector, read before a delete is confirmed. */
export async function connectionCounts(workspaceId: string, ids: readonly string[]): Promise<Map<string, number>> {
  const counts = await Promise.all(
    ids.map(async (id) => {
      const reply = await api.get<{ connections: number }>(`${wsPath(workspaceId, 'connectors', id)}/connection-count`);
      return [id, reply.body.connections] as const;
    }),
  );
  return new Map(counts);
}

/** Deletes a connector, and its connections with it when it has any (the API wants force=true then). */
export const deleteConnector = (workspaceId: string, id: string, connections: number, ifMatch?: string | null) =>
  api.del(wsPath(workspaceId, 'connectors', id), ifMatch, connections > 0 ? { force: 'true' } : undefined);

export function connectorConsequence(connections: number): string {
  return connections === 0
    ? 'It has no connections.'
    : `Its ${connections} connection${connections === 1 ? '' : 's'} will be deleted with it.`;
}

export function ConnectorList({ workspaceId }: { workspaceId: string }) {
  const [params, setParams] = useQueryParams();
  const query = params.get('q') ?? '';
  const status = params.get('status') ?? '';
  const paged = usePaged(
    async (cursor) =>
      (
        await api.get<Page<Connector>>(wsPath(workspaceId, 'connectors'), {
          limit: PAGE_SIZE,
          cursor,
          q: query,
          status,
        })
      ).body,
    `${workspaceId}\u0000${query}\u0000${status}`,
  );
  const selection = useSelection(paged.items.map((c) => c.id));
  const [confirm, setConfirm] = useState<{ connectors: Connector[]; counts: Map<string, number> } | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ deleted: number; failures: string[]; noun: string } | null>(null);
  const base = `/w/${encodeURIComponent(workspaceId)}/connectors`;
  const askDelete = async () => {
    const chosen = paged.items.filter((c) => selection.has(c.id));
    try {
      setConfirm({
        connectors: chosen,
        counts: await connectionCounts(
          workspaceId,
          chosen.map((c) => c.id),
        ),
      });
    } catch (error) {
      setOutcome({ deleted: 0, failures: [problemOf(error).detail], noun: 'connectors' });
    }
  };
  const total = confirm ? [...confirm.counts.values()].reduce((a, b) => a + b, 0) : 0;
  return (
    <section>
      <div className="title-row">
        <h1>Connectors</h1>
        <Link className="button primary" to={`${base}/new`}>
          New connector
        </Link>
      </div>
      <div className="toolbar">
        <SearchBox label="Search by name" value={query} onSearch={(q) => setParams({ q })} />
        <FilterSelect
          label="Status"
          value={status}
          options={[
            ['', 'Any status'],
            ['active', 'Active'],
            ['disabled', 'Disabled'],
          ]}
          onChange={(value) => setParams({ status: value })}
        />
      </div>
      <ProblemBanner problem={paged.problem} />
      <Outcome outcome={outcome} />
      <BulkBar count={selection.selected.length} noun="connectors" onDelete={() => void askDelete()} />
      {paged.items.length > 0 ? (
        <table aria-busy={paged.loading} className="list">
          <thead>
            <tr>
              <SelectAllCell selection={selection} noun="connectors" />
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
                <SelectCell selection={selection} id={c.id} label={c.name} />
                <td data-label="Name">
                  <Link to={`${base}/${encodeURIComponent(c.id)}`}>{c.name}</Link>
                </td>
                <td data-label="Id">
                  <code>{c.id}</code>
                </td>
                <td data-label="Protocol">{c.protocolType}</td>
                <td data-label="Status">
                  <span className={`badge status-${c.status}`}>{c.status}</span>
                </td>
                <td data-label="Versions">
                  <VersionBadges connector={c} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {!paged.loading && paged.items.length === 0 ? (
        query || status ? (
          <EmptyState title="No connector matches these filters.">
            <button type="button" onClick={() => setParams({ q: null, status: null })}>
              Clear the filters
            </button>
          </EmptyState>
        ) : (
          <EmptyState title="No connectors yet.">
            A connector describes an outside system (its base URL, how it authenticates).{' '}
            <Link to={`${base}/new`}>Create the first connector</Link>.
          </EmptyState>
        )
      ) : null}
      <Pager {...paged} />
      {confirm ? (
        <ConfirmDialog
          title={`Delete ${confirm.connectors.length} connector${confirm.connectors.length === 1 ? '' : 's'}?`}
          confirmLabel={total > 0 ? `Delete connectors and ${total} connections` : 'Delete connectors'}
          busy={busy}
          onCancel={() => setConfirm(null)}
          onConfirm={() => {
            setBusy(true);
            void deleteEach(
              confirm.connectors.map((c) => ({
                id: c.id,
                label: c.name,
                remove: () => deleteConnector(workspaceId, c.id, confirm.counts.get(c.id) ?? 0, etagOf(c)),
              })),
            ).then((result) => {
              setBusy(false);
              setConfirm(null);
              setOutcome({ ...result, noun: result.deleted === 1 ? 'connector' : 'connectors' });
              paged.reload();
            });
          }}
        >
          <ul>
            {confirm.connectors.map((c) => (
              <li key={c.id}>
                <strong>{c.name}</strong> <code>{c.id}</code>: {connectorConsequence(confirm.counts.get(c.id) ?? 0)}
              </li>
            ))}
          </ul>
          <p>This cannot be undone. The audit keeps a record of each deletion.</p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
