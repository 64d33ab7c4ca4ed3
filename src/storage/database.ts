import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import {
  CompiledQuery,
  Kysely,
  Migrator,
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
  type Migration,
  type MigrationProvider,
} from 'kysely';
import type { Database } from './schema.js';
import { preparedStatementName } from './compiled-once.js';
import { postgresChangeStamps, sqliteChangeStamps, watchChanges, type ChangeStamps, type ListenerEvents } from './change-stamps.js';
import { initial } from './migrations/0001-initial.js';
import { audit } from './migrations/0002-audit.js';
import { signingCredentials } from './migrations/0003-signing-credentials.js';
import { idempotency } from './migrations/0004-idempotency.js';
import { toolsets } from './migrations/0006-toolsets.js';
import { accessClients } from './migrations/0005-access-clients.js';
import { requestNonces } from './migrations/0007-request-nonces.js';
import { versoriFields } from './migrations/0008-versori-fields.js';
import { mcpSessions } from './migrations/0009-mcp-sessions.js';
import { changeNotify } from './migrations/0010-change-notify.js';
import { connectionOrder } from './migrations/0011-connection-order.js';
import { resourceUids } from './migrations/0012-resource-uids.js';

export type Engine = 'sqlite' | 'postgres';

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

function migrationsFor(engine: Engine): Record<string, Migration> {
  return {
    '0001-initial': initial(engine),
    '0002-audit': audit(engine),
    '0003-signing-credentials': signingCredentials(),
    '0004-idempotency': idempotency(),
    '0005-access-clients': accessClients(),
    '0006-toolsets': toolsets(),
    '0007-request-nonces': requestNonces(),
    '0008-versori-fields': versoriFields(),
    '0009-mcp-sessions': mcpSessions(),
    '0010-change-notify': changeNotify(engine),
    '0011-connection-order': connectionOrder(),
    '0012-resource-uids': resourceUids(engine),
  };
}

/** Thrown when the store has migrations this code does not know: it was upgraded by a newer plugboard. */
export class NewerSchemaError extends Error {
  constructor(readonly unknown: readonly string[]) {
    super(
      `The store's schema is newer than this version of plugboard: it has migration${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}, ` +
        'which this version does not know. A newer plugboard has already upgraded it; run that version (or a later one) on this store. ' +
        'Refusing to start rather than work on a schema this code was not written for.',
    );
    this.name = 'NewerSchemaError';
  }
}

/**
 * A node with older code must not serve a store that newer code has migrated (its queries would miss the new
 * columns' rules). Kysely's own check reports this only as "corrupted migrations"; this says what happened.
 */
async function refuseNewerSchema(db: Db, known: readonly string[], schema: string | undefined): Promise<void> {
  const table = schema ? sql.table(`${schema}.kysely_migration`) : sql.table('kysely_migration');
  let executed: string[];
  try {
    executed = (await sql<{ name: string }>`select name from ${table}`.execute(db.kysely)).rows.map((r) => r.name);
  } catch {
    return; // no migration table yet: an empty store
  }
  const unknown = executed.filter((name) => !known.includes(name)).sort();
  if (unknown.length > 0) throw new NewerSchemaError(unknown);
}

/**
 * Brings the schema up to date. On PostgreSQL Kysely holds an advisory lock, so several nodes may call it at once.
 * `through` stops after the named migration: for tests that store rows as an older version did.
 */
export async function migrateToLatest(db: Db, through?: string): Promise<{ applied: string[] }> {
  const provider: MigrationProvider = { getMigrations: async () => migrationsFor(db.engine) };
  // Without a schema, Kysely takes its bookkeeping tables in *any* schema of the database for ours (and then
  // fails to find them on the search path); name the schema the store lives in.
  const migrationTableSchema =
    db.engine === 'postgres' ? (await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db.kysely)).rows[0]?.schema ?? undefined : undefined;
  // Migrations are numbered when planned and may land out of order (0007 after 0009); each one stands alone,
  // so a store that already ran later ones simply runs the missing one.
  const migrator = new Migrator({ db: db.kysely, provider, migrationTableSchema, allowUnorderedMigrations: true });
  await refuseNewerSchema(db, Object.keys(migrationsFor(db.engine)), migrationTableSchema);
  const { error, results } = await (through === undefined ? migrator.migrateToLatest() : migrator.migrateTo(through));
  if (error) {
    throw new Error(`Database migration failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
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
