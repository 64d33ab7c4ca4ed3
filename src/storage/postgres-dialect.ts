import { PostgresDialect, type DatabaseIntrospector, type Kysely } from 'kysely';
import { OwnSchemaIntrospector } from './postgres-introspector.js';

/** Kysely's PostgreSQL dialect, introspecting the store's own schema only (see {@link OwnSchemaIntrospector}). */
export class StorePostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new OwnSchemaIntrospector(db, super.createIntrospector(db));
  }
}
