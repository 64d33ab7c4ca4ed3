import type SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import type {
  AliasNode,
  CompiledQuery,
  DatabaseConnection,
  DeleteQueryNode,
  Dialect,
  InsertQueryNode,
  OperationNode,
  RootOperationNode,
  SelectQueryNode,
  TableNode,
  UpdateQueryNode,
  WithNode,
} from 'kysely';

/**
 * Tells caches of stored data whether what they hold may have changed, without a query per lookup.
 *
 * `current()` is a number that moves whenever a change to a watched table (WATCHED_TABLES) may have been
 * committed since the last call: by this process ({@link watchChanges} sees every statement it runs), by another
 * process on the same SQLite file (SQLite's `data_version`, which moves on any write of another connection), or
 * by another node on the same PostgreSQL database (a NOTIFY sent by triggers on the watched tables, migration
 * 0010). It is undefined while changes cannot be followed (the PostgreSQL
 * listener is not connected): callers then cache nothing and read the store every time.
 */
export interface ChangeStamps {
  current(): number | undefined;
  /** A change committed by this process. */
  touch(): void;
  close(): Promise<void>;
}

/** The channel migration 0010's triggers notify on PostgreSQL. */
export const CHANGES_CHANNEL = 'plugboard_changes';

/**
 * How often SQLite's `data_version` is read at most. Reading it opens a read transaction, which costs more
 * than a cached lookup saves when done on every one; another process's commit (a CLI command) is therefore
 * seen within this many milliseconds, while this process's own commits are seen at once (touch()).
 */
const DATA_VERSION_INTERVAL_MS = 1;

/** SQLite: the file is only written through this process's connection or another process's. */
export function sqliteChangeStamps(database: SqliteDatabase.Database): ChangeStamps {
  let statement: SqliteDatabase.Statement | undefined;
  let seen: unknown;
  let checkedAt = -Infinity;
  let stamp = 0;
  return {
    current() {
      const now = performance.now();
      if (now - checkedAt >= DATA_VERSION_INTERVAL_MS) {
        if (!database.open) return undefined;
        checkedAt = now;
        // Unchanged by this connection's own commits (touch() covers those); moved by any other connection's.
        statement ??= database.prepare('pragma data_version').pluck();
        const version = statement.get();
        if (version !== seen) {
          seen = version;
          stamp++;
        }
      }
      return stamp;
    },
    touch() {
      stamp++;
    },
    async close() {},
  };
}

/** What the PostgreSQL change listener tells its owner (the server logs it). */
export interface ListenerEvents {
  /** Listening failed or stopped; until {@link restored}, caches read the store every time. */
  lost?(error: Error): void;
  restored?(): void;
}

/**
 * PostgreSQL: one connection of its own LISTENs on {@link CHANGES_CHANNEL} for changes in the store's schema
 * (its `current_schema()`, as the connection string's search_path makes it), opened when first asked (a CLI
 * command that never reads through a cache never opens it). Until it listens, and from the moment it fails
 * until it listens again, `current()` is undefined; each (re)connection moves the stamp, since notifications
 * sent while nobody listened are lost. `events` hears of each outage once: when listening first fails (or
 * stops), and when it listens again; retries in between (one a second) are silent.
 */
export function postgresChangeStamps(connectionString: string, events: ListenerEvents = {}): ChangeStamps {
  let stamp = 0;
  let listening: pg.Client | undefined;
  let connecting = false;
  let closed = false;
  let failing = false;
  let retry: NodeJS.Timeout | undefined;

  function lost(client: pg.Client, error?: Error) {
    if (!closed && !failing) {
      failing = true;
      events.lost?.(error ?? new Error('the PostgreSQL server closed the connection'));
    }
    if (listening === client) listening = undefined;
    stamp++;
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    if (!closed && !retry) {
      retry = setTimeout(() => {
        retry = undefined;
        listen();
      }, 1000);
      retry.unref();
    }
  }

  function listen() {
    if (connecting || listening || closed || retry) return;
    connecting = true;
    const client = new pg.Client({ connectionString, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    let schema: string | undefined;
    // The payload is the schema of the table that changed: other stores in the same database are not ours.
    client.on('notification', (message) => {
      if (message.payload === schema) stamp++;
    });
    client.on('error', (error) => lost(client, error));
    client.on('end', () => lost(client));
    client
      .connect()
      .then(() => client.query<{ schema: string }>('select current_schema() as schema'))
      .then((result) => {
        schema = result.rows[0]?.schema;
        return client.query(`listen ${CHANGES_CHANNEL}`);
      })
      .then(
        () => {
          connecting = false;
          if (closed) return void client.end().catch(() => undefined);
          stamp++;
          listening = client;
          if (failing) {
            failing = false;
            events.restored?.();
          }
        },
        (error: Error) => {
          connecting = false;
          lost(client, error);
        },
      );
  }

  return {
    current() {
      if (listening) return stamp;
      listen();
      return undefined;
    },
    touch() {
      stamp++;
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      const client = listening;
      listening = undefined;
      if (client) {
        client.removeAllListeners('end');
        await client.end().catch(() => undefined);
      }
    },
  };
}

interface Entry<V> {
  readonly value: V;
  readonly stamp: number;
  readonly at: number;
}

export interface StampedCacheOptions {
  /** Entries kept; the oldest is dropped first. */
  readonly limit: number;
  /**
   * How long an entry may be used at most, whatever the stamps say: a bound on staleness should a change
   * notification go missing without the listener noticing (a network that drops packets silently).
   */
  readonly maxAgeMs: number;
}

/**
 * A cache of lookups in the store, each entry good while the change stamp it was read under is current.
 * An entry is stored only when no change was signalled while it was being read, so a lookup that raced with a
 * commit is never kept. Misses (undefined) are not cached.
 */
export function createStampedCache<K, V>(stamps: ChangeStamps, options: StampedCacheOptions) {
  const entries = new Map<K, Entry<V>>();
  return {
    async get(key: K, load: () => Promise<V | undefined>): Promise<V | undefined> {
      const stamp = stamps.current();
      const now = Date.now();
      if (stamp !== undefined) {
        const entry = entries.get(key);
        if (entry && entry.stamp === stamp && now - entry.at < options.maxAgeMs) return entry.value;
      }
      const value = await load();
      if (value !== undefined && stamp !== undefined && stamps.current() === stamp) {
        entries.delete(key);
        if (entries.size >= options.limit) entries.delete(entries.keys().next().value!);
        entries.set(key, { value, stamp, at: now });
      }
      return value;
    },
    clear() {
      entries.clear();
    },
  };
}

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
  const node = query.query as RootOperationNode;
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
