import type { NewAuditEvent } from '../domain/audit.js';
import { insertAuditEventBatch } from './audit-repo.js';
import type { Executor, Tx } from './engine.js';
import { changeOne, checkedOutcome, type OptimisticRowStore, type RowChange, type RowStore, type RowWrite } from './row-change.js';
import { StaleWrite } from './write-conflicts.js';

interface PendingChange {
  readonly change: RowChange<unknown, unknown>;
  /** When it arrived, on the batcher's own count of arrivals (see {@link Read}). */
  readonly arrived: number;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Resolves or rejects a change's caller with its outcome. */
function answer(pending: PendingChange, outcome: Settled) {
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
 * parse, plan and WAL work. Changes that arrive together (per table) form a batch; a row in a running batch waits
 * for the next one, and up to `inFlight` batches run at once. A batch first tries the optimistic path (rows as last
 * read or written, ONE autocommit statement that writes only rows whose revision has not moved, with their audit
 * rows); what it cannot settle takes the locking path (one transaction, rows locked in key order), and a failed
 * locking transaction runs each of its changes again alone. No caller hears back before its change is committed.
 * The whole path, and why, is in docs/architecture.md ("The write path").
 */
export function createRowChangeBatcher(write: <T>(work: (tx: Tx) => Promise<T>) => Promise<T>, options: RowChangeBatcherOptions) {
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
        group.forEach((pending, i) => answer(pending, outcomes[i]!));
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
          group.forEach((pending, i) => answer(pending, outcomes[i]!));
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
    batch.forEach((pending, i) => answer(pending, settled[i]!));
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
