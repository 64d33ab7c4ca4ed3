import { sql } from 'kysely';
import type { NewAuditEvent } from '../domain/audit.js';
import { insertAuditEvents, insertAuditEventBatch } from './audit-repo.js';
import type { Db } from './database.js';
import type { Executor, Tx } from './engine.js';

/** Thrown inside a unit of work when a conditional write lost a race; the whole unit is retried. */
export class StaleWrite extends Error {
  constructor() {
    super('The row changed during the write.');
  }
}

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
}

/** How the writer reads and writes the rows of one table for {@link Writer.change}. */
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
 * Reading and writing rows outside a transaction, for {@link createRowChangeBatcher}: each call is one
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
  storeAudited(db: Executor, rows: readonly RowWrite<Row>[], events: readonly { event: NewAuditEvent; row: number }[]): Promise<Set<number>>;
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
    return { write, change: (rows, change) => write((tx) => changeOne(tx, rows, change)) };
  }
  const write: Writer['write'] = (work) => db.kysely.transaction().execute(work);
  // Two batches in flight: one is built and sent while the other commits. More only makes smaller batches
  // (bench:write, uniform ids, 2026-12-03, two runs each: 0.95-1.04x the bare server with two, 0.75-0.83x with
  // four, 0.81-0.96x with eight).
  return { write, change: createRowChangeBatcher(write, { maxBatch: options.maxBatch ?? 64, inFlight: 2, direct: db.kysely }) };
}

/** A row change as a unit of work of its own. */
async function changeOne<Row, T>(tx: Tx, rows: RowStore<Row>, change: RowChange<Row, T>): Promise<T> {
  const current = (await rows.load(tx, [change.key])).get(change.key);
  const outcome = checkedOutcome(change, current);
  if (outcome.next !== undefined) {
    if ((await rows.store(tx, [{ row: outcome.next, stored: current! }])) !== 1) throw new StaleWrite();
  }
  if (outcome.audit) await insertAuditEvents(tx, [outcome.audit]);
  return outcome.after ? outcome.after(tx) : outcome.result;
}

/** A change's outcome, refused when it would store a row that does not exist (a bug in the change, not in the input). */
function checkedOutcome<Row, T>(change: RowChange<Row, T>, current: Row | undefined): RowChangeOutcome<Row, T> {
  const outcome = change.apply(current);
  if (outcome.next !== undefined && current === undefined) throw new Error(`The row change of ${JSON.stringify(change.key)} returned a row to store for a row that does not exist.`);
  return outcome;
}

