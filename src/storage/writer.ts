import type { Kysely, Transaction } from 'kysely';
import type { Db } from './database.js';
import type { Database } from './schema.js';

/** What repositories run queries on: the database itself for reads, a transaction for writes. */
export type Executor = Kysely<Database> | Transaction<Database>;
export type Tx = Transaction<Database>;

/**
 * The one place that owns write transactions. Services hand it a unit of work; it commits it and
 * resolves only once the commit has returned (so an answered write is durable).
 */
export interface Writer {
  write<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}

export function createWriter(db: Db): Writer {
  return {
    write: (work) => db.kysely.transaction().execute(work),
  };
}

/**
 * Row locking for a read that precedes a conditional write. PostgreSQL takes the row lock at once, so
 * concurrent writers of one row queue instead of failing their revision check and retrying; SQLite
 * transactions are already serialised and have no FOR UPDATE.
 */
export interface ReadOptions {
  readonly forUpdate?: boolean;
}

/** A unique index refused the row: the edges turn this into a 409. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown } | null;
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
