import type { AuditEvent, NewAuditEvent } from '../domain/audit.js';
import type { AuditEventRow } from './schema.js';
import type { Executor } from './writer.js';

const toEvent = (row: Omit<AuditEventRow, 'id'> & { id: number }): AuditEvent => ({
  id: Number(row.id),
  at: row.at,
  principalId: row.principal_id,
  workspaceId: row.workspace_id,
  action: row.action,
  resourceType: row.resource_type,
  resourceId: row.resource_id,
  requestId: row.request_id,
  fromRevision: row.from_revision,
  toRevision: row.to_revision,
  changedFields: JSON.parse(row.changed_fields) as string[],
});

const toValues = (event: NewAuditEvent) => ({
  at: event.at,
  principal_id: event.principalId,
  workspace_id: event.workspaceId,
  action: event.action,
  resource_type: event.resourceType,
  resource_id: event.resourceId,
  request_id: event.requestId,
  from_revision: event.fromRevision,
  to_revision: event.toRevision,
  changed_fields: JSON.stringify(event.changedFields),
});

export async function insertAuditEvent(db: Executor, event: NewAuditEvent): Promise<void> {
  await db.insertInto('audit_events').values(toValues(event)).execute();
}

export interface AuditFilter {
  readonly workspaceId: string;
  readonly resourceType?: string;
  readonly resourceId?: string;
  readonly principalId?: string;
  readonly since?: string;
  readonly until?: string;
  /** Newest first: only events with a smaller id. */
  readonly before?: number;
  readonly limit: number;
}

/** Events of a workspace, newest first, filtered; served by the (workspace, …, id) indexes. */
export async function listAuditEvents(db: Executor, filter: AuditFilter): Promise<AuditEvent[]> {
  let query = db.selectFrom('audit_events').selectAll().where('workspace_id', '=', filter.workspaceId);
  if (filter.resourceType !== undefined) query = query.where('resource_type', '=', filter.resourceType);
  if (filter.resourceId !== undefined) query = query.where('resource_id', '=', filter.resourceId);
  if (filter.principalId !== undefined) query = query.where('principal_id', '=', filter.principalId);
  if (filter.since !== undefined) query = query.where('at', '>=', filter.since);
  if (filter.until !== undefined) query = query.where('at', '<', filter.until);
  if (filter.before !== undefined) query = query.where('id', '<', filter.before);
  const rows = await query.orderBy('id', 'desc').limit(filter.limit).execute();
  return rows.map(toEvent);
}
