import type { Migration } from 'kysely';
import type { UntypedDb } from '../engine.js';

/**
 * Gateway sessions that their client ended with DELETE. Session ids are signed, so any node can check one
 * without a lookup; only an ended session needs a row, kept until the id would have expired anyway.
 */
export function mcpSessions(): Migration {
  return {
    async up(db: UntypedDb) {
      await db.schema
        .createTable('mcp_ended_sessions')
        .addColumn('session_hash', 'text', (c) => c.primaryKey())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('mcp_ended_sessions_expiry').on('mcp_ended_sessions').column('expires_at').execute();
    },
  };
}