interface PendingChange {
  readonly change: RowChange<unknown, unknown>;
  /** When it arrived, on the batcher's own count of arrivals (see {@link Read}). */
  readonly arrived: number;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

function settle(pending: PendingChange, outcome: Settled) {
  if (outcome.ok) pending.resolve(outcome.value);
  else pending.reject(outcome.error);
}

export interface RowChangeBatcherOptions {
  readonly maxBatch: number;
  readonly inFlight: number;
  /**
   * Where a batch of a table with {@link RowStore.optimistic} runs its autocommit statements (a read of the rows it
   * does not remember, then the conditional write with its audit rows); without it every batch takes the locking path.
   */
  readonly direct?: Executor;
  /** How many rows per table the optimistic path remembers, at most, from its last reads and writes (default 10,000). */
  readonly rememberedRows?: number;
}

/**
 * A table's changes waiting for a batch, the keys of the batches running, the rows last read or written, and the
 * reads of rows not remembered: asked for as soon as a change of them arrives (`toFetch`, sent with the next
 * dispatch), so that the read runs while the change waits for a batch. A read settles to undefined when it failed.
 */
interface Table {
  queue: PendingChange[];
  readonly busy: Set<string>;
  readonly remembered: Map<string, Known>;
  readonly toFetch: Set<string>;
  readonly fetching: Map<string, Read>;
}

/**
 * A read of rows without a lock, and the count of arrivals when it was sent: every change that had arrived by
 * then can be answered from what it found (the read saw the committed state at a moment after the change
 * arrived, as a transaction of its own would have). Its rows settle to undefined when it failed.
 */
interface Read {
  readonly rows: Promise<Map<string, unknown> | undefined>;
  readonly sent: number;
}

/**
 * A remembered row: the count of arrivals when the statement that found or wrote it was sent, and whether that
 * was a read (a row this writer wrote answers no change from memory: another writer may have moved it since).
 */
interface Known {
  readonly row: unknown;
  readonly seen: number;
  readonly read: boolean;
}

/**
 * Group commit of row changes for PostgreSQL, where every statement costs a round trip and the server's own
 * parse, plan and WAL work. The changes that arrive together (per table) form a batch; a row that is in a batch
 * still running waits for the next one, so a node's own batches never race for a row. Up to `inFlight` batches
 * run at once. No caller hears back before what its change wrote is committed.
 *
 * A batch first tries the optimistic path, when the table has one and `direct` is given. It takes each row as this
 * writer last read or wrote it, and reads the others in one statement without a lock (started when their first
 * change arrived, unless a batch of theirs was running: see {@link Table}); applies the changes in
 * arrival order in memory; then writes with ONE autocommit statement, each row only if its revision (and creation)
 * has not moved, with the audit rows of exactly the rows it wrote. So a row this node wrote last costs one
 * statement per batch, and any other row two; a remembered row that another writer moved costs a retry. A change
 * whose `apply` throws on a row just read is answered with its error (that row was committed, as a lone transaction
 * would have seen it). Everything else takes the locking path: the changes of a row whose write did not land, of a
 * remembered row that wrote nothing (its error may come from a stale copy), and of a row whose changes need work in
 * a transaction (`after`, or an audit row without a new row).
 *
 * The locking path is one transaction: one locking SELECT of all the rows (in key order, so two batches cannot
 * deadlock), the changes applied in memory, one multi-row UPDATE, one multi-row audit INSERT, then each change's
 * `after` work. If that transaction fails (a lost race, a deadlock with another writer, a failing `after`),
 * nothing of it is stored and each of its changes runs again alone, so one bad change costs the others only time.
 */
export function createRowChangeBatcher(write: Writer['write'], options: RowChangeBatcherOptions) {
  const tables = new Map<RowStore<unknown>, Table>();
  const rememberedRows = options.rememberedRows ?? 10_000;
  let running = 0;
  let scheduled = false;
  /** Changes arrived so far: the clock of {@link Read}. */
  let arrivals = 0;

  function dispatch() {
    scheduled = false;
    for (const [rows, table] of tables) {
      if (table.toFetch.size > 0) prefetch(options.direct!, rows.optimistic!, table);
      while (running < options.inFlight && table.queue.length > 0) {
        const batch: PendingChange[] = [];
        const waiting: PendingChange[] = [];
        for (const pending of table.queue) {
          if (batch.length < options.maxBatch && !table.busy.has(pending.change.key)) batch.push(pending);
          else waiting.push(pending);
        }
        if (batch.length === 0) break;
        table.queue = waiting;
        for (const pending of batch) table.busy.add(pending.change.key);
        running++;
        void runBatch(rows, table, batch)
          // Each path answers every change itself; should one throw all the same, nobody is left waiting (a
          // promise already settled ignores this).
          .catch((error: unknown) => batch.forEach((pending) => pending.reject(error)))
          .finally(() => {
            for (const pending of batch) table.busy.delete(pending.change.key);
            running--;
            if ([...tables.values()].some((t) => t.queue.length > 0)) schedule();
          });
      }
    }
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    setImmediate(dispatch);
  }

  function remember(table: Table, key: string, known: Known) {
    const { remembered } = table;
    remembered.delete(key);
    remembered.set(key, known);
    if (remembered.size > rememberedRows) {
      // The least recently used tenth goes at once. A Map keeps deleted entries as holes until it is rebuilt, and
      // finding its first live entry walks over them: forgetting one row per insertion made that walk, over up to
      // the whole map, part of every write of a row not remembered.
      let excess = remembered.size - Math.floor(rememberedRows * 0.9);
      for (const oldest of remembered.keys()) {
        if (excess-- <= 0) break;
        remembered.delete(oldest);
      }
    }
  }

  /** One read of rows this writer does not remember, which remembers what it finds; see {@link Read}. */
  function read(db: Executor, optimistic: OptimisticRowStore<unknown>, table: Table, keys: readonly string[]): Read {
    const sent = arrivals;
    const rows = optimistic.peek(db, keys).then(
      (found) => {
        for (const key of keys) {
          if (table.fetching.get(key)?.rows === rows) table.fetching.delete(key);
          const row = found.get(key);
          // A row this writer wrote or read since is newer than this one.
          if (row !== undefined && !((table.remembered.get(key)?.seen ?? -1) > sent)) remember(table, key, { row, seen: sent, read: true });
        }
        return found;
      },
      () => {
        for (const key of keys) if (table.fetching.get(key)?.rows === rows) table.fetching.delete(key);
        return undefined;
      },
    );
    return { rows, sent };
  }

  /** Reads the rows of `toFetch` now, while their changes wait for a batch. */
  function prefetch(db: Executor, optimistic: OptimisticRowStore<unknown>, table: Table) {
    const keys = [...table.toFetch];
    table.toFetch.clear();
    const started = read(db, optimistic, table, keys);
    for (const key of keys) table.fetching.set(key, started);
  }

  function runBatch(rows: RowStore<unknown>, table: Table, batch: PendingChange[]): Promise<void> {
    if (options.direct && rows.optimistic) return runOptimistic(options.direct, rows, rows.optimistic, table, batch);
    return runLocked(rows, batch);
  }

  async function runOptimistic(db: Executor, rows: RowStore<unknown>, optimistic: OptimisticRowStore<unknown>, table: Table, batch: PendingChange[]): Promise<void> {
    const byKey = new Map<string, PendingChange[]>();
    for (const pending of batch) {
      const group = byKey.get(pending.change.key);
      if (group) group.push(pending);
      else byKey.set(pending.change.key, [pending]);
    }
    const keys = [...byKey.keys()].sort();
    const current = new Map<string, unknown>();
    // Rows read after every change of theirs in this batch arrived: a change that fails on one is answered with its error.
    const fresh = new Set<string>();
    const lastArrival = (key: string) => byKey.get(key)!.at(-1)!.arrived;
    const unknown: string[] = [];
    const reads = new Map<Read, string[]>();
    for (const key of keys) {
      const known = table.remembered.get(key);
      if (known !== undefined) {
        current.set(key, known.row);
        if (known.read && known.seen >= lastArrival(key)) fresh.add(key);
        continue;
      }
      const fetching = table.fetching.get(key);
      if (!fetching) unknown.push(key);
      else if (reads.has(fetching)) reads.get(fetching)!.push(key);
      else reads.set(fetching, [key]);
    }
    if (unknown.length > 0) reads.set(read(db, optimistic, table, unknown), unknown);
    const done = await Promise.all([...reads].map(async ([{ rows: found, sent }, readKeys]) => ({ found: await found, sent, readKeys })));
    for (const { found: rowsFound, sent, readKeys } of done) {
      if (rowsFound === undefined) return runLocked(rows, batch, table);
      for (const key of readKeys) {
        const row = rowsFound.get(key);
        if (row !== undefined) current.set(key, row);
        if (sent >= lastArrival(key)) fresh.add(key);
      }
    }
    const locked: PendingChange[] = [];
    const writes: RowWrite<unknown>[] = [];
    const events: { event: NewAuditEvent; row: number }[] = [];
    const waiting: { key: string; group: PendingChange[]; outcomes: Settled[]; row: number }[] = [];
    for (const key of keys) {
      const group = byKey.get(key)!;
      const loaded = current.get(key);
      let row = loaded;
      const outcomes: Settled[] = [];
      const audits: NewAuditEvent[] = [];
      let needsTransaction = false;
      for (const { change } of group) {
        try {
          const outcome = checkedOutcome(change, row);
          if (outcome.after) needsTransaction = true;
          if (outcome.next !== undefined) row = outcome.next;
          if (outcome.audit) audits.push(outcome.audit);
          outcomes.push({ ok: true, value: outcome.result });
        } catch (error) {
          outcomes.push({ ok: false, error });
        }
      }
      if (needsTransaction || (row === loaded && (audits.length > 0 || !fresh.has(key)))) {
        locked.push(...group);
      } else if (row === loaded) {
        // Nothing to write: each answer comes from the committed state read above.
        group.forEach((pending, i) => settle(pending, outcomes[i]!));
      } else {
        const index = writes.length;
        writes.push({ row, stored: loaded });
        for (const event of audits) events.push({ event, row: index });
        waiting.push({ key, group, outcomes, row: index });
      }
    }
    if (writes.length > 0) {
      const sent = arrivals;
      let written: Set<number>;
      try {
        written = await optimistic.storeAudited(db, writes, events);
      } catch {
        // One statement: none of it was stored.
        written = new Set();
      }
      for (const { key, group, outcomes, row } of waiting) {
        if (written.has(row)) {
          remember(table, key, { row: writes[row]!.row, seen: sent, read: false });
          group.forEach((pending, i) => settle(pending, outcomes[i]!));
        } else {
          locked.push(...group);
        }
      }
    }
    if (locked.length > 0) await runLocked(rows, locked, table);
  }

  /** The locking path; the rows it changes are no longer known as they were (`table`: forget them). */
  async function runLocked(rows: RowStore<unknown>, batch: PendingChange[], table?: Table): Promise<void> {
    if (table) for (const pending of batch) table.remembered.delete(pending.change.key);
    if (batch.length === 1) {
      const [only] = batch;
      return write((tx) => changeOne(tx, rows, only!.change)).then(only!.resolve, only!.reject);
    }
    let settled: (Settled & { after?: (tx: Tx) => Promise<unknown> })[];
    try {
      settled = await write(async (tx) => {
        const keys = [...new Set(batch.map((p) => p.change.key))].sort();
        const current = await rows.load(tx, keys);
        const loaded = new Map(current);
        const changed = new Map<string, unknown>();
        const audits: NewAuditEvent[] = [];
        const outcomes = batch.map(({ change }): Settled & { after?: (tx: Tx) => Promise<unknown> } => {
          try {
            const outcome = checkedOutcome(change, current.get(change.key));
            if (outcome.next !== undefined) {
              current.set(change.key, outcome.next);
              changed.set(change.key, outcome.next);
            }
            if (outcome.audit) audits.push(outcome.audit);
            return { ok: true, value: outcome.result, after: outcome.after };
          } catch (error) {
            return { ok: false, error };
          }
        });
        if (changed.size > 0) {
          const written = await rows.store(tx, [...changed].map(([key, row]) => ({ row, stored: loaded.get(key)! })));
          if (written !== changed.size) throw new StaleWrite();
        }
        if (audits.length > 0) await insertAuditEventBatch(tx, audits);
        for (const outcome of outcomes) {
          if (outcome.ok && outcome.after) outcome.value = await outcome.after(tx);
        }
        return outcomes;
      });
    } catch {
      // Nothing of the batch was stored: each change on its own, with its own outcome.
      await Promise.all(batch.map((p) => write((tx) => changeOne(tx, rows, p.change)).then(p.resolve, p.reject)));
      return;
    }
    batch.forEach((pending, i) => settle(pending, settled[i]!));
  }

  return function change<Row, T>(rows: RowStore<Row>, change: RowChange<Row, T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const key = rows as RowStore<unknown>;
      let table = tables.get(key);
      if (!table) tables.set(key, (table = { queue: [], busy: new Set(), remembered: new Map(), toFetch: new Set(), fetching: new Map() }));
      const rowKey = change.key;
      if (options.direct && rows.optimistic && !table.remembered.has(rowKey) && !table.busy.has(rowKey) && !table.fetching.has(rowKey)) table.toFetch.add(rowKey);
      table.queue.push({ change: change as RowChange<unknown, unknown>, arrived: ++arrivals, resolve: resolve as (value: unknown) => void, reject });
      schedule();
    });
  };
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
export function createGroupCommitWriter(db: Db, maxBatch: number): Pick<Writer, 'write'> {
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
 * PostgreSQL gave up on the transaction to let others go on: it broke a deadlock (40P01) or could not serialise
 * it (40001). Nothing of it was committed, so running the unit of work again is safe.
 */
export function isTransientConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/** A unique index refused the row: the edges turn this into a 409. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown } | null;
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
