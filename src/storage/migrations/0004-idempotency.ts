import type { Migration } from 'kysely';
import type { UntypedDb } from '../engine.js';

/** First responses to requests sent with an Idempotency-Key, kept for replay (24 h). */
export function idempotency(): Migration {
  return {
    async up(db: UntypedDb) {
      await db.schema
        .createTable('idempotency_records')
        .addColumn('scope_key', 'text', (c) => c.primaryKey())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('status', 'integer')
        .addColumn('headers', 'text')
        .addColumn('body', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('idempotency_records_expiry')
        .on('idempotency_records')
        .column('expires_at')
        .execute();
    },
  };
}
