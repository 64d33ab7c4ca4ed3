import type SqliteDatabase from 'better-sqlite3';
import pg from 'pg';

/**
 * Tells caches of stored data whether what they hold may have changed, without a query per lookup (the cache is
 * stamped-cache.ts). The stamps move whenever a change to a watched table may have been committed: by this
 * process (watch-changes.ts sees every statement it runs, and which tables it writes), by another process on the
 * same SQLite file (`data_version`, which does not say what changed), or by another node on the same PostgreSQL
 * database (a NOTIFY naming the table, from the triggers of migrations 0010, 0022 and 0023). They are kept per table,
 * so that a lookup is dropped only by a change to a table it read: an access-client write must not make every
 * request read its API key again. A change whose tables are not known moves every table's stamp.
 */
export interface ChangeStamps {
  /**
   * Moves with every change to any watched table; undefined while changes cannot be followed (the PostgreSQL
   * listener is not connected): callers then cache nothing and read the store every time.
   */
  current(): number | undefined;
  /**
   * The stamp of these tables alone: moves with every change to one of them, and with every change whose tables
   * are not known. {@link ANY_TABLE} among them stands for every table (the stamp is then {@link current}'s).
   * Meaningful only while {@link current} is defined.
   */
  of(tables: Iterable<string>): number;
  /** A change committed by this process, to these tables or (none named) to any. */
  touch(tables?: Iterable<string>): void;
  close(): Promise<void>;
}

/** In {@link ChangeStamps.of}: every table (a lookup whose reads could not all be told apart). */
export const ANY_TABLE = '*';

/** The counters behind {@link ChangeStamps}: one per table, one for changes to unknown tables, and their total. */
function stampCounters() {
  let total = 0;
  let unknown = 0;
  const tables = new Map<string, number>();
  return {
    total: () => total,
    of(names: Iterable<string>): number {
      // A sum of counters that only grow moves whenever one of them does, so equal sums mean no change.
      let sum = unknown;
      for (const name of names) {
        if (name === ANY_TABLE) return total;
        sum += tables.get(name) ?? 0;
      }
      return sum;
    },
    move(names?: Iterable<string>): void {
      total++;
      if (names === undefined) unknown++;
      else for (const name of names) tables.set(name, (tables.get(name) ?? 0) + 1);
    },
  };
}

/** The PostgreSQL channel of the table-naming notifications (migration 0022); its payload is `schema.table`. */
export const TABLE_CHANGES_CHANNEL = 'plugboard_table_changes';

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
  const stamps = stampCounters();
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
          // Another process wrote; SQLite does not say what.
          seen = version;
          stamps.move();
        }
      }
      return stamps.total();
    },
    of: (tables) => stamps.of(tables),
    touch: (tables) => stamps.move(tables),
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
 * PostgreSQL: one connection of its own LISTENs on {@link TABLE_CHANGES_CHANNEL} for changes in the store's schema
 * (its `current_schema()`, as the connection string's search_path makes it), opened when first asked (a CLI
 * command that never reads through a cache never opens it). Until it listens, and from the moment it fails
 * until it listens again, `current()` is undefined; each (re)connection moves the stamp, since notifications
 * sent while nobody listened are lost. `events` hears of each outage once: when listening first fails (or
 * stops), and when it listens again; retries in between (one a second) are silent.
 */
export function postgresChangeStamps(connectionString: string, events: ListenerEvents = {}): ChangeStamps {
  const stamps = stampCounters();
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
    stamps.move();
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
    let prefix: string | undefined;
    // The payload is `schema.table`: other stores in the same database (other schemas) are not ours.
    client.on('notification', (message) => {
      const payload = message.payload;
      if (prefix !== undefined && payload?.startsWith(prefix)) stamps.move([payload.slice(prefix.length)]);
    });
    client.on('error', (error) => lost(client, error));
    client.on('end', () => lost(client));
    client
      .connect()
      .then(() => client.query<{ schema: string }>('select current_schema() as schema'))
      .then((result) => {
        prefix = `${result.rows[0]?.schema}.`;
        return client.query(`listen ${TABLE_CHANGES_CHANNEL}`);
      })
      .then(
        () => {
          connecting = false;
          if (closed) return void client.end().catch(() => undefined);
          stamps.move();
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
      if (listening) return stamps.total();
      listen();
      return undefined;
    },
    of: (tables) => stamps.of(tables),
    touch: (tables) => stamps.move(tables),
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
