import type {
  AliasNode,
  CompiledQuery,
  DatabaseConnection,
  DeleteQueryNode,
  Dialect,
  InsertQueryNode,
  OperationNode,
  SelectQueryNode,
  TableNode,
  UpdateQueryNode,
  WithNode,
} from 'kysely';
import type { ChangeStamps } from './change-stamps.js';

/**
 * The tables whose rows per-node caches keep: the gateway's (access clients, their secrets, toolsets, ended
 * sessions) and authentication's (API keys, principals, memberships). A committed write to any of them moves
 * the change stamps: in this process through {@link watchChanges}, on other PostgreSQL nodes through the
 * triggers of migration 0010. That migration holds a copy of this list as it was: a table added here needs a
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
 * Whether a statement may write a watched table. Exact for the statements Kysely builds, data-modifying WITH
 * clauses included (each one is judged like a statement of its own); anything it cannot read (raw SQL other
 * than control statements, DDL, a raw WITH clause) counts as a write, so that a change is never missed.
 */
export function writesWatchedTable(query: CompiledQuery): boolean {
  const node = query.query;
  return node.kind === 'RawNode' ? !CONTROL.test(query.sql) : mayWriteWatched(node);
}

function mayWriteWatched(node: OperationNode): boolean {
  switch (node.kind) {
    case 'SelectQueryNode':
      return withMayWriteWatched((node as SelectQueryNode).with);
    case 'InsertQueryNode': {
      const insert = node as InsertQueryNode;
      return withMayWriteWatched(insert.with) || WATCHED_TABLES.has(tableName(insert.into) ?? '');
    }
    case 'UpdateQueryNode': {
      const update = node as UpdateQueryNode;
      return (
        withMayWriteWatched(update.with) ||
        update.table === undefined ||
        WATCHED_TABLES.has(tableName(update.table) ?? '')
      );
    }
    case 'DeleteQueryNode': {
      const remove = node as DeleteQueryNode;
      return (
        withMayWriteWatched(remove.with) ||
        remove.from.froms.some(
          (from) => WATCHED_TABLES.has(tableName(from) ?? '') || CASCADING_INTO_WATCHED.has(tableName(from) ?? ''),
        )
      );
    }
    default:
      return true;
  }
}

const withMayWriteWatched = (clause: WithNode | undefined) =>
  clause !== undefined && clause.expressions.some((cte) => mayWriteWatched(cte.expression));

interface Watched extends DatabaseConnection {
  readonly inner: DatabaseConnection;
  inTransaction: boolean;
  /** A watched table was written in the open transaction. */
  wrote: boolean;
}

/**
 * A dialect that moves the change stamps when this process commits a write to a watched table: at commit
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
            wrote: false,
            async executeQuery<R>(query: CompiledQuery) {
              const result = await inner.executeQuery<R>(query);
              if (writesWatchedTable(query)) {
                if (state.inTransaction) state.wrote = true;
                else changes.touch();
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
        if (committed && state.wrote) changes.touch();
        state.inTransaction = false;
        state.wrote = false;
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
