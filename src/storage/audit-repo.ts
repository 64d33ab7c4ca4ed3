import { sql, type QueryCreator, type RawBuilder } from 'kysely';
import type { AuditEvent, NamedAuditEvent, NewAuditEvent } from '../domain/audit.js';
import type { AuditEventRow, Database } from './schema.js';
import { compiledOnce, compiledPerDialect } from './compiled-once.js';
import type { Engine, Executor } from './engine.js';

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
  clientId: row.client_id ?? null,
  clientName: row.client_name ?? null,
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
  client_id: event.clientId ?? null,
  client_name: event.clientId ? (event.clientName ?? null) : null,
});

/**
 * The uid of the workspace stored under an id, read by the statement that records the event: an event belongs
 * to the workspace as it is when the change commits, never to one created later under the same id.
 */
const workspaceUidOf = (workspaceId: RawBuilder<unknown> | string) =>
  sql<string | null>`(select w.uid from workspaces w where w.id = ${workspaceId})`;

const toInsert = (event: NewAuditEvent) => ({ ...toValues(event), workspace_uid: workspaceUidOf(event.workspaceId) });

/** One event: every write records one, so the statement is compiled once (see {@link compiledPerDialect}). */
const insertOne = compiledPerDialect((db, ...values) => {
  const [at, principalId, workspaceId, action, resourceType, resourceId, requestId, ...rest] = values;
  const [fromRevision, toRevision, changedFields, clientId, clientName] = rest;
  const value = <T>(marker: string | undefined) => sql<T>`${marker}`;
  return db.insertInto('audit_events').values({
    at: at!,
    principal_id: principalId!,
    workspace_id: workspaceId!,
    workspace_uid: workspaceUidOf(workspaceId!),
    action: action!,
    resource_type: resourceType!,
    resource_id: resourceId!,
    request_id: requestId!,
    from_revision: value<number | null>(fromRevision),
    to_revision: value<number | null>(toRevision),
    changed_fields: changedFields!,
    client_id: value<string | null>(clientId),
    client_name: value<string | null>(clientName),
  });
});

export async function insertAuditEvent(db: Executor, event: NewAuditEvent): Promise<void> {
  const v = toValues(event);
  await insertOne(db, [
    v.at,
    v.principal_id,
    v.workspace_id,
    v.action,
    v.resource_type,
    v.resource_id,
    v.request_id,
    v.from_revision,
    v.to_revision,
    v.changed_fields,
    v.client_id,
    v.client_name,
  ]);
}

/** Several events in one statement, in order. */
export async function insertAuditEvents(db: Executor, events: readonly NewAuditEvent[]): Promise<void> {
  if (events.length === 1) await insertAuditEvent(db, events[0]!);
  else if (events.length > 1) await db.insertInto('audit_events').values(events.map(toInsert)).execute();
}

const AUDIT_COLUMNS = [
  'at',
  'principal_id',
  'workspace_id',
  'workspace_uid',
  'action',
  'resource_type',
  'resource_id',
  'request_id',
  'from_revision',
  'to_revision',
  'changed_fields',
] as const;

/**
 * The INSERT of the events in a JSON parameter (objects with the columns of {@link toValues}, `n` for their
 * order and, with `onlyWritten`, `i`: the row of a row-change statement the event belongs to). With
 * `onlyWritten`, only the events whose `i` the common table expression of that name returned are inserted:
 * the events of the rows an optimistic UPDATE did write.
 */
export function insertEventsFromJson(db: QueryCreator<Database>, onlyWritten?: string) {
  const written = onlyWritten === undefined ? sql`true` : sql`e.i in (select i from ${sql.table(onlyWritten)})`;
  return db
    .insertInto('audit_events')
    .columns([...AUDIT_COLUMNS, 'client_id', 'client_name'])
    .expression(
      sql`select at, principal_id, workspace_id, ${workspaceUidOf(sql.ref('e.workspace_id'))}, action, resource_type, resource_id, request_id, from_revision, to_revision, changed_fields, client_id, client_name
      from json_to_recordset(${'[]'}::json) as e(n integer, i integer, at text, principal_id text, workspace_id text, action text, resource_type text,
        resource_id text, request_id text, from_revision integer, to_revision integer, changed_fields text, client_id text, client_name text)
      where ${written}
      order by e.n`,
    );
}

/** The JSON parameter of {@link insertEventsFromJson}: events in order, each with the row it belongs to, if any. */
export const eventsAsJson = (events: readonly { event: NewAuditEvent; row?: number }[]) =>
  JSON.stringify(events.map(({ event, row }, n) => ({ n, i: row, ...toValues(event) })));

const insertFromJson = compiledOnce((db) => insertEventsFromJson(db));

/**
 * PostgreSQL: many events in one statement whose text never changes (the rows travel as one JSON parameter,
 * see {@link compiledOnce}), given ids in order. What the writer's row-change batches use.
 */
export async function insertAuditEventBatch(db: Executor, events: readonly NewAuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  await insertFromJson(db, [eventsAsJson(events.map((event) => ({ event })))]);
}

/** The columns of {@link toValues} in the order of an INSERT of {@link AUDIT_COLUMNS} and the client columns. */
const JSON_EVENT_COLUMNS = [
  'at',
  'principal_id',
  'workspace_id',
  'action',
  'resource_type',
  'resource_id',
  'request_id',
  'from_revision',
  'to_revision',
  'changed_fields',
  'client_id',
  'client_name',
] as const;

/**
 * Many events in one statement on either store, in order, their rows in one JSON parameter: PostgreSQL's
 * {@link insertAuditEventBatch}, SQLite's `json_each` (a multi-row VALUES would take 12 parameters an event,
 * past SQLite's limit for a few thousand, and cost more to build than to run).
 */
