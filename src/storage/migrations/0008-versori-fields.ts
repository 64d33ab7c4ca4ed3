import type { Migration } from 'kysely';
import type { UntypedDb } from '../engine.js';

/** Connector fields Versori's API carries and the core now keeps too: the BigQuery dataset, `public`, tags. */
export function versoriFields(): Migration {
  return {
    async up(db: UntypedDb) {
      await db.schema.alterTable('connectors').addColumn('dataset_id', 'text').execute();
      await db.schema
        .alterTable('connectors')
        .addColumn('is_public', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('connectors')
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
    },
  };
}
