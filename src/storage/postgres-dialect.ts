import { PostgresDialect, type DatabaseIntrospector } from 'kysely';
import { OwnSchemaIntrospector } from './postgres-introspector.js';
import type { UntypedDb } from './engine.js';

/** Kysely's PostgreSQL dialect, introspecting the store's own schema only (see {@link OwnSchemaIntrospector}). */
export class StorePostgresDialect extends PostgresDialect {
  override createIntrospector(db: UntypedDb): DatabaseIntrospector {
    return new OwnSchemaIntrospector(db, super.createIntrospector(db));
  }
}
