import { sql, type QueryCreator } from 'kysely';
import type { NewAuditEvent } from '../domain/audit.js';
import type { Connection } from '../domain/connection.js';
import type { ConnectionRow, Database } from './schema.js';
import { eventsAsJson, insertEventsFromJson } from './audit-repo.js';
import { compiledOnce, compiledPerDialect, compiledRowRead } from './compiled-once.js';
import { toConnection, type StoredRow } from './connection-repo.js';
import type { Engine, Executor, Tx } from './engine.js';
import type { RowStore, RowWrite } from './row-change.js';
import { ROW_VERSION, rememberRowVersion, rowVersionOf } from './row-versions.js';
import { rememberWorkspaceUid, workspaceUidOfRow } from './row-workspaces.js';
import { inKeyArrays, keyArrays, pairsOf, rowKey } from './row-keys.js';

/** The key of a connection for {@link Writer.change}. */
export const connectionKey = (workspaceId: string, id: number) => rowKey(workspaceId, id);

/**
 * Every column of the table, named: what the prepared statements select ({@link compiledOnce}), so that a column
 * a later migration adds does not change their result.
 */
const connectionColumns = [
  'id',
  'uid',
  'workspace_id',
  'connector_id',
  'scope',
  'name',
  'type',
  'env_type',
  'description',
  'status',
  'content',
  'variables',
  'credentials',
  'health',
  'owner_user_id',
  'created_at',
  'updated_at',
  'revision',
] as const satisfies readonly (keyof ConnectionRow)[];
// A column of ConnectionRow missing from the list above fails to compile here.
const everyColumnListed: Exclude<keyof ConnectionRow, (typeof connectionColumns)[number]> extends never ? true : never =
  true;
void everyColumnListed;

/** The uid of the row's workspace, read with it: what a row change seals secrets for (row-workspaces.ts). */
const WORKSPACE_UID = workspaceUidOfRow('connections').as('workspace_uid');

/** A stored row as the row changes read it, and the connection it is, with its workspace's uid. */
type ReadRow = StoredRow & { workspace_uid: string | null };
const readConnection = (row: ReadRow) => rememberWorkspaceUid(toConnection(row), row.workspace_uid);

/**
 * PostgreSQL: the connections with these (workspace, id) pairs (a text and a bigint array), in key order. Each pair
 * is an index lookup.
 */
const selectByKeys = (db: Executor) =>
  db
    .selectFrom('connections')
    .select(connectionColumns)
    .select(WORKSPACE_UID)
    .where(inKeyArrays('workspace_id', 'id', 'bigint'))
    .orderBy('workspace_id')
    .orderBy('id');
/** Locked in key order, so that two batches wanting the same rows cannot deadlock. */
const selectLockedByKeys = compiledOnce((db) => selectByKeys(db).forUpdate('connections'));
/** The same without a lock, with each row's version: what the optimistic path reads outside any transaction. */
const selectUnlockedByKeys = compiledOnce((db) => selectByKeys(db).select(ROW_VERSION.as('row_version')));

/**
 * The columns a row change writes, from the relation `u` of the rows to write (both stores). A JSON column sent as
 * null keeps its stored text (see {@link writtenColumns}).
 */
const SET_FROM_U = {
  name: sql.ref<string>('u.name'),
  type: sql.ref<string>('u.type'),
  env_type: sql.ref<number>('u.env_type'),
  description: sql.ref<string | null>('u.description'),
  status: sql.ref<string>('u.status'),
  content: sql<string>`coalesce(u.content, connections.content)`,
  variables: sql<string>`coalesce(u.variables, connections.variables)`,
  credentials: sql<string>`coalesce(u.credentials, connections.credentials)`,
  health: sql<string>`coalesce(u.health, connections.health)`,
  updated_at: sql.ref<string>('u.updated_at'),
  revision: sql.ref<number>('u.revision'),
};

/** Each row only over the revision (and uid: the same connection) it was read at. */
const WRITTEN_AT_READ_REVISION = sql<boolean>`connections.id = u.id and connections.uid = u.uid and connections.revision = u.expected`;

/**
 * PostgreSQL: writes many connections in one statement, each only over the revision (and uid) it was read at.
 * The rows travel as parallel arrays unnested into one relation, joined to the table by primary key: the planner
 * looks each up by its index, one after another, however many there are (a JSON recordset here was joined by a
 * nested loop over the whole recordset for each row: quadratic in the rows of a variable propagation).
 */
