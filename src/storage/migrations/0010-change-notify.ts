import { sql, type Migration } from 'kysely';
import type { Engine, UntypedDb } from '../engine.js';

/** The channel the change listener LISTENs on (copied, not imported: see change-stamps.ts). */
const CHANGES_CHANNEL = 'plugboard_changes';

/** The tables per-node caches kept when this migration was written (copied, not imported: see watch-changes.ts). */
const WATCHED_TABLES = [
  'access_clients',
  'access_client_secrets',
  'toolsets',
  'mcp_ended_sessions',
  'api_keys',
  'principals',
  'memberships',
];

/**
 * PostgreSQL: every statement that changes a table some node caches (WATCHED_TABLES) notifies
 * {@link CHANGES_CHANNEL} with the table's schema when its transaction commits (PostgreSQL folds equal
 * notifications of one transaction into one), so that every node on that schema drops what it cached; stores
 * in other schemas of the same database ignore it. SQLite needs nothing: its `data_version` tells a
 * connection that another one wrote.
 */
export function changeNotify(engine: Engine): Migration {
  return {
    async up(db: UntypedDb) {
      if (engine !== 'postgres') return;
      await sql`
        create function plugboard_notify_change() returns trigger language plpgsql as $$
        begin
          perform pg_notify(${sql.lit(CHANGES_CHANNEL)}, tg_table_schema);
          return null;
        end
        $$`.execute(db);
      for (const table of WATCHED_TABLES) {
        await sql`
          create trigger ${sql.id(`${table}_notify_change`)}
          after insert or update or delete or truncate on ${sql.table(table)}
          for each statement execute function plugboard_notify_change()`.execute(db);
      }
    },
  };
}
