import type { Migration } from 'kysely';
import type { UntypedDb } from '../engine.js';

/**
 * Credentials for signed requests and short-lived tokens. Access-key secrets are sealed with the vault (a
 * signature check needs the plaintext); tokens, like API keys, are stored as digests only.
 */
export function signingCredentials(): Migration {
  return {
    async up(db: UntypedDb) {
      await db.schema
        .createTable('access_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('default_workspace_id', 'text', (c) => c.references('workspaces.id').onDelete('set null'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('access_keys_principal').on('access_keys').column('principal_id').execute();

      await db.schema
        .createTable('auth_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id').onDelete('cascade'))
        // Revoking the API key a token was issued with revokes the token too.
        .addColumn('api_key_id', 'text', (c) => c.notNull().references('api_keys.id').onDelete('cascade'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('default_workspace_id', 'text', (c) => c.references('workspaces.id').onDelete('set null'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('auth_tokens_principal').on('auth_tokens').column('principal_id').execute();
      await db.schema.createIndex('auth_tokens_api_key').on('auth_tokens').column('api_key_id').execute();
    },
  };
}