const updateFromArraysQuery = (db: QueryCreator<Database>) =>
  db
    .updateTable('connections')
    .from(
      sql`unnest(${[]}::bigint[], ${[]}::text[], ${[]}::integer[], ${[]}::text[], ${[]}::text[], ${[]}::integer[],
        ${[]}::text[], ${[]}::text[], ${[]}::text[], ${[]}::text[], ${[]}::text[], ${[]}::text[], ${[]}::text[], ${[]}::integer[],
        ${[]}::integer[], ${[]}::text[])`.as(
        sql`u(id, uid, expected, name, type, env_type, description, status, content, variables, credentials, health, updated_at, revision, i, row_version)`,
      ),
    )
    .set(SET_FROM_U)
    .where(WRITTEN_AT_READ_REVISION)
    // The optimistic path also names the row's version as it read it (row-versions.ts); the locking path, which
    // holds the rows' locks, sends none.
    .where(sql<boolean>`(u.row_version is null or connections.xmin::text = u.row_version)`);
const updateFromArrays = compiledOnce(updateFromArraysQuery);

/**
 * PostgreSQL, the optimistic path's write, one autocommit statement: the UPDATE of {@link updateFromArraysQuery}
 * and the INSERT of the audit events of exactly the rows it wrote (see connector-batch-sql.ts); answers the `i` of
 * each written row.
 */
const updateAuditedFromArrays = compiledOnce((db) =>
  db
    .with('written', (db) =>
      updateFromArraysQuery(db).returning([
        sql<number>`u.i`.as('i'),
        sql<string>`connections.xmin::text`.as('row_version'),
      ]),
    )
    .with('audited', (db) => insertEventsFromJson(db as unknown as QueryCreator<Database>, 'written').returning('id'))
    .selectFrom('written')
    .select(['i', 'row_version']),
);

/**
 * The written columns of each row, in the order of `u`. A JSON column the change did not touch (the very object
 * that was read) goes as null and keeps its stored text: the row is written only at the revision it was read at,
 * so that text is the one read (no JSON column is ever null itself). A change of a few fields of many rows (a
 * connector's variables) then neither serialises nor sends the rest.
 */
function writtenColumns(changes: readonly RowWrite<Connection>[], optimistic = false) {
  const json = (value: unknown, stored: unknown) => (value === stored ? null : JSON.stringify(value));
  return changes.map(
    ({ row, stored }, i) =>
      [
        row.id,
        row.uid,
        stored.revision,
        row.name,
        row.type,
        row.envType,
        row.description,
        row.status,
        json(row.content, stored.content),
        json(row.variables, stored.variables),
        json(row.credentials, stored.credentials),
        json(row.health, stored.health),
        row.updatedAt,
        row.revision,
        i,
        optimistic ? rowVersionOf(stored) : null,
      ] as const,
  );
}

const U_COLUMNS = [
  'id',
  'uid',
  'expected',
  'name',
  'type',
  'env_type',
  'description',
  'status',
  'content',
  'variables',
  'credentials',
  'health',
  'updated_at',
  'revision',
  'i',
  'row_version',
] as const;

/**
 * SQLite: the same one statement, the rows in one JSON parameter (an array of arrays in the order of `u`). Built,
 * not raw, so that it is known to write connections only (raw SQL counts as a write to every cached table), and
 * compiled once: its text never changes.
 */
const updateFromJsonSqlite = compiledOnce((db) =>
  db
    .updateTable('connections')
    .from(
      sql`(select ${sql.join(
        U_COLUMNS.map((name, i) => sql`json_extract(j.value, ${sql.lit(`$[${i}]`)}) as ${sql.ref(name)}`),
      )} from json_each(${'[]'}) as j)`.as('u'),
    )
    .set(SET_FROM_U)
    .where(WRITTEN_AT_READ_REVISION),
);

/**
 * SQLite: the write of one row (every write by a single request), its values as parameters in the order of the
 * first fourteen columns of `u`, compiled once: cheaper than the JSON statement for one row.
 */
const updateOneSqlite = compiledPerDialect(
  (
    db,
    id,
    uid,
    expected,
    name,
    type,
    envType,
    description,
    status,
    content,
    variables,
    credentials,
    health,
    ...rest
  ) => {
    const [updatedAt, revision] = rest;
    return db
      .updateTable('connections')
      .set({
        name: sql<string>`${name}`,
        type: sql<string>`${type}`,
        env_type: sql<number>`${envType}`,
        description: sql<string | null>`${description}`,
        status: sql<string>`${status}`,
        content: sql<string>`coalesce(${content}, content)`,
        variables: sql<string>`coalesce(${variables}, variables)`,
        credentials: sql<string>`coalesce(${credentials}, credentials)`,
        health: sql<string>`coalesce(${health}, health)`,
        updated_at: sql<string>`${updatedAt}`,
        revision: sql<number>`${revision}`,
      })
      .where('id', '=', sql<number>`${id}`)
      .where('uid', '=', sql<string>`${uid}`)
      .where('revision', '=', sql<number>`${expected}`);
  },
);

