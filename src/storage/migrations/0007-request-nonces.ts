import type { Migration } from 'kysely';
import type { UntypedDb } from '../engine.js';

/**
 * Nonces of signed requests (Alibaba's `x-acs-signature-nonce` / `SignatureNonce`), kept while a replay of
 * the request would still pass the timestamp check, so that every node refuses the second use.
 */
export function requestNonces(): Migration {
  return {
    async up(db: UntypedDb) {
      await db.schema
        .createTable('request_nonces')
        .addColumn('nonce_key', 'text', (c) => c.primaryKey())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('request_nonces_expiry').on('request_nonces').column('expires_at').execute();
    },
  };
}
