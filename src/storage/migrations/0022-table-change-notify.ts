import { sql, type Migration } from 'kysely';
import type { Engine, UntypedDb } from '../engine.js';

/** Migration 0010's channel, whose payload is the schema alone (copied, not imported: see change-stamps.ts). */
const SCHEMA_CHANNEL = 'plugboard_changes';
/** The channel whose payload also names the table (copied, not imported: see change-stamps.ts). */
const TABLE_CHANNEL = 'plugboard_table_changes';

/**
 * PostgreSQL: the triggers of migration 0010 (and 0015) also notify {@link TABLE_CHANNEL} with `schema.table`,
 * so that a node drops only the lookups that read the changed table. They keep notifying 0010's channel, which
 * nodes of earlier versions listen on: during a rolling upgrade those still drop their caches at once (a revoked
 * key stops there too). A later migration may drop it once no node of those versions can be running.
 */
export function tableChangeNotify(engine: Engine): Migration {
  return {
    async up(db: UntypedDb) {
      if (engine !== 'postgres') return;
      await sql`
        create or replace function plugboard_notify_change() returns trigger language plpgsql as $$
        begin
          perform pg_notify(${sql.lit(SCHEMA_CHANNEL)}, tg_table_schema);
          perform pg_notify(${sql.lit(TABLE_CHANNEL)}, tg_table_schema || '.' || tg_table_name);
          return null;
        end
        $$`.execute(db);
    },
  };
}