/** One connection and its workspace's uid: the read of a row change of one row (every write by a single request). */
const selectOneQuery = (db: Executor, workspaceId: string, id: string) =>
  db
    .selectFrom('connections')
    .select(connectionColumns)
    .select(WORKSPACE_UID)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', sql<number>`${id}`);
const selectOne = compiledRowRead('connections', selectOneQuery);

/**
 * Connections for the writer's row changes (PUT, PATCH, a test's health, a connector's variables): loaded under
 * lock in key order on PostgreSQL, written many per statement on both stores. A row is written only over the
 * state it was read from: same revision, and the same connection (its uid).
 */
export function connectionRows(engine: Engine): RowStore<Connection> {
  const toMap = (rows: readonly ReadRow[]) =>
    new Map(rows.map((row) => [connectionKey(row.workspace_id, Number(row.id)), readConnection(row)]));
  const numbered = (keys: readonly string[]) =>
    pairsOf(keys).map(([workspaceId, id]) => [workspaceId, Number(id)] as const);
  const rows: RowStore<Connection> = {
    async load(tx: Tx, keys: readonly string[]): Promise<Map<string, Connection>> {
      const pairs = numbered(keys);
      if (pairs.length === 1) {
        const [workspaceId, id] = pairs[0]!;
        return toMap((await selectOne(tx, [workspaceId, id], engine === 'postgres')).rows);
      }
      if (engine === 'postgres') {
        const result = await selectLockedByKeys(tx, [pairs.map((p) => p[0]), pairs.map((p) => p[1])]);
        return toMap(result.rows as ReadRow[]);
      }
      const rows: ReadRow[] = [];
      for (const workspaceId of new Set(pairs.map((p) => p[0]))) {
        const ids = pairs.filter((p) => p[0] === workspaceId).map((p) => p[1]);
        rows.push(
          ...(await tx
            .selectFrom('connections')
            .select(connectionColumns)
            .select(WORKSPACE_UID)
            .where('workspace_id', '=', workspaceId)
            .where(sql<boolean>`id in (select value from json_each(${JSON.stringify(ids)}))`)
            .execute()),
        );
      }
      return toMap(rows);
    },

    async store(tx: Tx, changes: readonly RowWrite<Connection>[]): Promise<number> {
      if (changes.length === 0) return 0;
      if (engine === 'sqlite' && changes.length === 1)
        return Number((await updateOneSqlite(tx, writtenColumns(changes)[0]!.slice(0, 14))).numAffectedRows ?? 0);
      const result =
        engine === 'sqlite'
          ? await updateFromJsonSqlite(tx, [JSON.stringify(writtenColumns(changes))])
          : await updateFromArrays(tx, columnArrays(changes));
      return Number(result.numAffectedRows ?? 0);
    },
  };
  if (engine === 'sqlite') return rows;
  return {
    ...rows,
    optimistic: {
      async peek(db: Executor, keys: readonly string[]): Promise<Map<string, Connection>> {
        const rows = (await selectUnlockedByKeys(db, keyArrays(numbered(keys)))).rows as (ReadRow & {
          row_version: string;
        })[];
        return new Map(
          rows.map((row) => [
            connectionKey(row.workspace_id, Number(row.id)),
            rememberRowVersion(readConnection(row), row.row_version),
          ]),
        );
      },
      async storeAudited(
        db: Executor,
        changes: readonly RowWrite<Connection>[],
        events: readonly { event: NewAuditEvent; row: number }[],
      ): Promise<Set<number>> {
        const result = await updateAuditedFromArrays(db, [...columnArrays(changes, true), eventsAsJson(events)]);
        const written = result.rows as { i: number; row_version: string }[];
        for (const { i, row_version } of written) rememberRowVersion(changes[i]!.row, row_version);
        return new Set(written.map((r) => r.i));
      },
    },
  };
}

/** The parallel arrays of {@link updateFromArraysQuery}: one per column of `u`. */
function columnArrays(changes: readonly RowWrite<Connection>[], optimistic = false): unknown[][] {
  const rows = writtenColumns(changes, optimistic);
  return U_COLUMNS.map((_, i) => rows.map((row) => row[i]));
}
