import type { NewAuditEvent } from '../domain/audit.js';
import type { Executor } from './engine.js';
import { answer, type PendingChange, type Settled } from './pending-change.js';
import { checkedOutcome, type OptimisticRowStore, type RowStore, type RowWrite } from './row-change.js';

/**
 * What the optimistic path knows of one table: its store, the rows last read or written, and the reads of rows not
 * remembered: asked for as soon as a change of them arrives (`toFetch`, sent with the batcher's next dispatch), so
 * that the read runs while the change waits for a batch. A read settles to undefined when it failed.
 */
export interface OptimisticTable {
  readonly store: OptimisticRowStore<unknown>;
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

export interface OptimisticRowChangesOptions {
  /** Where the autocommit statements run: a read of the rows not remembered, then the conditional write with its audit rows. */
  readonly direct: Executor;
  /** How many rows per table are remembered, at most, from the last reads and writes. */
  readonly rememberedRows: number;
  /** How many changes have arrived at the batcher so far: the clock of {@link Read}. */
  arrivals(): number;
  /** The locking path, for the changes this path cannot answer. */
  runLocked(rows: RowStore<unknown>, batch: PendingChange[]): Promise<void>;
}

/**
 * The optimistic path of PostgreSQL row-change batches: each row as this writer last read or wrote it, the others
 * read in one statement without a lock (sent when their first change arrives), the changes applied in arrival order
 * in memory, then ONE autocommit statement that writes each row only if its revision (and creation) has not moved,
 * with the audit rows of exactly the rows it wrote. A change that fails on a row read after it arrived is answered
 * with its error; everything else (a write that did not land, a remembered row that wrote nothing, a change that
 * needs a transaction) goes to the locking path. docs/architecture.md ("The write path") says why.
 */
export function createOptimisticRowChanges(options: OptimisticRowChangesOptions) {
  function remember(table: OptimisticTable, key: string, known: Known) {
    const { remembered } = table;
    remembered.delete(key);
    remembered.set(key, known);
    if (remembered.size > options.rememberedRows) {
      // The least recently used tenth goes at once. A Map keeps deleted entries as holes until it is rebuilt, and
      // finding its first live entry walks over them: forgetting one row per insertion made that walk, over up to
      // the whole map, part of every write of a row not remembered.
      let excess = remembered.size - Math.floor(options.rememberedRows * 0.9);
      for (const oldest of remembered.keys()) {
        if (excess-- <= 0) break;
        remembered.delete(oldest);
      }
    }
  }

  /** One read of rows this writer does not remember, which remembers what it finds; see {@link Read}. */
  function read(table: OptimisticTable, keys: readonly string[]): Read {
    const sent = options.arrivals();
    const rows = table.store.peek(options.direct, keys).then(
      (found) => {
        for (const key of keys) {
          if (table.fetching.get(key)?.rows === rows) table.fetching.delete(key);
          const row = found.get(key);
          // A row this writer wrote or read since is newer than this one.
          if (row !== undefined && !((table.remembered.get(key)?.seen ?? -1) > sent))
            remember(table, key, { row, seen: sent, read: true });
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
  function prefetch(table: OptimisticTable) {
    if (table.toFetch.size === 0) return;
    const keys = [...table.toFetch];
    table.toFetch.clear();
    const started = read(table, keys);
    for (const key of keys) table.fetching.set(key, started);
  }

  /** The changes of `batch` under lock: their rows are no longer known as they were. */
  function locked(rows: RowStore<unknown>, table: OptimisticTable, batch: PendingChange[]): Promise<void> {
    for (const pending of batch) table.remembered.delete(pending.change.key);
    return options.runLocked(rows, batch);
  }

  async function run(rows: RowStore<unknown>, table: OptimisticTable, batch: PendingChange[]): Promise<void> {
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
    if (unknown.length > 0) reads.set(read(table, unknown), unknown);
    const done = await Promise.all(
      [...reads].map(async ([{ rows: found, sent }, readKeys]) => ({ found: await found, sent, readKeys })),
    );
    for (const { found: rowsFound, sent, readKeys } of done) {
      if (rowsFound === undefined) return locked(rows, table, batch);
      for (const key of readKeys) {
        const row = rowsFound.get(key);
        if (row !== undefined) current.set(key, row);
        if (sent >= lastArrival(key)) fresh.add(key);
      }
    }
    const toLock: PendingChange[] = [];
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
        toLock.push(...group);
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
      const sent = options.arrivals();
      let written: Set<number>;
      try {
        written = await table.store.storeAudited(options.direct, writes, events);
      } catch {
        // One statement: none of it was stored.
        written = new Set();
      }
      for (const { key, group, outcomes, row } of waiting) {
        if (written.has(row)) {
          remember(table, key, { row: writes[row]!.row, seen: sent, read: false });
          group.forEach((pending, i) => answer(pending, outcomes[i]!));
        } else {
          toLock.push(...group);
        }
      }
    }
    if (toLock.length > 0) await locked(rows, table, toLock);
  }

  return {
    /** The state of a table with an optimistic store, empty. */
    table: (store: OptimisticRowStore<unknown>): OptimisticTable => ({
      store,
      remembered: new Map(),
      toFetch: new Set(),
      fetching: new Map(),
    }),
    /** A change of `key` arrived: its row is read with the next dispatch unless it is known, being read, or in a running batch. */
    arrived(table: OptimisticTable, key: string, inRunningBatch: boolean) {
      if (!table.remembered.has(key) && !inRunningBatch && !table.fetching.has(key)) table.toFetch.add(key);
    },
    prefetch,
    run,
    /**
     * A row this node committed outside a row change (a create): known from now on as a row this writer wrote, so
     * the next change of it starts from it instead of reading it, and still writes only over that very version.
     */
    committed(table: OptimisticTable, key: string, row: unknown) {
      remember(table, key, { row, seen: options.arrivals(), read: false });
    },
  };
}
