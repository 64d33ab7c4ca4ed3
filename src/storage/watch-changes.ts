import type {
  AliasNode,
  CompiledQuery,
  DatabaseConnection,
  Kysely,
  KyselyPlugin,
  DeleteQueryNode,
  Dialect,
  InsertQueryNode,
  OperationNode,
  RawNode,
  SelectQueryNode,
  TableNode,
  UpdateQueryNode,
  WithNode,
} from 'kysely';
import type { ChangeStamps } from './change-stamps.js';

/**
 * The tables whose rows per-node caches keep: the gateway's (access clients, their secrets, toolsets, ended
 * sessions) and authentication's (API keys, signing keys, principals, memberships). A committed write to any of them moves
 * the change stamps of that table: in this process through {@link watchChanges}, on other PostgreSQL nodes through
 * the triggers of migration 0010. That migration holds a copy of this list as it was: a table added here needs a
 * migration of its own that gives it the trigger (test/migrations.test.ts checks that each one has it).
 */
export const WATCHED_TABLES: ReadonlySet<string> = new Set([
  'access_clients',
  'access_client_secrets',
  'toolsets',
  'mcp_ended_sessions',
  'api_keys',
  'principals',
  'memberships',
  'oauth_grants',
  'access_keys',
]);

/**
 * Tables whose deletes cascade into watched ones (a workspace takes its toolsets, access clients and memberships
 * with it). Other PostgreSQL nodes hear of it from the watched tables' own triggers, which cascades fire too; this
 * process sees only the statement, so a delete from these counts as a write to a watched table.
 */
const CASCADING_INTO_WATCHED: ReadonlySet<string> = new Set(['workspaces']);

/** Statements that cannot write: transaction control, reads, SQLite pragmas. */
const CONTROL =
  /^\s*(select|savepoint|release|rollback|begin|start\s+transaction|commit|pragma|set\s|show\s|listen\s)/i;

function tableName(node: OperationNode | undefined): string | undefined {
  const table = node?.kind === 'AliasNode' ? (node as AliasNode).node : node;
  return table?.kind === 'TableNode' ? (table as TableNode).table.identifier.name : undefined;
}

/**
 * The watched tables a statement may write, or undefined when it cannot be told (any table, then). Exact for the
 * statements Kysely builds, data-modifying WITH clauses included (each one is judged like a statement of its
 * own); anything it cannot read (raw SQL other than control statements, DDL, a raw WITH clause) may write any
 * table, so that a change is never missed. A delete from a table whose deletes cascade into watched ones counts
 * as a write to any table.
 */
export function watchedTablesWritten(query: CompiledQuery): ReadonlySet<string> | undefined {
  const node = query.query;
  if (node.kind === 'RawNode') return CONTROL.test(query.sql) ? NONE : undefined;
  const written = new Set<string>();
  return collectWritten(node, written) ? written : undefined;
}

const NONE: ReadonlySet<string> = new Set();

/** Whether a statement may write a watched table (see {@link watchedTablesWritten}). */
export function writesWatchedTable(query: CompiledQuery): boolean {
  const written = watchedTablesWritten(query);
  return written === undefined || written.size > 0;
}

/** Adds the watched tables `node` writes to `into`; false when it cannot be told. */
function collectWritten(node: OperationNode, into: Set<string>): boolean {
  const add = (table: OperationNode | undefined) => {
    const name = tableName(table);
    if (name === undefined) return false;
    if (WATCHED_TABLES.has(name)) into.add(name);
    return true;
  };
  switch (node.kind) {
    case 'SelectQueryNode':
      return withWritten((node as SelectQueryNode).with, into);
    case 'InsertQueryNode': {
      const insert = node as InsertQueryNode;
      return withWritten(insert.with, into) && add(insert.into);
    }
    case 'UpdateQueryNode': {
      const update = node as UpdateQueryNode;
      return withWritten(update.with, into) && add(update.table);
    }
    case 'DeleteQueryNode': {
      const remove = node as DeleteQueryNode;
      return (
        withWritten(remove.with, into) &&
        remove.from.froms.every((from) => !CASCADING_INTO_WATCHED.has(tableName(from) ?? '') && add(from))
      );
    }
    default:
      return false;
  }
}

const withWritten = (clause: WithNode | undefined, into: Set<string>) =>
  clause === undefined || clause.expressions.every((cte) => collectWritten(cte.expression, into));

const recordings = new WeakMap<object, Set<string>>();

/**
 * A query builder for one cached lookup that records into `into` the watched tables each of its statements
 * reads: what the cache entry depends on. Every statement built on it (or on its transactions), raw SQL
 * included, passes its plugin as it compiles. A statement compiled elsewhere and only run on it is not seen: the
 * lookup then reads as having read nothing, which makes its entry depend on every table (never too long-lived).
 * The recording is handed down explicitly rather than through AsyncLocalStorage, whose promise hooks would tax
 * every promise of the process from the first lookup on (bench/README.md).
 */
export function recordingReads<DB>(db: Kysely<DB>, into: Set<string>): Kysely<DB> {
  const recorder = db.withPlugin(readsPlugin(into));
  recordings.set(recorder, into);
  return recorder;
}

/** The recording a query builder of {@link recordingReads} adds to, if it is one. */
export const recordingOf = (db: object | undefined): Set<string> | undefined =>
  db === undefined ? undefined : recordings.get(db);

