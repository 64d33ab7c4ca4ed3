import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import type { Database } from './schema.js';
import type { Engine } from './engine.js';
import { runMigrations } from './migrator.js';
import { ImmediateSqliteDialect } from './sqlite-dialect.js';
import { withStatementCache } from './sqlite-statement-cache.js';
import { StorePostgresDialect } from './postgres-dialect.js';
import { createPostgresPool } from './postgres-pool.js';
import { postgresChangeStamps, sqliteChangeStamps, type ChangeStamps, type ListenerEvents } from './change-stamps.js';
import { watchChanges } from './watch-changes.js';

export interface DbOptions {
  readonly engine: Engine;
  /** SQLite file path (engine sqlite) or connection string (engine postgres). */
  readonly location: string;
  readonly poolSize?: number;
  /** Outages of the PostgreSQL change listener (see {@link postgresChangeStamps}). */
  readonly listenerEvents?: ListenerEvents;
}

/** An open store ({@link openDb}): the query builder over the tables of {@link Database}, plus what is needed to close it. */
export interface Db {
  readonly engine: Engine;
  readonly kysely: Kysely<Database>;
  /** Whether what a cache read from the store may have changed since: see {@link ChangeStamps}. */
  readonly changes: ChangeStamps;
  close(): Promise<void>;
}

/**
 * Opens the store. SQLite runs in WAL mode with `synchronous=FULL` so that an answered write has been
 * synced; PostgreSQL through the pool of {@link createPostgresPool}.
 */
export function openDb(options: DbOptions): Db {
  if (options.engine === 'sqlite') {
    if (options.location !== ':memory:') mkdirSync(dirname(options.location), { recursive: true });
    const database = new SqliteDatabase(options.location);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = FULL');
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
    // SQLite's own lower() folds only ASCII; searches fold case the way PostgreSQL and JavaScript do.
    database.function('lower', { deterministic: true }, (value: unknown) =>
      typeof value === 'string' ? value.toLowerCase() : value,
    );
    const changes = sqliteChangeStamps(database);
    const kysely = new Kysely<Database>({
      dialect: watchChanges(new ImmediateSqliteDialect(withStatementCache(database)), changes),
    });
    return { engine: 'sqlite', kysely, changes, close: () => kysely.destroy() };
  }
  const pool = createPostgresPool(options.location, options.poolSize ?? 16);
  const changes = postgresChangeStamps(options.location, options.listenerEvents);
  const kysely = new Kysely<Database>({ dialect: watchChanges(new StorePostgresDialect({ pool }), changes) });
  return {
    engine: 'postgres',
    kysely,
    changes,
    async close() {
      await changes.close();
      await kysely.destroy();
    },
  };
}

/**
 * Brings the schema up to date. Several nodes may call it at once.
 * `through` stops after the named migration: for tests that store rows as an older version did.
 */
export function migrateToLatest(db: Db, through?: string): Promise<{ applied: string[] }> {
  return runMigrations(db.kysely, db.engine, through);
}

/** Whether the store answers a trivial query: what `/readyz` reports. */
export async function isReachable(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db.kysely);
    return true;
  } catch {
    return false;
  }
}
