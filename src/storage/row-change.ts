import type { NewAuditEvent } from '../domain/audit.js';
import { insertAuditEvents, insertManyAuditEvents } from './audit-repo.js';
import type { Engine, Executor, Tx } from './engine.js';
import { StaleWrite } from './write-conflicts.js';
import { carryWorkspaceUid } from './row-workspaces.js';

/** How the writer reads and writes the rows of one table for the writer's `change`. */
export interface RowStore<Row> {
  /** The rows with these keys, locked until the commit (`FOR UPDATE` on PostgreSQL, in key order). */
  load(tx: Tx, keys: readonly string[]): Promise<Map<string, Row>>;
  /**
   * Writes rows that exist, each over the state it was computed from (`stored`, as read) and only if the store
   * still holds that revision; returns how many it wrote. One statement for all of them where the store allows.
   */
  store(tx: Tx, rows: readonly RowWrite<Row>[]): Promise<number>;
  /** PostgreSQL: what a batch needs to commit without a transaction, when the rows did not move meanwhile. */
  readonly optimistic?: OptimisticRowStore<Row>;
}

/**
 * Reading and writing rows outside a transaction, for the optimistic path (optimistic-row-changes.ts): each call is one
 * autocommit statement, so a write is atomic and durable by itself.
 */
export interface OptimisticRowStore<Row> {
  /** The rows with these keys as committed now; no lock. */
  peek(db: Executor, keys: readonly string[]): Promise<Map<string, Row>>;
  /**
   * One statement: writes each row whose store still holds the revision of `stored` (and that is still the same
   * row: not deleted and created again under its key since it was read), and inserts the audit events of
   * exactly the rows it wrote (`row` is the event's row's index in `rows`), in order. Answers the indexes written.
   */
  storeAudited(
    db: Executor,
    rows: readonly RowWrite<Row>[],
    events: readonly { event: NewAuditEvent; row: number }[],
  ): Promise<Set<number>>;
}

/**
 * A row to write and the state it replaces, as it was read. The write lands only if the store still holds that
 * revision, so the store may leave out what `row` shares with `stored` (a column whose value is the same object).
 */
export interface RowWrite<Row> {
  readonly row: Row;
  readonly stored: Row;
}

/** What a change makes of the current row. */
export interface RowChangeOutcome<Row, T> {
  /** The row to store, with its revision moved on; none when nothing changed. Never for a missing row: creating is not a row change. */
  readonly next?: Row;
  readonly audit?: NewAuditEvent;
  readonly result: T;
  /** More work in the same transaction, after the row and the audit row are written; its value is the result. */
  readonly after?: (tx: Tx) => Promise<T>;
}

/**
 * One row's change. `apply` must be a pure function of the row it is given (undefined when there is none): it
 * may throw (a failed precondition, a missing row, invalid input) and then nothing of it is written, and it may
 * be called more than once (a batch that fails is run again change by change). Changes of one row in one batch
 * are applied one after another, each to the row the previous one made, as separate transactions would be.
 */
export interface RowChange<Row, T> {
  readonly key: string;
  apply(current: Row | undefined): RowChangeOutcome<Row, T>;
}

/** A row change as a unit of work of its own. */
export async function changeOne<Row, T>(tx: Tx, rows: RowStore<Row>, change: RowChange<Row, T>): Promise<T> {
  const current = (await rows.load(tx, [change.key])).get(change.key);
  const outcome = checkedOutcome(change, current);
  if (outcome.next !== undefined) {
    if ((await rows.store(tx, [{ row: outcome.next, stored: current! }])) !== 1) throw new StaleWrite();
  }
  if (outcome.audit) await insertAuditEvents(tx, [outcome.audit]);
  return outcome.after ? outcome.after(tx) : outcome.result;
}

/**
 * The changes of many rows of one table as one unit of work, set-based: one read of all the rows, the changes
 * applied in memory, one write of all the rows that changed and their audit rows (a few statements whatever
 * their number), then each change's `after` work; answers the results and how many rows were written. For work that changes many rows at once inside another
 * change's transaction (a connector's variables reaching its connections); a change that throws fails it all.
 */
export async function changeMany<Row, T>(
  tx: Tx,
  engine: Engine,
  rows: RowStore<Row>,
  changes: readonly RowChange<Row, T>[],
): Promise<{ results: T[]; written: number }> {
  if (changes.length === 0) return { results: [], written: 0 };
  const current = await rows.load(tx, [...new Set(changes.map((c) => c.key))].sort());
  const loaded = new Map(current);
  const changed = new Map<string, Row>();
  const audits: NewAuditEvent[] = [];
  const outcomes = changes.map((change) => {
    const outcome = checkedOutcome(change, current.get(change.key));
    if (outcome.next !== undefined) {
      current.set(change.key, outcome.next);
      changed.set(change.key, outcome.next);
    }
    if (outcome.audit) audits.push(outcome.audit);
    return outcome;
  });
  if (changed.size > 0) {
    const written = await rows.store(
      tx,
      [...changed].map(([key, row]) => ({ row, stored: loaded.get(key)! })),
    );
    if (written !== changed.size) throw new StaleWrite();
  }
  await insertManyAuditEvents(tx, engine, audits);
  const results: T[] = [];
  for (const outcome of outcomes) results.push(outcome.after ? await outcome.after(tx) : outcome.result);
  return { results, written: changed.size };
}

/** A change's outcome, refused when it would store a row that does not exist (a bug in the change, not in the input). */
export function checkedOutcome<Row, T>(change: RowChange<Row, T>, current: Row | undefined): RowChangeOutcome<Row, T> {
  const outcome = change.apply(current);
  if (outcome.next !== undefined && current === undefined)
    throw new Error(
      `The row change of ${JSON.stringify(change.key)} returned a row to store for a row that does not exist.`,
    );
  // The next change of the row in the same batch, or from memory, is applied to this state (row-workspaces.ts).
  if (outcome.next !== undefined) carryWorkspaceUid(current as object, outcome.next as object);
  return outcome;
}
