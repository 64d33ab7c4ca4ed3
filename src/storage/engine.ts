import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

/** The store a node runs on. Migrations and repositories branch on it where the SQL differs. */
export type Engine = 'sqlite' | 'postgres';

/** What repositories run queries on: the database itself for reads, a transaction for writes. */
export type Executor = Kysely<Database> | Transaction<Database>;

/** A write transaction, as the writer hands it to a unit of work. */
export type Tx = Transaction<Database>;

/**
 * Row locking for a read that precedes a conditional write. PostgreSQL takes the row lock at once, so
 * concurrent writers of one row queue instead of failing their revision check and retrying; SQLite
 * transactions are already serialised and have no FOR UPDATE.
 */
export interface ReadOptions {
  readonly forUpdate?: boolean;
}
