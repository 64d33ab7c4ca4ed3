import type { Migration } from 'kysely';
import type { UntypedDb } from '../engine.js';

/**
 * Connections are listed in id order within a workspace (and within a connector). Without an index that
 * holds that order, SQLite reads every connection of the workspace and sorts them for each page; with it, a page
 * is a range scan of its own rows at any depth (bench/README.md has the figures).
 */
export function connectionOrder(): Migration {
  return {
    async up(db: UntypedDb) {
      await db.schema
        .createIndex('connections_workspace_order')
        .on('connections')
        .columns(['workspace_id', 'id'])
        .execute();
      await db.schema
        .createIndex('connections_connector_order')
        .on('connections')
        .columns(['workspace_id', 'connector_id', 'id'])
        .execute();
      // The new index starts with the old one's columns and serves every query it served.
      await db.schema.dropIndex('connections_connector').execute();
    },
  };
}
