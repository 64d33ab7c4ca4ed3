import type { Kysely, Migration } from 'kysely';

/**
 * Connect flows in progress and connect links handed out, shared by every node (the callback may reach another
 * node than the one that started the flow). Known by the SHA-256 of their random token, never the token itself:
 * - `kind = 'flow'`: a started authorization request; `id` is the digest of its `state`, `verifier` its PKCE
 *   verifier (sealed for the connection), `bound_to` who must bring it back (`user:<id>` or `browser:<digest>`);
 * - `kind = 'link'`: a connect link; `id` is the digest of the link's token; opening it starts a flow.
 * Each is used once (`used_at`) and only until `expires_at`.
 */
export function connectRequests(): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- frozen in time: a migration knows no schema type
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('oauth_connect_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('connection_id', 'bigint', (c) => c.notNull().references('connections.id').onDelete('cascade'))
        .addColumn('connection_uid', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('bound_to', 'text')
        .addColumn('verifier', 'text')
        .addColumn('redirect_uri', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .execute();
      await db.schema
        .createIndex('oauth_connect_requests_expiry')
        .on('oauth_connect_requests')
        .column('expires_at')
        .execute();
    },
  };
}
