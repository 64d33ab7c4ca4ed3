import { useState, type FormEvent } from 'react';
import { api, wsPath, type Page } from './api';
import { ProblemBanner, SelectField, TextField, formatTime } from './forms';
import { Pager, usePaged } from './paging';
import { useQuery } from './router';
import type { AuditEvent } from './types';

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

interface Filters {
  resourceType: string;
  resourceId: string;
  principalId: string;
  since: string;
  until: string;
}

const EMPTY: Filters = { resourceType: '', resourceId: '', principalId: '', since: '', until: '' };
/** datetime-local gives local wall time without a zone; the API wants an instant. */
const instant = (local: string) => (local === '' ? undefined : new Date(local).toISOString());

/** Who did what to which resource, which fields changed and when: newest first, filtered. */
export function AuditTimeline({ workspaceId }: { workspaceId: string }) {
  const query = useQuery();
  // A resource's page links here with ?resourceType=…&resourceId=… for its own history.
  const initial: Filters = {
    ...EMPTY,
    resourceType: query.get('resourceType') ?? '',
    resourceId: query.get('resourceId') ?? '',
  };
  const [draft, setDraft] = useState<Filters>(initial);
  const [filters, setFilters] = useState<Filters>(initial);
  const paged = usePaged(
    async (cursor) =>
      (
        await api.get<Page<AuditEvent>>(wsPath(workspaceId, 'audit'), {
          limit: 25,
          cursor,
          resourceType: filters.resourceType,
          resourceId: filters.resourceId.trim(),
          principalId: filters.principalId.trim(),
          since: instant(filters.since),
          until: instant(filters.until),
        })
      ).body,
    `${workspaceId}\u0000${JSON.stringify(filters)}`,
  );
  const set = (key: keyof Filters) => (value: string) => setDraft((d) => ({ ...d, [key]: value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
  };
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
        <TextField label="Who (principal id)" value={draft.principalId} onChange={set('principalId')} />
        <TextField label="Since" type="datetime-local" value={draft.since} onChange={set('since')} />
        <TextField label="Until" type="datetime-local" value={draft.until} onChange={set('until')} />
        <button type="submit">Apply filters</button>{' '}
        <button
          type="button"
          onClick={() => {
            setDraft(EMPTY);
            setFilters(EMPTY);
          }}
        >
          Clear
        </button>
      </form>
      <ProblemBanner problem={paged.problem} />
      <ol className="timeline" aria-busy={paged.loading} aria-label="Audit events">
        {paged.items.map((e) => (
          <li key={e.id}>
            <time dateTime={e.at}>{formatTime(e.at)}</time> <strong>{e.action}</strong> on {e.resourceType}{' '}
            <code>{e.resourceId}</code> by{' '}
            {e.principalName === null ? (
              <code>{e.principalId}</code>
            ) : (
              <span title={e.principalId}>{e.principalName}</span>
            )}
            {e.fromRevision !== null || e.toRevision !== null ? (
              <span className="muted">
                {' '}
                (revision {e.fromRevision ?? '—'} → {e.toRevision ?? '—'})
              </span>
            ) : null}
            {e.changedFields.length > 0 ? <div className="changed">Changed: {e.changedFields.join(', ')}</div> : null}
            <div className="muted">request {e.requestId}</div>
          </li>
        ))}
      </ol>
      {!paged.loading && paged.items.length === 0 ? <p className="muted">No events match.</p> : null}
      <Pager {...paged} />
    </section>
  );
}
