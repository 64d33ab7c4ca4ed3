import { sql, type Kysely, type Transaction } from 'kysely';
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

export interface WriterOptions {
  /** The most units of work one SQLite transaction takes (and one sync makes durable). */
  readonly maxBatch?: number;
}

/**
 * PostgreSQL already commits concurrent transactions together (one WAL flush serves many), so each unit of
 * work is its own transaction there. SQLite syncs once per commit on the only JS thread, so there the writer
 * commits the units of concurrent requests together: see {@link createGroupCommitWriter}.
 */
export function createWriter(db: Db, options: WriterOptions = {}): Writer {
  if (db.engine === 'sqlite') return createGroupCommitWriter(db, options.maxBatch ?? 64);
  return { write: (work) => db.kysely.transaction().execute(work) };
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

interface Queued {
  readonly work: (tx: Tx) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Group commit: units of work that arrive while a batch is being written wait for the next one; a batch
 * starts on the next turn of the event loop after its first unit arrived and takes at most `maxBatch` units.
 * Each unit runs inside its own savepoint, in arrival order, seeing the units before it as a transaction of
 * its own would: one that throws (a failed precondition, a unique violation, a lost race) is rolled back to
 * its savepoint alone and its caller gets the error; the others commit. No caller hears back before the
 * batch's commit has returned, so an answered write is durable; if the commit itself fails, every caller of
 * the batch gets that error and nothing of it is stored.
 *
 * A unit must only use the transaction it is given (no network calls, no waiting on other writes): the whole
 * batch waits for each unit in turn.
 */
export function createGroupCommitWriter(db: Db, maxBatch: number): Writer {
  const queue: Queued[] = [];
  let scheduled = false;

  async function runBatch(): Promise<void> {
    const batch = queue.splice(0, maxBatch);
    const outcomes: Outcome[] = [];
    try {
      await db.kysely.transaction().execute(async (tx) => {
        for (const unit of batch) {
          await sql`savepoint unit`.execute(tx);
          try {
            const value = await unit.work(tx);
            await sql`release savepoint unit`.execute(tx);
            outcomes.push({ ok: true, value });
          } catch (error) {
            await sql`rollback to savepoint unit`.execute(tx);
            await sql`release savepoint unit`.execute(tx);
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      for (const unit of batch) unit.reject(error);
      return;
    } finally {
      scheduled = false;
      if (queue.length > 0) schedule();
    }
    batch.forEach((unit, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) unit.resolve(outcome.value);
      else unit.reject(outcome.error);
    });
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => void runBatch());
  }

  return {
    write<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
        schedule();
      });
    },
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
