import type { Migration } from 'kysely';
import type { UntypedDb } from '../engine.js';

/** Access clients of the gateway, and their bearer tokens (digests only; several may be valid during a rotation). */
export function accessClients(): Migration {
  return {
    async up(db: UntypedDb) {
      await db.schema
        .createTable('access_clients')
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('toolsets', 'text', (c) => c.notNull())
        .addColumn('rate_limit', 'integer')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('access_clients_pk', ['workspace_id', 'id'])
        .execute();

      await db.schema
        .createTable('access_client_secrets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        // Deleting a client (or its workspace) deletes its tokens with it.
        .addForeignKeyConstraint(
          'access_client_secrets_client_fk',
          ['workspace_id', 'client_id'],
          'access_clients',
          ['workspace_id', 'id'],
          (c) => c.onDelete('cascade'),
        )
        .execute();
      await db.schema
        .createIndex('access_client_secrets_client')
        .on('access_client_secrets')
        .columns(['workspace_id', 'client_id'])
        .execute();
    },
  };
}
