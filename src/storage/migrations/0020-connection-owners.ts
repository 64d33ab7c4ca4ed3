import type { Migration } from 'kysely';
import type { UntypedDb } from '../engine.js';

/**
 * A connection can belong to one person (`owner_user_id`, a user's principal id; null: a shared connection).
 * - Deleting the principal deletes the connections it owns, and their tokens with them (foreign keys, on both
 *   engines); removing a member from a workspace deletes theirs there (the access service does that).
 * - At most one connection per person per connector: per-user toolsets find the caller's by (workspace, connector,
 *   owner). NULLs are distinct in a unique index on SQLite and PostgreSQL alike, so shared connections are not
 *   limited by it.
 */
export function connectionOwners(): Migration {
  return {
    async up(db: UntypedDb) {
      await db.schema
        .alterTable('connections')
        .addColumn('owner_user_id', 'text', (c) => c.references('principals.id').onDelete('cascade'))
        .execute();
      await db.schema
        .createIndex('connections_owner')
        .on('connections')
        .columns(['workspace_id', 'connector_id', 'owner_user_id'])
        .unique()
        .execute();
    },
  };
}
