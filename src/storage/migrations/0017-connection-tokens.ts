import type { Kysely, Migration } from 'kysely';

/**
 * The OAuth tokens of a connection, one row each, apart from the connection itself: the refresh engine locks this
 * row (PostgreSQL `SELECT … FOR UPDATE`) for the whole of a refresh and writes the rotated refresh token in the
 * transaction that releases the lock, without touching the connection's revision or ETag.
 * - `tokens`: JSON `{accessToken, refreshToken, reconnectLink}`, each value sealed for the connection (path
 *   `/tokens/…`); `reconnectLink` is the connect link tool errors carry while the state is `reconnect-required`;
 * - `api_origin`: the connector's baseUrl origin when the tokens were issued, the only origin they are sent to;
 * - `state`: `connected` | `degraded` | `reconnect-required`; `last_error` never holds a secret;
 * - `version`: moved by every change of the tokens, so a caller that waited for the lock sees that another
 *   caller already refreshed;
 * - `reconnect_link_id`: the connect request that link opens;
 * Deleting the connection deletes its tokens (foreign key, on both engines).
 * - `user_id`: the person the tokens act for, when the connection is theirs (null: a shared connection).
 */
export function connectionTokens(): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- frozen in time: a migration knows no schema type
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('connection_tokens')
        .addColumn('connection_id', 'bigint', (c) => c.primaryKey().references('connections.id').onDelete('cascade'))
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('connection_uid', 'text', (c) => c.notNull())
        .addColumn('scheme_type', 'text', (c) => c.notNull())
        .addColumn('tokens', 'text', (c) => c.notNull())
        .addColumn('api_origin', 'text', (c) => c.notNull())
        .addColumn('scope', 'text')
        .addColumn('expires_at', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('connected_at', 'text', (c) => c.notNull())
        .addColumn('connected_by', 'text')
        .addColumn('user_id', 'text')
        .addColumn('last_refresh_at', 'text')
        .addColumn('last_error', 'text')
        .addColumn('last_error_at', 'text')
        .addColumn('reconnect_link_id', 'text')
        .addColumn('refresh_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('connection_tokens_workspace')
        .on('connection_tokens')
        .column('workspace_id')
        .execute();
    },
  };
}
