import { Migrator, sql, type Migration, type MigrationProvider } from 'kysely';
import type { Engine, UntypedDb } from './engine.js';
import { initial } from './migrations/0001-initial.js';
import { audit } from './migrations/0002-audit.js';
import { signingCredentials } from './migrations/0003-signing-credentials.js';
import { idempotency } from './migrations/0004-idempotency.js';
import { accessClients } from './migrations/0005-access-clients.js';
import { toolsets } from './migrations/0006-toolsets.js';
import { requestNonces } from './migrations/0007-request-nonces.js';
import { versoriFields } from './migrations/0008-versori-fields.js';
import { mcpSessions } from './migrations/0009-mcp-sessions.js';
import { changeNotify } from './migrations/0010-change-notify.js';
import { connectionOrder } from './migrations/0011-connection-order.js';
import { resourceUids } from './migrations/0012-resource-uids.js';
import { toolCatalogs } from './migrations/0013-tool-catalogs.js';
import { users } from './migrations/0014-users.js';
import { oauth } from './migrations/0015-oauth.js';
import { auditClients } from './migrations/0016-audit-clients.js';
import { connectionTokens } from './migrations/0017-connection-tokens.js';
import { connectRequests } from './migrations/0018-connect-requests.js';
import { webhooks } from './migrations/0019-webhooks.js';
import { connectionOwners } from './migrations/0020-connection-owners.js';
import { memberKeyRevisions } from './migrations/0021-member-key-revisions.js';
import { tableChangeNotify } from './migrations/0022-table-change-notify.js';
import { accessKeyNotify } from './migrations/0023-access-key-notify.js';
import { rowChangeFillfactor } from './migrations/0024-row-change-fillfactor.js';

/** Every migration, by the name the store records it under. */
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
    '0013-tool-catalogs': toolCatalogs(),
    '0014-users': users(),
    '0015-oauth': oauth(engine),
    '0016-audit-clients': auditClients(engine),
    '0017-connection-tokens': connectionTokens(),
    '0018-connect-requests': connectRequests(),
    '0019-webhooks': webhooks(),
    '0020-connection-owners': connectionOwners(),
    '0021-member-key-revisions': memberKeyRevisions(),
    '0022-table-change-notify': tableChangeNotify(engine),
    '0023-access-key-notify': accessKeyNotify(engine),
    '0024-row-change-fillfactor': rowChangeFillfactor(engine),
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
async function refuseNewerSchema(db: UntypedDb, known: readonly string[], schema: string | undefined): Promise<void> {
  const table = schema ? sql.table(`${schema}.kysely_migration`) : sql.table('kysely_migration');
  let executed: string[];
  try {
    executed = (await sql<{ name: string }>`select name from ${table}`.execute(db)).rows.map((r) => r.name);
  } catch {
    return; // no migration table yet: an empty store
  }
  const unknown = executed.filter((name) => !known.includes(name)).sort();
  if (unknown.length > 0) throw new NewerSchemaError(unknown);
}

/**
 * Runs the migrations the store has not run, up to `through` when given. On PostgreSQL Kysely holds an advisory
 * lock, so several nodes may call it at once.
 */
export async function runMigrations(db: UntypedDb, engine: Engine, through?: string): Promise<{ applied: string[] }> {
  const provider: MigrationProvider = { getMigrations: async () => migrationsFor(engine) };
  // Without a schema, Kysely takes its bookkeeping tables in *any* schema of the database for ours (and then
  // fails to find them on the search path); name the schema the store lives in.
  const migrationTableSchema =
    engine === 'postgres'
      ? ((await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db)).rows[0]?.schema ??
        undefined)
      : undefined;
  // Migrations are numbered when planned and may land out of order (0007 after 0009); each one stands alone,
  // so a store that already ran later ones simply runs the missing one.
  const migrator = new Migrator({ db, provider, migrationTableSchema, allowUnorderedMigrations: true });
  await refuseNewerSchema(db, Object.keys(migrationsFor(engine)), migrationTableSchema);
  const { error, results } = await (through === undefined ? migrator.migrateToLatest() : migrator.migrateTo(through));
  if (error) {
    throw new Error(`Database migration failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`, {
      cause: error,
    });
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
