import { sql } from 'kysely';
import type { Credential, Connection, Health } from '../domain/connection.js';
import type { Variable } from '../domain/common.js';
import type { ExpressionBuilder } from 'kysely';
import type { ConnectionRow, Database } from './schema.js';
import type { Engine, Executor, ReadOptions } from './engine.js';
import { jsonMember, nameContains } from './list-filters.js';
import { ROW_VERSION, rememberRowVersion } from './row-versions.js';

/** A row as read back: the id the store assigned. */
export type StoredRow = Omit<ConnectionRow, 'id'> & { id: number };

export const toConnection = (row: StoredRow): Connection => ({
  id: Number(row.id),
  uid: row.uid,
  workspaceId: row.workspace_id,
  connectorId: row.connector_id,
  name: row.name,
  type: row.type,
  envType: row.env_type === 1 ? 1 : 0,
  description: row.description,
  status: row.status as Connection['status'],
  content: JSON.parse(row.content) as Record<string, unknown>,
  variables: JSON.parse(row.variables) as Variable[],
  credentials: JSON.parse(row.credentials) as Credential[],
  health: JSON.parse(row.health) as Health,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  revision: row.revision,
  ownerUserId: row.owner_user_id,
});

const toValues = (c: Omit<Connection, 'id'>) => ({
  uid: c.uid,
  workspace_id: c.workspaceId,
  connector_id: c.connectorId,
  scope: c.connectorId ?? '',
  name: c.name,
  type: c.type,
  env_type: c.envType,
  description: c.description,
  status: c.status,
  content: JSON.stringify(c.content),
  variables: JSON.stringify(c.variables),
  credentials: JSON.stringify(c.credentials),
  health: JSON.stringify(c.health),
  created_at: c.createdAt,
  updated_at: c.updatedAt,
  revision: c.revision,
  owner_user_id: c.ownerUserId,
});

export async function findConnection(
  db: Executor,
  workspaceId: string,
  id: number,
  options: ReadOptions = {},
): Promise<Connection | undefined> {
  let query = db.selectFrom('connections').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row && toConnection(row);
}

/** The workspace a connection id belongs to (ids are unique across workspaces), if it exists. */
export async function findWorkspaceOfConnection(db: Executor, id: number): Promise<string | undefined> {
  const row = await db.selectFrom('connections').select('workspace_id').where('id', '=', id).executeTakeFirst();
  return row?.workspace_id;
}

/** Which connections of a workspace a list shows. */
export interface ConnectionFilter {
  readonly connectorId?: string;
  readonly nameContains?: string;
  /** Only connections whose last test ended in this state (the engine says how to read the stored JSON). */
  readonly health?: { readonly engine: Engine; readonly state: Health['state'] };
  /** Only shared connections and those this principal owns (unset: every connection, for admins and owners). */
  readonly visibleTo?: string;
}

/** Shared connections and those `principalId` owns. */
const visibleTo = (principalId: string) => (eb: ExpressionBuilder<Database, 'connections'>) =>
  eb.or([eb('owner_user_id', 'is', null), eb('owner_user_id', '=', principalId)]);

export async function listConnections(
  db: Executor,
  workspaceId: string,
  options: { after?: number; limit: number } & ConnectionFilter,
): Promise<Connection[]> {
  let query = db.selectFrom('connections').selectAll().where('workspace_id', '=', workspaceId);
  if (options.connectorId !== undefined) query = query.where('connector_id', '=', options.connectorId);
  if (options.nameContains) query = query.where(nameContains('name', options.nameContains));
  if (options.health !== undefined)
    query = query.where(jsonMember(options.health.engine, 'health', 'state'), '=', options.health.state);
  if (options.visibleTo !== undefined) query = query.where(visibleTo(options.visibleTo));
  if (options.after !== undefined) query = query.where('id', '>', options.after);
  const rows = await query.orderBy('id').limit(options.limit).execute();
  return rows.map(toConnection);
}

/** Up to `limit` connections of a connector next to a cursor, nearest first: after it in id order, or before it backwards. */
export async function listConnectionsNear(
  db: Executor,
  workspaceId: string,
  connectorId: string,
  options: { after?: number; before?: number; limit: number; visibleTo?: string },
): Promise<Connection[]> {
  let query = db
    .selectFrom('connections')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('connector_id', '=', connectorId);
  if (options.visibleTo !== undefined) query = query.where(visibleTo(options.visibleTo));
  if (options.after !== undefined) query = query.where('id', '>', options.after);
  if (options.before !== undefined) query = query.where('id', '<', options.before);
  const rows = await query
    .orderBy('id', options.before !== undefined ? 'desc' : 'asc')
    .limit(options.limit)
    .execute();
  return rows.map(toConnection);
}

