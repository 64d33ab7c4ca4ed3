import type SqliteDatabase from 'better-sqlite3';
import pg from 'pg';

/**
 * Tells caches of stored data whether what they hold may have changed, without a query per lookup (the cache is
 * stamped-cache.ts). `current()` moves whenever a change to a watched table may have been committed since the
 * last call: by this process (watch-changes.ts sees every statement it runs), by another process on the same
 * SQLite file (`data_version`), or by another node on the same PostgreSQL database (a NOTIFY from the triggers
 * of migration 0010). It is undefined while changes cannot be followed (the PostgreSQL listener is not
 * connected): callers then cache nothing and read the store every time.
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
