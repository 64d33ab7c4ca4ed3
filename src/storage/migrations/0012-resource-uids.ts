import { sql, type Migration } from 'kysely';
import type { Engine, UntypedDb } from '../engine.js';

/** Tables whose rows are addressed by names a client may reuse, and the prefix of their uids (copied, not imported). */
const TABLES = [
  ['workspaces', 'wsu'],
  ['connectors', 'ctu'],
  ['connections', 'cnu'],
  ['access_clients', 'acu'],
] as const;

/**
 * Every resource gets a uid minted at creation and never reused: names and ids are addresses that a delete
 * frees for someone else, a uid is the resource itself. Caches, sessions, sealed values and audit events hang
 * on it. Existing rows get fresh random uids (32 hex characters; new ones are minted by the application).
 *
 * Audit events record the uid of their workspace. An existing event gets the uid of the workspace now stored
 * under its id only if it happened after that workspace was created; older ones belonged to a workspace that
 * was deleted, and keep a null uid (an operator still reads them by workspace id).
 */
export function resourceUids(engine: Engine): Migration {
  const random = engine === 'sqlite' ? sql`lower(hex(randomblob(16)))` : sql`replace(gen_random_uuid()::text, '-', '')`;
  return {
    async up(db: UntypedDb) {
      for (const [table, prefix] of TABLES) {
        await db.schema.alterTable(table).addColumn('uid', 'text').execute();
        await sql`update ${sql.table(table)} set uid = ${`${prefix}_`} || ${random}`.execute(db);
        await db.schema.createIndex(`${table}_uid`).on(table).column('uid').unique().execute();
      }
      // Toolsets had a uid from the start (DevS's numeric one); now it is what the gateway keys on, so it must be unique.
      await db.schema.createIndex('toolsets_uid').on('toolsets').column('uid').unique().execute();
      await db.schema.alterTable('audit_events').addColumn('workspace_uid', 'text').execute();
      await sql`update audit_events set workspace_uid = (
          select w.uid from workspaces w where w.id = audit_events.workspace_id and w.created_at <= audit_events.at)`.execute(
        db,
      );
      await db.schema
        .createIndex('audit_events_workspace_uid')
        .on('audit_events')
        .columns(['workspace_uid', 'id'])
        .execute();
    },
  };
}
