import type { Kysely, Migration } from 'kysely';

/**
 * Outgoing webhooks of a workspace and their deliveries.
 * - `webhooks.secret`: JSON of the signing secret sealed for the webhook (its id, path `/secret`); never shown;
 * - `webhooks.event_types`: JSON list of the event types it receives; `enabled` 1 or 0;
 * - `webhook_deliveries`: one row per event and webhook, written in the transaction of the change the event tells
 *   of; `payload` is the exact body sent on every attempt; `status` `pending` | `delivered` | `failed`;
 *   `next_attempt_at` when a node may (next) try it (a node that claims it moves it past the attempt's timeout),
 *   null once it is finished; `attempts` counts attempts started.
 * Deleting a webhook (or its workspace) deletes its deliveries.
 */
export function webhooks(): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- frozen in time: a migration knows no schema type
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('webhooks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('event_types', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhooks_workspace').on('webhooks').columns(['workspace_id', 'id']).execute();
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'text')
        .addColumn('last_attempt_at', 'text')
        .addColumn('last_status', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_due')
        .on('webhook_deliveries')
        .columns(['status', 'next_attempt_at'])
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_webhook')
        .on('webhook_deliveries')
        .columns(['webhook_id', 'created_at', 'id'])
        .execute();
    },
  };
}