/**
 * Records what a statement compiled ahead reads, when it runs on a query builder of {@link recordingReads}: such a
 * statement does not pass the builder's plugin.
 */
export function recordRead(db: object, node: OperationNode): void {
  const into = recordings.get(db);
  if (into) for (const table of tablesReadBy(node)) into.add(table);
}

function readsPlugin(into: Set<string>): KyselyPlugin {
  return {
    transformQuery({ node }) {
      for (const table of tablesReadBy(node)) into.add(table);
      return node;
    },
    transformResult: async ({ result }) => result,
  };
}

const tablesReadByNode = new WeakMap<OperationNode, readonly string[]>();

/**
 * The watched tables a statement may read: every table its tree names (joins, subqueries and WITH clauses
 * included), and every watched table named in the text of raw SQL (a raw statement, or a raw fragment inside a
 * built one). Erring on the side of more tables only drops a cache entry more often.
 */
function tablesReadBy(node: OperationNode): readonly string[] {
  let tables = tablesReadByNode.get(node);
  if (!tables) {
    const found = new Set<string>();
    collectRead(node, found);
    tables = [...found];
    tablesReadByNode.set(node, tables);
  }
  return tables;
}

function collectRead(value: unknown, into: Set<string>): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) collectRead(item, into);
    return;
  }
  const node = value as { kind?: unknown };
  if (node.kind === 'TableNode') {
    const name = (node as TableNode).table.identifier.name;
    if (WATCHED_TABLES.has(name)) into.add(name);
    return;
  }
  if (node.kind === 'RawNode') for (const name of namedInText((node as RawNode).sqlFragments.join(' '))) into.add(name);
  for (const child of Object.values(node)) collectRead(child, into);
}

const WATCHED_NAME = new RegExp(`\\b(${[...WATCHED_TABLES].join('|')})\\b`, 'g');

function namedInText(text: string): string[] {
  return [...new Set(Array.from(text.matchAll(WATCHED_NAME), (match) => match[1]!))];
}

interface Watched extends DatabaseConnection {
  readonly inner: DatabaseConnection;
  inTransaction: boolean;
  /** The watched tables written in the open transaction (undefined: it could not be told which). */
  wrote: Set<string> | undefined;
  /** A watched table, or one that could not be told, was written in the open transaction. */
  wroteAny: boolean;
}

/**
 * A dialect that moves the change stamps of the tables this process commits a write to: at commit
 * for a transaction (never before, so that nothing caches the old row under the new stamp), at once for a
 * statement outside one. Every statement of the process passes here, built by Kysely or compiled ahead.
 */
export function watchChanges(dialect: Dialect, changes: ChangeStamps): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver() {
      const driver = dialect.createDriver();
      const states = new WeakMap<DatabaseConnection, Watched>();
      const wrap = (inner: DatabaseConnection) => {
        let connection = states.get(inner);
        if (!connection) {
          const state: Watched = {
            inner,
            inTransaction: false,
            wrote: new Set(),
            wroteAny: false,
            async executeQuery<R>(query: CompiledQuery) {
              const result = await inner.executeQuery<R>(query);
              const written = watchedTablesWritten(query);
              if (written === undefined || written.size > 0) {
                if (!state.inTransaction) changes.touch(written);
                else {
                  state.wroteAny = true;
                  if (written === undefined) state.wrote = undefined;
                  else if (state.wrote) for (const table of written) state.wrote.add(table);
                }
              }
              return result;
            },
            streamQuery: <R>(query: CompiledQuery, chunkSize?: number) => inner.streamQuery<R>(query, chunkSize),
          };
          connection = state;
          states.set(inner, state);
        }
        return connection;
      };
      const innerOf = (connection: DatabaseConnection) => (connection as Watched).inner;
      const ended = (connection: DatabaseConnection, committed: boolean) => {
        const state = connection as Watched;
        if (committed && state.wroteAny) changes.touch(state.wrote);
        state.inTransaction = false;
        state.wrote = new Set();
        state.wroteAny = false;
      };
      return {
        init: () => driver.init(),
        destroy: () => driver.destroy(),
        acquireConnection: async () => wrap(await driver.acquireConnection()),
        releaseConnection(connection) {
          // A connection given back inside a transaction (never by Kysely's own transactions): whatever it wrote
          // counts as changed, and its next user starts outside a transaction.
          if ((connection as Watched).inTransaction) ended(connection, true);
          return driver.releaseConnection(innerOf(connection));
        },
        async beginTransaction(connection, settings) {
          await driver.beginTransaction(innerOf(connection), settings);
          (connection as Watched).inTransaction = true;
        },
        async commitTransaction(connection) {
          await driver.commitTransaction(innerOf(connection));
          ended(connection, true);
        },
        async rollbackTransaction(connection) {
          try {
            await driver.rollbackTransaction(innerOf(connection));
          } finally {
            ended(connection, false);
          }
        },
        savepoint: (connection, name, compile) => driver.savepoint!(innerOf(connection), name, compile),
        rollbackToSavepoint: (connection, name, compile) =>
          driver.rollbackToSavepoint!(innerOf(connection), name, compile),
        releaseSavepoint: (connection, name, compile) => driver.releaseSavepoint!(innerOf(connection), name, compile),
      };
    },
  };
}
