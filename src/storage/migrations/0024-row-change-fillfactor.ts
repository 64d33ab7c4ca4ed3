import { sql, type Migration } from 'kysely';
import type { Engine, UntypedDb } from '../engine.js';

/** The tables whose rows every single write rewrites in place: each row change is an `UPDATE` of one of them. */
export const UPDATED_IN_PLACE = ['connectors', 'connections', 'access_clients', 'toolsets'] as const;

/** The share of each page PostgreSQL fills on insert, leaving the rest for the new versions of its rows. */
export const ROW_CHANGE_FILLFACTOR = 80;

/**
 * PostgreSQL: leave a fifth of each page of the tables that row changes rewrite free, so that the new version of a
 * row fits on its own page. An update that changes no indexed column and stays on its page is a heap-only tuple
 * (HOT): none of the table's indexes gets a new entry (connections has six). A connector's variables reaching its
 * 10,000 connections spent most of its time in that `UPDATE`: 340–560 ms at the default (100), 160–300 ms at 80
 * (bench/README.md). The setting applies to pages written from now on; an existing table gets it throughout with
 * `VACUUM FULL` (or pg_repack), which the upgrade notes leave to the operator. SQLite has no such setting.
 */
export function rowChangeFillfactor(engine: Engine): Migration {
  return {
    async up(db: UntypedDb) {
      if (engine !== 'postgres') return;
      for (const table of UPDATED_IN_PLACE)
        await sql`alter table ${sql.table(table)} set (fillfactor = ${sql.lit(ROW_CHANGE_FILLFACTOR)})`.execute(db);
    },
  };
}