/** How many connections of a connector have an id in the given range (all of them without one). */
export async function countConnectionsInRange(
  db: Executor,
  workspaceId: string,
  connectorId: string,
  range: { below?: number; above?: number; visibleTo?: string },
): Promise<number> {
  let query = db
    .selectFrom('connections')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('connector_id', '=', connectorId);
  if (range.visibleTo !== undefined) query = query.where(visibleTo(range.visibleTo));
  if (range.below !== undefined) query = query.where('id', '<', range.below);
  if (range.above !== undefined) query = query.where('id', '>', range.above);
  return Number((await query.executeTakeFirstOrThrow()).n);
}

export async function countConnectionsOfConnector(
  db: Executor,
  workspaceId: string,
  connectorId: string,
): Promise<number> {
  const row = await db
    .selectFrom('connections')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('connector_id', '=', connectorId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Inserts a connection and returns it with the id the store assigned. With `rowVersion` (PostgreSQL only), it
 * comes back marked with the version its row was inserted at, as the optimistic row-change path reads rows (see
 * Writer.remember).
 */
export async function insertConnection(
  db: Executor,
  connection: Omit<Connection, 'id'>,
  options: { readonly rowVersion?: boolean } = {},
): Promise<Connection> {
  const insert = db.insertInto('connections').values(toValues(connection));
  if (!options.rowVersion) {
    const row = await insert.returning('id').executeTakeFirstOrThrow();
    return { ...connection, id: Number(row.id) };
  }
  const row = await insert.returning(['id', ROW_VERSION.as('row_version')]).executeTakeFirstOrThrow();
  return rememberRowVersion({ ...connection, id: Number(row.id) }, row.row_version);
}

export async function updateConnection(
  db: Executor,
  connection: Connection,
  expectedRevision: number,
): Promise<boolean> {
  const { workspace_id, uid: _uid, created_at, owner_user_id: _owner, ...changes } = toValues(connection);
  const result = await db
    .updateTable('connections')
    .set(changes)
    .where('workspace_id', '=', workspace_id)
    .where('id', '=', connection.id)
    .where('revision', '=', expectedRevision)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteConnection(
  db: Executor,
  workspaceId: string,
  id: number,
  expectedRevision: number,
): Promise<boolean> {
  const result = await db
    .deleteFrom('connections')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where('revision', '=', expectedRevision)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export async function deleteConnectionsOfConnector(
  db: Executor,
  workspaceId: string,
  connectorId: string,
): Promise<number> {
  const result = await db
    .deleteFrom('connections')
    .where('workspace_id', '=', workspaceId)
    .where('connector_id', '=', connectorId)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Connections go before their workspace so that the connector foreign key never sees an orphan. */
export async function deleteConnectionsOfWorkspace(db: Executor, workspaceId: string): Promise<void> {
  await db.deleteFrom('connections').where('workspace_id', '=', workspaceId).execute();
}

/**
 * The ids of a connector's connections whose variables are not exactly these, in id order: the ones a propagation
 * of the connector's variables changes. Variables are stored in canonical JSON, so text equality is value equality.
 */
export async function idsOfConnectorWithOtherVariables(
  db: Executor,
  workspaceId: string,
  connectorId: string,
  variables: readonly Variable[],
): Promise<number[]> {
  const rows = await db
    .selectFrom('connections')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('connector_id', '=', connectorId)
    .where('variables', '<>', JSON.stringify(variables))
    .orderBy('id')
    .execute();
  return rows.map((row) => Number(row.id));
}

/** How many connections of a connector hold a credential for one of its auth-scheme configs. */
export async function countConnectionsUsingConfig(
  db: Executor,
  workspaceId: string,
  connectorId: string,
  configId: string,
): Promise<number> {
  // Credentials are stored as canonical JSON ({kind, authSchemeConfigId, secret}), so the id appears verbatim.
  const needle = `%"authSchemeConfigId":${JSON.stringify(configId).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const row = await db
    .selectFrom('connections')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('connector_id', '=', connectorId)
    .where(sql<boolean>`credentials like ${needle} escape '\\'`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The connection of `connectorId` that `userId` owns, if any (at most one: a unique index). */
export async function findOwnedConnection(
  db: Executor,
  workspaceId: string,
  connectorId: string,
  userId: string,
): Promise<Connection | undefined> {
  const row = await db
    .selectFrom('connections')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('connector_id', '=', connectorId)
    .where('owner_user_id', '=', userId)
    .executeTakeFirst();
  return row && toConnection(row);
}

/** Deletes the connections a person owns in a workspace (their tokens and connect requests go with them). */
export async function deleteConnectionsOwnedBy(db: Executor, workspaceId: string, userId: string): Promise<number> {
  const result = await db
    .deleteFrom('connections')
    .where('workspace_id', '=', workspaceId)
    .where('owner_user_id', '=', userId)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
