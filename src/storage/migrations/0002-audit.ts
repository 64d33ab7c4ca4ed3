import type { Migration } from 'kysely';
import type { Engine, UntypedDb } from '../engine.js';

/** The audit log: one row per successful write, written in the same transaction as the change. */
export function audit(engine: Engine): Migration {
  return {
    async up(db: UntypedDb) {
      await db.schema
        .createTable('audit_events')
        .addColumn('id', engine === 'sqlite' ? 'integer' : 'bigint', (c) =>
          engine === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity(),
        )
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('from_revision', 'integer')
        .addColumn('to_revision', 'integer')
        .addColumn('changed_fields', 'text', (c) => c.notNull())
        .execute();
      // Newest-first pages per workspace, and per resource for its history.
      await db.schema
        .createIndex('audit_events_workspace')
        .on('audit_events')
        .columns(['workspace_id', 'id'])
        .execute();
      await db.schema
        .createIndex('audit_events_resource')
        .on('audit_events')
        .columns(['workspace_id', 'resource_type', 'resource_id', 'id'])
        .execute();
    },
  };
}
