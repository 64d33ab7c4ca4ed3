import { useEffect, useState } from 'react';
import { api, etagOf, wsPath, type Page } from './api';
import { OAuthBadge } from './connection-oauth';
import { ProblemBanner } from './forms';
import { Pager, usePaged } from './paging';
import { Link, useQueryParams } from './router';
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
  const [params, setParams] = useQueryParams();
  const query = params.get('q') ?? '';
  const connectorId = params.get('connector') ?? '';
  const health = params.get('health') ?? '';
  const paged = usePaged(
    async (cursor) =>
      (
        await api.get<Page<Connection>>(wsPath(workspaceId, 'connections'), {
          limit: 20,
          cursor,
          connectorId,
          q: query,
          health,
        })
      ).body,
    `${workspaceId}\u0000${connectorId}\u0000${query}\u0000${health}`,
  );
  const selection = useSelection(paged.items.map((c) => String(c.id)));
  const [confirm, setConfirm] = useState<Connection[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ deleted: number; failures: string[]; noun: string } | null>(null);
  const connectorName = (id: string | null) => (id === null ? '—' : (connectors.find((c) => c.id === id)?.name ?? id));
  const base = `/w/${encodeURIComponent(workspaceId)}/connections`;
  const filtered = query !== '' || connectorId !== '' || health !== '';
  return (
    <section>
      <div className="title-row">
        <h1>Connections</h1>
        <Link className="button primary" to={`${base}/new`}>
          New connection
        </Link>
      </div>
      <div className="toolbar">
        <SearchBox label="Search by name" value={query} onSearch={(q) => setParams({ q })} />
        <FilterSelect
          label="Connector"
          value={connectorId}
          options={[['', 'All connectors'] as const, ...connectors.map((c) => [c.id, c.name] as const)]}
          onChange={(value) => setParams({ connector: value })}
        />
        <FilterSelect
          label="Health"
          value={health}
          options={[
            ['', 'Any health'],
            ['ok', 'OK'],
            ['failing', 'Failing'],
            ['unknown', 'Not tested'],
          ]}
          onChange={(value) => setParams({ health: value })}
        />
      </div>
      <ProblemBanner problem={paged.problem} />
      <Outcome outcome={outcome} />
      <BulkBar
        count={selection.selected.length}
        noun="connections"
        onDelete={() => setConfirm(paged.items.filter((c) => selection.has(String(c.id))))}
      />
      {paged.items.length > 0 ? (
        <table aria-busy={paged.loading} className="list">
          <thead>
            <tr>
              <SelectAllCell selection={selection} noun="connections" />
              <th>Name</th>
              <th>Id</th>
              <th>Type</th>
              <th>Environment</th>
              <th>Connector</th>
              <th>Health</th>
              <th>OAuth</th>
            </tr>
          </thead>
          <tbody>
            {paged.items.map((c) => (
              <tr key={c.id}>
                <SelectCell selection={selection} id={String(c.id)} label={c.name} />
                <td data-label="Name">
                  <Link to={`${base}/${c.id}`}>{c.name}</Link>
                  {c.ownerUserId !== null && (
                    <>
                      {' '}
                      <span className="badge" title={`Belongs to user ${c.ownerUserId}: only their own calls use it`}>
                        personal
                      </span>
                    </>
                  )}
                </td>
                <td data-label="Id">
                  <code>{c.id}</code>
                </td>
                <td data-label="Type">{c.type}</td>
                <td data-label="Environment">{envName(c.envType)}</td>
                <td data-label="Connector">{connectorName(c.connectorId)}</td>
                <td data-label="Health">
                  <HealthBadge health={c.health} />
                </td>
                <td data-label="OAuth">
                  <OAuthBadge connection={c} connector={connectors.find((k) => k.id === c.connectorId)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {!paged.loading && paged.items.length === 0 ? (
        filtered ? (
          <EmptyState title="No connection matches these filters.">
            <button type="button" onClick={() => setParams({ q: null, connector: null, health: null })}>
              Clear the filters
            </button>
          </EmptyState>
        ) : (
          <EmptyState title="No connections yet.">
            A connection holds the settings and credentials for reaching one system.{' '}
            <Link to={`${base}/new`}>Create the first connection</Link>.
          </EmptyState>
        )
      ) : null}
      <Pager {...paged} />
      {confirm ? (
        <ConfirmDialog
          title={`Delete ${confirm.length} connection${confirm.length === 1 ? '' : 's'}?`}
          confirmLabel="Delete connections"
          busy={busy}
          onCancel={() => setConfirm(null)}
          onConfirm={() => {
            setBusy(true);
            void deleteEach(
              confirm.map((c) => ({
                id: String(c.id),
                label: c.name,
                remove: () => api.del(wsPath(workspaceId, 'connections', c.id), etagOf(c)),
              })),
            ).then((result) => {
              setBusy(false);
              setConfirm(null);
              setOutcome({ ...result, noun: result.deleted === 1 ? 'connection' : 'connections' });
              paged.reload();
            });
          }}
        >
          <ul>
            {confirm.map((c) => (
              <li key={c.id}>
                <strong>{c.name}</strong> ({c.type}, {envName(c.envType)})
              </li>
            ))}
          </ul>
          <p>Their settings and stored secrets go with them. This cannot be undone.</p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
