import { useEffect, useState, type FormEvent } from 'react';
import { api, wsPath, type Page } from './api';
import { ProblemBanner, SelectField, TextField, formatTime } from './forms';
import { Pager, usePaged } from './paging';
import { Link, useQueryParams } from './router';
import type { AuditEvent } from './types';
import { EmptyState } from './ui';

const RESOURCE_TYPES = [
  ['', 'Any resource'],
  ['workspace', 'Workspace'],
  ['connector', 'Connector'],
  ['connection', 'Connection'],
  ['toolset', 'Toolset'],
  ['access-client', 'Access client'],
  ['member', 'Member'],
  ['api-key', 'API key'],
] as const;

const NOUNS: Record<string, string> = {
  workspace: 'workspace',
  connector: 'connector',
  connection: 'connection',
  toolset: 'toolset',
  'access-client': 'access client',
  member: 'member',
  'api-key': 'API key',
  'access-key': 'access key',
  token: 'token',
};

const FILTERS = ['resourceType', 'resourceId', 'principalId', 'clientId', 'since', 'until'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

/** An event as the API gives it; `client` is the OAuth client a user acted through (null for anything else). */
type ClientEvent = AuditEvent & { client?: { id: string; name: string | null } | null };

/**
 * The OAuth client of an event made through one: its name where a grant still records it, else its id, and a
 * filter for everything done through it.
 */
function ClientCell({ event, onFilter }: { event: ClientEvent; onFilter: (clientId: string) => void }) {
  const client = event.client;
  if (!client) return null;
  return (
    <span className="audit-client" data-client-id={client.id}>
      {' '}
      · via client <strong title={client.id}>{client.name ?? client.id}</strong> ·{' '}
      <button type="button" className="link" onClick={() => onFilter(client.id)}>
        Only events via this client
      </button>
    </span>
  );
}

/** datetime-local gives local wall time without a zone; the API wants an instant. */
const instant = (local: string) => (local === '' ? undefined : new Date(local).toISOString());

/** Where a resource's page is, when the console has one. */
function resourceLink(workspaceId: string, type: string, id: string): string | null {
  const base = `/w/${encodeURIComponent(workspaceId)}`;
  switch (type) {
    case 'connector':
      return `${base}/connectors/${encodeURIComponent(id)}`;
    case 'connection':
      return `${base}/connections/${encodeURIComponent(id)}`;
    case 'toolset':
      return `${base}/toolsets/${encodeURIComponent(id)}`;
    case 'access-client':
      return `${base}/access-clients`;
    default:
      return null;
  }
}

/** "changed description and name": the field names an update touched, in words. */
const listOf = (items: readonly string[]) =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;

/** One event as a sentence: who did what to which resource (a link while it may still exist). */
export function EventSentence({ workspaceId, event }: { workspaceId: string; event: AuditEvent }) {
  const who = event.principalName ?? 'a principal that no longer exists';
  const verb = event.action.slice(event.action.indexOf(':') + 1);
  const noun = NOUNS[event.resourceType] ?? event.resourceType;
  const href = verb === 'delete' ? null : resourceLink(workspaceId, event.resourceType, event.resourceId);
  const target = href ? (
    <Link to={href}>
      <code>{event.resourceId}</code>
    </Link>
  ) : (
    <code>{event.resourceId}</code>
  );
  let what: string;
  if (verb === 'create') what = 'created';
  else if (verb === 'delete') what = 'deleted';
  else if (verb === 'test') what = 'tested';
  else if (verb === 'update')
    what = event.changedFields.length > 0 ? `changed ${listOf(event.changedFields)} of` : 'updated';
  else what = `did ${event.action} on`;
  return (
    <span className="sentence">
      <strong title={event.principalId}>{who}</strong> {what} {noun} {target}
    </span>
  );
}

/** Who did what to which resource, which fields changed and when: newest first, filtered (filters in the address). */
export function AuditTimeline({ workspaceId }: { workspaceId: string }) {
  const [params, setParams] = useQueryParams();
  const filters = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])) as Filters;
  const [draft, setDraft] = useState<Filters>(filters);
  const signature = JSON.stringify(filters);
  useEffect(() => setDraft(filters), [signature]);
  const paged = usePaged(
    async (cursor) =>
      (
        await api.get<Page<ClientEvent>>(wsPath(workspaceId, 'audit'), {
          limit: 25,
          cursor,
          resourceType: filters.resourceType,
          resourceId: filters.resourceId.trim(),
          principalId: filters.principalId.trim(),
          clientId: filters.clientId.trim(),
          since: instant(filters.since),
          until: instant(filters.until),
        })
      ).body,
    `${workspaceId}\u0000${signature}`,
  );
  const set = (key: keyof Filters) => (value: string) => setDraft((d) => ({ ...d, [key]: value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setParams(draft);
  };
  const filtered = FILTERS.some((f) => filters[f] !== '');
  return (
    <section>
      <h1>Audit</h1>
      <form className="filters" onSubmit={submit} aria-label="Audit filters">
        <SelectField
          label="Resource type"
          value={draft.resourceType}
          options={RESOURCE_TYPES}
          onChange={set('resourceType')}
        />
        <TextField label="Resource id" value={draft.resourceId} onChange={set('resourceId')} />
        <TextField
          label="Who (principal id)"
          value={draft.principalId}
          onChange={set('principalId')}
          placeholder="prn_…"
        />
        <TextField
          label="Via OAuth client (client id)"
          value={draft.clientId}
          onChange={set('clientId')}
          placeholder="client id or metadata URL"
        />
        <TextField label="Since" type="datetime-local" value={draft.since} onChange={set('since')} />
        <TextField label="Until" type="datetime-local" value={draft.until} onChange={set('until')} />
        <div className="filter-actions">
          <button type="submit">Apply filters</button>{' '}
          <button type="button" onClick={() => setParams(Object.fromEntries(FILTERS.map((f) => [f, null])))}>
            Clear
          </button>
        </div>
      </form>
      <ProblemBanner problem={paged.problem} />
      <ol className="timeline" aria-busy={paged.loading} aria-label="Audit events">
        {paged.items.map((e) => (
          <li key={e.id}>
            <EventSentence workspaceId={workspaceId} event={e} />
            <ClientCell event={e} onFilter={(clientId) => setParams({ clientId })} />
            <div className="muted">
              <time dateTime={e.at}>{formatTime(e.at)}</time>
              {e.fromRevision !== null || e.toRevision !== null
                ? ` · revision ${e.fromRevision ?? '—'} → ${e.toRevision ?? '—'}`
                : ''}{' '}
              ·{' '}
              <button type="button" className="link" onClick={() => setParams({ principalId: e.principalId })}>
                Only events by {e.principalName ?? e.principalId}
              </button>{' '}
              · request <code>{e.requestId}</code>
            </div>
          </li>
        ))}
      </ol>
      {!paged.loading && paged.items.length === 0 ? (
        <EmptyState title={filtered ? 'No events match these filters.' : 'Nothing has happened in this workspace yet.'}>
          {filtered
            ? 'Clear the filters to see every event.'
            : 'Every create, change and delete is recorded here, with who did it.'}
        </EmptyState>
      ) : null}
      <Pager {...paged} />
    </section>
  );
}
