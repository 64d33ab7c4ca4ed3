import { sql, type QueryCreator } from 'kysely';
import type { AuthSchemeConfig, Connector, ConnectorVersion, ProtocolType } from '../domain/connector.js';
import type { Variable } from '../domain/common.js';
import type { ConnectorRow, Database } from './schema.js';
import { compiledOnce } from './compiled-once.js';
import { eventsAsJson, insertEventsFromJson } from './audit-repo.js';
import type { NewAuditEvent } from '../domain/audit.js';
import type { Engine, Executor, ReadOptions, Tx } from './engine.js';
import type { RowStore, RowWrite } from './row-change.js';

const toConnector = (row: ConnectorRow): Connector => ({
  workspaceId: row.workspace_id,
  id: row.id,
  uid: row.uid,
  name: row.name,
  description: row.description,
  protocolType: row.protocol_type as ProtocolType,
  documentationUrl: row.documentation_url,
  iconUrl: row.icon_url,
  baseUrl: row.base_url,
  datasetId: row.dataset_id,
  isPublic: Number(row.is_public) === 1,
  tags: JSON.parse(row.tags) as Record<string, string[]>,
  status: row.status as Connector['status'],
  authSchemeConfigs: JSON.parse(row.auth_scheme_configs) as AuthSchemeConfig[],
  connectionVariables: JSON.parse(row.connection_variables) as Variable[],
  versions: JSON.parse(row.versions) as ConnectorVersion[],
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  revision: row.revision,
});

/**
 * A connector's columns, the JSON ones as `json` makes them: text for a row of the table ({@link toRow}), the values
 * themselves inside a JSON parameter ({@link writtenColumns}).
 */
const columnsOf = <J>(c: Connector, json: (value: unknown) => J) => ({
  workspace_id: c.workspaceId,
  id: c.id,
  uid: c.uid,
  name: c.name,
  description: c.description,
  protocol_type: c.protocolType,
  documentation_url: c.documentationUrl,
  icon_url: c.iconUrl,
  base_url: c.baseUrl,
  dataset_id: c.datasetId,
  is_public: c.isPublic ? 1 : 0,
  tags: json(c.tags),
  status: c.status,
  auth_scheme_configs: json(c.authSchemeConfigs),
  connection_variables: json(c.connectionVariables),
  versions: json(c.versions),
  created_at: c.createdAt,
  updated_at: c.updatedAt,
  revision: c.revision,
});

/**
 * Every column of the table, named: what the prepared statements select ({@link compiledOnce}), so that a column
 * a later migration adds does not change their result.
 */
const connectorColumns = [
  'workspace_id', 'id', 'uid', 'name', 'description', 'protocol_type', 'documentation_url', 'icon_url', 'base_url', 'dataset_id', 'is_public',
  'tags', 'status', 'auth_scheme_configs', 'connection_variables', 'versions', 'created_at', 'updated_at', 'revision',
] as const satisfies readonly (keyof ConnectorRow)[];
// A column of ConnectorRow missing from the list above fails to compile here.
const everyColumnListed: Exclude<keyof ConnectorRow, (typeof connectorColumns)[number]> extends never ? true : never = true;
void everyColumnListed;

const toRow = (c: Connector): ConnectorRow => columnsOf(c, (value) => JSON.stringify(value));

export async function findConnector(db: Executor, workspaceId: string, id: string, options: ReadOptions = {}): Promise<Connector | undefined> {
  let query = db.selectFrom('connectors').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row && toConnector(row);
}

/** Which connectors of a workspace a list shows. */
export interface ConnectorFilter {
  readonly nameContains?: string;
  readonly protocolTypes?: readonly string[];
}

