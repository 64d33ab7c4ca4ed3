import { sql, type Kysely, type Migration } from 'kysely';
import type { Engine } from '../engine.js';

/**
 * The built-in OAuth authorization server's state, shared by every node:
 * - `oauth_records`: what oidc-provider stores (authorization codes, refresh tokens, grants, sessions,
 *   interactions, dynamically registered clients), one JSON payload per model and id, with the columns its
 *   adapter looks records up by;
 * - `oauth_grants`: the grants users gave MCP clients, as plugboard lists and revokes them (one toolset each).
 * On PostgreSQL `oauth_grants` notifies the change channel like migration 0010's tables, so that every node's
 * cached grant lookups are dropped when a grant is revoked anywhere.
 */
export function oauth(engine: Engine): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- frozen in time: a migration knows no schema type
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('oauth_records')
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('grant_id', 'text')
        .addColumn('uid', 'text')
        .addColumn('user_code', 'text')
        .addColumn('expires_at', 'text')
        .addColumn('consumed_at', 'text')
        .addPrimaryKeyConstraint('oauth_records_pk', ['model', 'id'])
        .execute();
      await db.schema.createIndex('oauth_records_grant').on('oauth_records').column('grant_id').execute();
      await db.schema.createIndex('oauth_records_uid').on('oauth_records').columns(['model', 'uid']).execute();
      await db.schema.createIndex('oauth_records_expiry').on('oauth_records').column('expires_at').execute();

      await db.schema
        .createTable('oauth_grants')
        .addColumn('grant_id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('toolset', 'text', (c) => c.notNull())
        .addColumn('toolset_uid', 'text', (c) => c.notNull())
        .addColumn('resource', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('client_name', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('oauth_grants_workspace').on('oauth_grants').column('workspace_id').execute();
      await db.schema.createIndex('oauth_grants_user').on('oauth_grants').column('user_id').execute();
      if (engine === 'postgres') {
        await sql`
          create trigger oauth_grants_notify_change
          after insert or update or delete or truncate on oauth_grants
          for each statement execute function plugboard_notify_change()`.execute(db);
      }
    },
  };
}
