import type { Db } from './database.js';
import type { Tx } from './engine.js';
import { changeOne, type RowChange, type RowStore } from './row-change.js';
import { createRowChangeBatcher } from './row-change-batcher.js';
import { createGroupCommitWriter } from './sqlite-group-commit.js';

/**
 * The one place that owns write transactions. Services hand it a unit of work; it commits it and
 * resolves only once the commit has returned (so an answered write is durable).
 */
export interface Writer {
  write<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * One row's change, computed from its current state: see {@link RowChange}. On PostgreSQL the changes of
   * concurrent requests are committed together, a few statements for the whole batch (see
   * {@link createRowChangeBatcher}); elsewhere, and whenever a batch cannot be committed, each change is a unit
   * of work of its own.
   */
  change<Row, T>(rows: RowStore<Row>, change: RowChange<Row, T>): Promise<T>;
  /**
   * A row the caller has just committed through {@link write} (a create), as the store would read it (with its
   * version where the store's optimistic write checks one): on PostgreSQL the next change of the row starts from
   * it instead of reading it first, and still writes only over that state. Does nothing elsewhere.
   */
  remember<Row>(rows: RowStore<Row>, key: string, row: Row): void;
}

export interface WriterOptions {
  /** The most units of work one SQLite transaction takes (and one sync makes durable). */
  readonly maxBatch?: number;
}

/**
 * PostgreSQL already commits concurrent transactions together (one WAL flush serves many), so each unit of
 * work is its own transaction there; what costs there is statements, so row changes are batched into one or
 * two statements for many requests ({@link createRowChangeBatcher}). SQLite syncs once per commit on the only JS
 * thread, so there the writer commits the units of concurrent requests together, row changes included: see
 * {@link createGroupCommitWriter}.
 */
export function createWriter(db: Db, options: WriterOptions = {}): Writer {
  if (db.engine === 'sqlite') {
    const write = createGroupCommitWriter(db, options.maxBatch ?? 64).write;
    return { write, change: (rows, change) => write((tx) => changeOne(tx, rows, change)), remember: () => {} };
  }
  const write: Writer['write'] = (work) => db.kysely.transaction().execute(work);
  // Two batches in flight: one is built and sent while the other commits. More only makes smaller batches
  // (bench/README.md has the figures).
  const change = createRowChangeBatcher(write, { maxBatch: options.maxBatch ?? 64, inFlight: 2, direct: db.kysely });
  return { write, change, remember: change.remember };
}