function filtered(db: Executor, workspaceId: string, filter: ConnectorFilter) {
  let query = db.selectFrom('connectors').where('workspace_id', '=', workspaceId);
  if (filter.nameContains) {
    const pattern = `%${filter.nameContains.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where(sql<boolean>`lower(name) like ${pattern} escape '\\'`);
  }
  if (filter.protocolTypes !== undefined) {
    if (filter.protocolTypes.length === 0) return query.where(sql<boolean>`1 = 0`);
    query = query.where('protocol_type', 'in', [...filter.protocolTypes]);
  }
  return query;
}

export async function listConnectors(
  db: Executor,
  workspaceId: string,
  options: { after?: string; limit: number } & ConnectorFilter,
): Promise<Connector[]> {
  let query = filtered(db, workspaceId, options).selectAll();
  if (options.after !== undefined) query = query.where('id', '>', options.after);
  const rows = await query.orderBy('id').limit(options.limit).execute();
  return rows.map(toConnector);
}

/** Up to `limit` connectors next to a cursor, nearest first: after it in id order, or before it backwards. */
export async function listConnectorsNear(
  db: Executor,
  workspaceId: string,
  options: { after?: string; before?: string; limit: number } & ConnectorFilter,
): Promise<Connector[]> {
  let query = filtered(db, workspaceId, options).selectAll();
  if (options.after !== undefined) query = query.where('id', '>', options.after);
  if (options.before !== undefined) query = query.where('id', '<', options.before);
  const rows = await query.orderBy('id', options.before !== undefined ? 'desc' : 'asc').limit(options.limit).execute();
  return rows.map(toConnector);
}

export async function countConnectors(db: Executor, workspaceId: string, filter: ConnectorFilter, range: { below?: string; above?: string } = {}): Promise<number> {
  let query = filtered(db, workspaceId, filter).select((eb) => eb.fn.countAll<number>().as('n'));
  if (range.below !== undefined) query = query.where('id', '<', range.below);
  if (range.above !== undefined) query = query.where('id', '>', range.above);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertConnector(db: Executor, connector: Connector): Promise<void> {
  await db.insertInto('connectors').values(toRow(connector)).execute();
}

/** Writes a new state if the stored one still has `expectedRevision`; false when someone else won. */
export async function updateConnector(db: Executor, connector: Connector, expectedRevision: number): Promise<boolean> {
  const { workspace_id, id, uid: _uid, created_at, ...changes } = toRow(connector);
  const result = await db
    .updateTable('connectors')
    .set(changes)
    .where('workspace_id', '=', workspace_id)
    .where('id', '=', id)
    .where('revision', '=', expectedRevision)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteConnector(db: Executor, workspaceId: string, id: string, expectedRevision: number): Promise<boolean> {
  const result = await db
    .deleteFrom('connectors')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where('revision', '=', expectedRevision)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/**
 * PostgreSQL: the connectors with these (workspace, id) pairs (two parallel text arrays), locked in key order so
 * that two batches wanting the same rows cannot deadlock (the plan sorts before it locks). The pairs go through
 * an index lookup each.
 */
const selectByKeys = (db: Executor) =>
  db
    .selectFrom('connectors')
    .select(connectorColumns)
    .where(sql<boolean>`(workspace_id, id) in (select k.w, k.i from unnest(${[]}::text[], ${[]}::text[]) as k(w, i))`)
    .orderBy('workspace_id')
    .orderBy('id');
const selectLockedByKeys = compiledOnce((db) => selectByKeys(db).forUpdate());
/** The same without a lock: what an optimistic batch reads outside any transaction. */
const selectUnlockedByKeys = compiledOnce(selectByKeys);

/**
 * PostgreSQL: connectors whose stored revision is still `expected` (and creation time the row's) get the written
 * columns of their row in the JSON parameter ({@link writtenColumns}: an array of objects with the columns of {@link toRow}, plus `expected`
 * and `i`, the row's place in the array), all in one statement whose text never changes.
 */
const updateFromJsonQuery = (db: QueryCreator<Database>) =>
  db
    .updateTable('connectors')
    .from(
      sql`json_to_recordset(${'[]'}::json)`.as(
        sql`u(workspace_id text, id text, name text, description text, protocol_type text, documentation_url text, icon_url text, base_url text,
          dataset_id text, is_public integer, tags json, status text, auth_scheme_configs json, connection_variables json, versions json,
          created_at text, updated_at text, revision integer, expected integer, i integer)`,
      ),
    )
    .set({
      name: sql.ref('u.name'),
      description: sql.ref('u.description'),
      protocol_type: sql.ref('u.protocol_type'),
      documentation_url: sql.ref('u.documentation_url'),
      icon_url: sql.ref('u.icon_url'),
      base_url: sql.ref('u.base_url'),
      dataset_id: sql.ref('u.dataset_id'),
      is_public: sql.ref('u.is_public'),
      // A JSON column the change left as it was comes as null (see writtenColumns): the stored text stays.
      tags: sql<string>`coalesce(u.tags::text, connectors.tags)`,
      status: sql.ref('u.status'),
      auth_scheme_configs: sql<string>`coalesce(u.auth_scheme_configs::text, connectors.auth_scheme_configs)`,
      connection_variables: sql<string>`coalesce(u.connection_variables::text, connectors.connection_variables)`,
      versions: sql<string>`coalesce(u.versions::text, connectors.versions)`,
      updated_at: sql.ref('u.updated_at'),
      revision: sql.ref('u.revision'),
    })
    // The keys again, as arrays: the planner knows how many elements an array has, and so looks each row up by its
    // index. It takes any recordset for 100 rows, and a hash join with the whole table would scan it all.
    .where(sql<boolean>`(connectors.workspace_id, connectors.id) in (select k.w, k.i from unnest(${[]}::text[], ${[]}::text[]) as k(w, i))`)
    // The creation time too: a connector deleted and created again under its id starts over at revision 1, and a
    // state read from the one before must not be written over it.
    .where(sql<boolean>`connectors.workspace_id = u.workspace_id and connectors.id = u.id and connectors.revision = u.expected and connectors.created_at = u.created_at`);
const updateFromJson = compiledOnce(updateFromJsonQuery);

/**
 * PostgreSQL, one autocommit statement: the UPDATE of {@link updateFromJsonQuery}, and the INSERT of the audit
 * events of exactly the rows it wrote (second JSON parameter, see {@link insertEventsFromJson}); answers the
 * `i` of each written row.
 */
const updateAuditedFromJson = compiledOnce((db) =>
  db
    .with('written', (db) => updateFromJsonQuery(db).returning(sql<number>`u.i`.as('i')))
    .with('audited', (db) => insertEventsFromJson(db as unknown as QueryCreator<Database>, 'written').returning('id'))
    .selectFrom('written')
    .select('i'),
);

/**
 * The JSON parameter of {@link updateFromJsonQuery}. The JSON columns travel as JSON values, not as strings inside
 * the JSON: PostgreSQL's `json` keeps a value's text as sent, so `::text` stores what `JSON.stringify` of the value
 * gives ({@link toRow}), without escaping every quote twice on the way. A JSON column the change did not touch (the
 * very object that was read) travels as null and keeps its stored text: the row is written only at the revision it
 * was read at, so that text is the one read. (No JSON column is ever null itself.)
 */
const writtenColumns = (changes: readonly RowWrite<Connector>[]) =>
  JSON.stringify(
    changes.map(({ row, stored }, i) => ({
      ...columnsOf(row, (value) => value),
      tags: row.tags === stored.tags ? null : row.tags,
      auth_scheme_configs: row.authSchemeConfigs === stored.authSchemeConfigs ? null : row.authSchemeConfigs,
      connection_variables: row.connectionVariables === stored.connectionVariables ? null : row.connectionVariables,
      versions: row.versions === stored.versions ? null : row.versions,
      expected: stored.revision,
      i,
    })),
  );

/** The key of a connector for {@link Writer.change}. */
export const connectorKey = (workspaceId: string, id: string) => `${workspaceId}\u0000${id}`;

/** Connectors for the writer's row changes: loaded under lock in key order, written many per statement on PostgreSQL. */
export function connectorRows(engine: Engine): RowStore<Connector> {
  const toMap = (rows: readonly ConnectorRow[]) => new Map(rows.map((row) => [connectorKey(row.workspace_id, row.id), toConnector(row)]));
  const pairsOf = (keys: readonly string[]) => keys.map((key) => key.split('\u0000') as [string, string]);
  /** (workspace, id) pairs as the two text arrays the PostgreSQL statements take. */
  const keyArrays = (pairs: readonly (readonly [string, string])[]) => [pairs.map((p) => p[0]), pairs.map((p) => p[1])];
  const keyArraysOf = (changes: readonly { row: Connector }[]) => keyArrays(changes.map(({ row }) => [row.workspaceId, row.id] as const));
  const rows: RowStore<Connector> = {

    async load(tx: Tx, keys: readonly string[]): Promise<Map<string, Connector>> {
      const pairs = pairsOf(keys);
      if (pairs.length === 1) {
        const [workspaceId, id] = pairs[0]!;
        const connector = await findConnector(tx, workspaceId, id, { forUpdate: engine === 'postgres' });
        return new Map(connector ? [[keys[0]!, connector]] : []);
      }
      if (engine === 'postgres') return toMap((await selectLockedByKeys(tx, keyArrays(pairs))).rows as ConnectorRow[]);
      return toMap(
        await tx
          .selectFrom('connectors')
          .selectAll()
          .where((eb) => eb(eb.refTuple('workspace_id', 'id'), 'in', pairs.map(([workspaceId, id]) => eb.tuple(workspaceId, id))))
          .execute(),
      );
    },

    async store(tx: Tx, changes: readonly RowWrite<Connector>[]): Promise<number> {
      if (engine === 'sqlite' || changes.length === 1) {
        let written = 0;
        for (const { row, stored } of changes) if (await updateConnector(tx, row, stored.revision)) written++;
        return written;
      }
      const result = await updateFromJson(tx, [writtenColumns(changes), ...keyArraysOf(changes)]);
      return Number(result.numAffectedRows ?? 0);
    },
  };
  if (engine === 'sqlite') return rows;
  return {
    ...rows,
    optimistic: {
      async peek(db: Executor, keys: readonly string[]): Promise<Map<string, Connector>> {
        return toMap((await selectUnlockedByKeys(db, keyArrays(pairsOf(keys)))).rows as ConnectorRow[]);
      },
      async storeAudited(db: Executor, changes: readonly RowWrite<Connector>[], events: readonly { event: NewAuditEvent; row: number }[]): Promise<Set<number>> {
        const result = await updateAuditedFromJson(db, [writtenColumns(changes), ...keyArraysOf(changes), eventsAsJson(events)]);
        return new Set((result.rows as { i: number }[]).map((r) => r.i));
      },
    },
  };
}
