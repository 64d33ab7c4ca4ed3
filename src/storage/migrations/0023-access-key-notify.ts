import { sql, type Migration } from 'kysely';
import type { Engine, UntypedDb } from '../engine.js';

/**
 * PostgreSQL: `access_keys` notifies the change channels like migration 0010's tables (through the function
 * migration 0022 left), now that every node remembers the signing keys it looked up: a key disabled, revoked or
 * re-sealed on one node is dropped by every other one when the change commits.
 */
export function accessKeyNotify(engine: Engine): Migration {
  return {
    async up(db: UntypedDb) {
      if (engine !== 'postgres') return;
      await sql`
        create trigger access_keys_notify_change
        after insert or update or delete or truncate on access_keys
        for each statement execute function plugboard_notify_change()`.execute(db);
    },
  };
}
