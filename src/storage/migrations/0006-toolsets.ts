import type { Migration } from 'kysely';
import type { UntypedDb } from '../engine.js';

/** Toolsets: the spec a caller wrote and the status the reconciler made of it, plus the reconciler's claim. */
export function toolsets(): Migration {
  return {
    async up(db: UntypedDb) {
      await db.schema
        .createTable('toolsets')
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('uid', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('observed_generation', 'integer')
        // How to call each served tool upstream (from the last spec that converted), for the gateway.
        .addColumn('operations', 'text')
        // The generation a reconciler is working on and until when its claim holds (another may take it after).
        .addColumn('claim_generation', 'integer')
        .addColumn('claim_expires_at', 'text')
        .addColumn('created_time', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('toolsets_pk', ['workspace_id', 'name'])
        .execute();
    },
  };
}
