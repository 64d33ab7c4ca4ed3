import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

/** The store a node runs on. Migrations and repositories branch on it where the SQL differs. */
export type Engine = 'sqlite' | 'postgres';

/** What repositories run queries on: the database itself for reads, a transaction for writes. */
export type Executor = Kysely<Database> | Transaction<Database>;

/** A write transaction, as the writer hands it to a unit of work. */
export type Tx = Transaction<Database>;

/**
 * A handle on the store whose tables are not typed: what Kysely's `Migration` and introspection interfaces take, since a
 * migration runs against the schema as it was when it was written, not as `Database` describes it now.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's Migration interface is declared over Kysely<any>
export type UntypedDb = Kysely<any>;

/**
 * Row locking for a read that precedes a conditional write. PostgreSQL takes the row lock at once, so
 * concurrent writers of one row queue instead of failing their revision check and retrying; SQLite
 * transactions are already serialised and have no FOR UPDATE.
 */
export interface ReadOptions {
  readonly forUpdate?: boolean;
  /** A lock that only keeps others from changing the row (FOR SHARE) until the commit: for a check, not a write. */
  readonly forShare?: boolean;
}