export async function insertManyAuditEvents(
  db: Executor,
  engine: Engine,
  events: readonly NewAuditEvent[],
): Promise<void> {
  if (events.length === 0) return;
  if (engine === 'postgres') return insertAuditEventBatch(db, events);
  const field = (name: string) => sql`json_extract(e.value, ${`$.${name}`})`;
  const [at, principalId, workspaceId, ...rest] = JSON_EVENT_COLUMNS.map(field);
  await sql`insert into audit_events (${sql.join([...AUDIT_COLUMNS, 'client_id', 'client_name'].map((c) => sql.ref(c)))})
    select ${sql.join([at!, principalId!, workspaceId!, workspaceUidOf(workspaceId!), ...rest])}
    from json_each(${eventsAsJson(events.map((event) => ({ event })))}) as e order by e.key`.execute(db);
}

export interface AuditFilter {
  readonly workspaceId: string;
  readonly resourceType?: string;
  readonly resourceId?: string;
  readonly principalId?: string;
  readonly clientId?: string;
  readonly since?: string;
  readonly until?: string;
  /** Newest first: only events with a smaller id. */
  readonly before?: number;
  readonly limit: number;
}

/** Events of a workspace, newest first, filtered; served by the (workspace, …, id) indexes. */
export async function listAuditEvents(db: Executor, filter: AuditFilter): Promise<NamedAuditEvent[]> {
  let query = db
    .selectFrom('audit_events')
    .selectAll()
    .select((eb) =>
      eb
        .selectFrom('principals')
        .select('principals.name')
        .whereRef('principals.id', '=', 'audit_events.principal_id')
        .as('principal_name'),
    )
    // The client's name as the workspace's grants record it (an OAuth client has no row of its own here).
    .select((eb) =>
      eb
        .selectFrom('oauth_grants')
        .select('oauth_grants.client_name')
        .whereRef('oauth_grants.client_id', '=', 'audit_events.client_id')
        .whereRef('oauth_grants.workspace_id', '=', 'audit_events.workspace_id')
        .orderBy('oauth_grants.created_at', 'desc')
        .limit(1)
        .as('client_name_now'),
    )
    .where('workspace_id', '=', filter.workspaceId)
    // Only the events of the workspace stored under this id now, not of one deleted before it was created.
    .where('workspace_uid', '=', workspaceUidOf(filter.workspaceId));
  if (filter.resourceType !== undefined) query = query.where('resource_type', '=', filter.resourceType);
  if (filter.resourceId !== undefined) query = query.where('resource_id', '=', filter.resourceId);
  if (filter.principalId !== undefined) query = query.where('principal_id', '=', filter.principalId);
  if (filter.clientId !== undefined) query = query.where('client_id', '=', filter.clientId);
  if (filter.since !== undefined) query = query.where('at', '>=', filter.since);
  if (filter.until !== undefined) query = query.where('at', '<', filter.until);
  if (filter.before !== undefined) query = query.where('id', '<', filter.before);
  const rows = await query.orderBy('id', 'desc').limit(filter.limit).execute();
  return rows.map((row) => ({
    ...toEvent(row),
    principalName: row.principal_name ?? null,
    client: row.client_id === null ? null : { id: row.client_id, name: row.client_name_now ?? row.client_name ?? null },
  }));
}

/** An event as the operator reads it: with the uid of the workspace it belongs to (null: before uids, of a workspace since deleted). */
export interface OperatorAuditEvent extends AuditEvent {
  readonly workspaceUid: string | null;
}

/**
 * Every event recorded under a workspace id, of the workspace stored there now and of any deleted before it
 * (or of one workspace only, by uid), newest first: what the operator reads from the command line.
 */
export async function listAuditEventsForOperator(
  db: Executor,
  filter: {
    readonly workspaceId?: string;
    readonly workspaceUid?: string;
    readonly before?: number;
    readonly limit: number;
  },
): Promise<OperatorAuditEvent[]> {
  let query = db.selectFrom('audit_events').selectAll();
  if (filter.workspaceId !== undefined) query = query.where('workspace_id', '=', filter.workspaceId);
  if (filter.workspaceUid !== undefined) query = query.where('workspace_uid', '=', filter.workspaceUid);
  if (filter.before !== undefined) query = query.where('id', '<', filter.before);
  const rows = await query.orderBy('id', 'desc').limit(filter.limit).execute();
  return rows.map((row) => ({ ...toEvent(row), workspaceUid: row.workspace_uid }));
}

/**
 * Records one `connection:delete` event per connection of a connector in a single statement, before a forced
 * delete of the connector takes them with it. Run it first, in the same transaction as the delete.
 */
export async function insertConnectorConnectionEvents(
  db: Executor,
  scope: { workspaceId: string; connectorId: string },
  meta: { at: string; principalId: string; requestId: string },
): Promise<void> {
  const select = db
    .selectFrom('connections')
    .select((eb) => [
      eb.val(meta.at).as('at'),
      eb.val(meta.principalId).as('principal_id'),
      'workspace_id',
      workspaceUidOf(sql.ref('connections.workspace_id')).as('workspace_uid'),
      eb.val('connection:delete').as('action'),
      eb.val('connection').as('resource_type'),
      sql<string>`cast(id as text)`.as('resource_id'),
      eb.val(meta.requestId).as('request_id'),
      'revision',
      sql<number | null>`null`.as('to_revision'),
      eb.val('[]').as('changed_fields'),
    ])
    .where('workspace_id', '=', scope.workspaceId)
    .where('connector_id', '=', scope.connectorId);
  await db
    .insertInto('audit_events')
    .columns([...AUDIT_COLUMNS])
    .expression(select.orderBy('id'))
    .execute();
}
