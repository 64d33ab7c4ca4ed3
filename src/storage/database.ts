import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  sql,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type DatabaseMetadata,
  type DatabaseMetadataOptions,
  type SchemaMetadata,
  type TableMetadata,
  type SqliteDatabase as KyselySqliteDatabase,
} from 'kysely';
import type { Database } from './schema.js';
import type { Engine } from './engine.js';
import { runMigrations } from './migrator.js';
import { preparedStatementName } from './compiled-once.js';
import { postgresChangeStamps, sqliteChangeStamps, watchChanges, type ChangeStamps, type ListenerEvents } from './change-stamps.js';

export interface StoreOptions {
  readonly engine: Engine;
  /** SQLite file path (engine sqlite) or connection string (engine postgres). */
  readonly location: string;
  readonly poolSize?: number;
  /** Outages of the PostgreSQL change listener (see {@link postgresChangeStamps}). */
  readonly listenerEvents?: ListenerEvents;
}

/** An open database: the query builder plus what is needed to close it. */
export interface Db {
  readonly engine: Engine;
  readonly kysely: Kysely<Database>;
  /** Whether what a cache read from the store may have changed since: see {@link ChangeStamps}. */
  readonly changes: ChangeStamps;
  close(): Promise<void>;
}

const INT8_OID = 20;

/**
 * SQLite transactions take the write lock when they begin. A deferred one that reads first fails at once with
 * SQLITE_BUSY when another process (a CLI command beside a running server) commits between its read and its
 * first write; taking the lock up front makes it wait under busy_timeout instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #database: KyselySqliteDatabase;
  constructor(database: KyselySqliteDatabase) {
    super({ database });
    this.#database = database;
  }
  override createDriver() {
    return new ImmediateSqliteDriver({ database: this.#database });
  }
}

/**
 * Kysely asks better-sqlite3 to prepare every query it runs, and preparing costs more than running a short
 * one. A query's SQL text is the same for every set of parameters, so the most recently used statements are
 * kept and reused (SQLite re-prepares one by itself if a migration changes the schema under it). Safe because
 * better-sqlite3 runs each statement to completion synchronously: none is ever in use by two queries at once.
 */
function withStatementCache(database: SqliteDatabase.Database, limit = 256): KyselySqliteDatabase {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => database.close(),
    prepare(text: string) {
      let statement = statements.get(text);
      if (statement) {
        // Most recently used last, so that the first key is always the one to drop.
        statements.delete(text);
      } else {
        statement = database.prepare(text);
        if (statements.size >= limit) statements.delete(statements.keys().next().value!);
      }
      statements.set(text, statement);
      return statement;
    },
  };
}

/**
 * What Kysely's migrator asks of the database: the tables of the store's own schema only. Kysely's PostgreSQL
 * introspector scans every schema of the database and calls `has_schema_privilege` and
 * `pg_get_serial_sequence` by name for each, which fails with "schema … does not exist" when another schema is
 * dropped during the scan (other stores, tenants and test runs drop theirs); a node must not fail to start for it.
 */
class OwnSchemaIntrospector implements DatabaseIntrospector {
  constructor(
    private readonly db: Kysely<any>,
    private readonly base: DatabaseIntrospector,
  ) {}

  getSchemas(): Promise<SchemaMetadata[]> {
    return this.base.getSchemas();
  }

  async getTables(options: DatabaseMetadataOptions = { withInternalKyselyTables: false }): Promise<TableMetadata[]> {
    const rows = await sql<{ schema: string; table: string; kind: string; column: string; type: string; type_schema: string; not_null: boolean; has_default: boolean }>`
      select ns.nspname as schema, c.relname as table, c.relkind as kind, a.attname as column, typ.typname as type,
             tns.nspname as type_schema, a.attnotnull as not_null, a.atthasdef as has_default
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
      join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      join pg_catalog.pg_type typ on typ.oid = a.atttypid
      join pg_catalog.pg_namespace tns on tns.oid = typ.typnamespace
      where ns.nspname = current_schema() and c.relkind in ('r', 'v', 'p')
      order by c.relname, a.attnum`.execute(this.db);
    const tables = new Map<string, TableMetadata & { columns: TableMetadata['columns'][number][] }>();
    for (const row of rows.rows) {
      if (!options.withInternalKyselyTables && (row.table === 'kysely_migration' || row.table === 'kysely_migration_lock')) continue;
      let table = tables.get(row.table);
      if (!table) tables.set(row.table, (table = { name: row.table, schema: row.schema, isView: row.kind === 'v', columns: [] }));
      table.columns.push({
        name: row.column,
        dataType: row.type,
        dataTypeSchema: row.type_schema,
        isNullable: !row.not_null,
        hasDefaultValue: row.has_default,
        isAutoIncrementing: false,
      });
    }
    return [...tables.values()];
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}

/**
 * The pool's connections: the statements of {@link compiledOnce} (the writer's batches, whose parsing and planning
 * cost more than their rows) go as named statements, which each connection prepares on first use and then only
 * binds and runs; everything else as Kysely sends it. A PostgreSQL pooler in between must keep prepared statements
 * apart per client (PgBouncer 1.21 and later does, with `max_prepared_statements`).
 */
class PreparingClient extends pg.Client {}
const plainQuery = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
PreparingClient.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const [text, values] = args;
  const name = args.length === 2 && typeof text === 'string' && Array.isArray(values) ? preparedStatementName(text) : undefined;
  return name === undefined ? plainQuery.apply(this, args) : plainQuery.call(this, { name, text, values });
} as typeof pg.Client.prototype.query;

class StorePostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new OwnSchemaIntrospector(db, super.createIntrospector(db));
  }
}

/**
 * Opens the store. SQLite runs in WAL mode with `synchronous=FULL` so that an answered write has been
 * synced; PostgreSQL's 64-bit integers come back as JS numbers (every id we store stays below 2^53).
 */
export function openDb(options: StoreOptions): Db {
  if (options.engine === 'sqlite') {
    if (options.location !== ':memory:') mkdirSync(dirname(options.location), { recursive: true });
    const database = new SqliteDatabase(options.location);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = FULL');
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
    // SQLite's own lower() folds only ASCII; searches fold case the way PostgreSQL and JavaScript do.
    database.function('lower', { deterministic: true }, (value: unknown) => (typeof value === 'string' ? value.toLowerCase() : value));
    const changes = sqliteChangeStamps(database);
    const kysely = new Kysely<Database>({ dialect: watchChanges(new ImmediateSqliteDialect(withStatementCache(database)), changes) });
    return { engine: 'sqlite', kysely, changes, close: () => kysely.destroy() };
  }
  const pool = new pg.Pool({
    connectionString: options.location,
    max: options.poolSize ?? 16,
    Client: PreparingClient,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
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
