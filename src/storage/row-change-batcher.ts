import type { NewAuditEvent } from '../domain/audit.js';
import { insertAuditEventBatch } from './audit-repo.js';
import type { Executor, Tx } from './engine.js';
import { createOptimisticRowChanges, type OptimisticTable } from './optimistic-row-changes.js';
import { answer, type PendingChange, type Settled } from './pending-change.js';
import { changeOne, checkedOutcome, type RowChange, type RowStore } from './row-change.js';
import { StaleWrite } from './write-conflicts.js';

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

/** A table's changes waiting for a batch, the keys of the batches running, and what the optimistic path knows of it. */
interface Table {
  queue: PendingChange[];
  readonly busy: Set<string>;
  readonly optimistic: OptimisticTable | undefined;
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
export function createRowChangeBatcher(
  write: <T>(work: (tx: Tx) => Promise<T>) => Promise<T>,
  options: RowChangeBatcherOptions,
) {
  const tables = new Map<RowStore<unknown>, Table>();
  let running = 0;
  let scheduled = false;
  /** Changes arrived so far: the optimistic path's clock. */
  let arrivals = 0;
  const optimisticPath = options.direct
    ? createOptimisticRowChanges({
        direct: options.direct,
        rememberedRows: options.rememberedRows ?? 10_000,
        arrivals: () => arrivals,
        runLocked,
      })
    : undefined;

  function dispatch() {
    scheduled = false;
    for (const [rows, table] of tables) {
      if (table.optimistic) optimisticPath!.prefetch(table.optimistic);
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

  function runBatch(rows: RowStore<unknown>, table: Table, batch: PendingChange[]): Promise<void> {
    if (table.optimistic) return optimisticPath!.run(rows, table.optimistic, batch);
    return runLocked(rows, batch);
  }

  /** The locking path: one transaction for the batch, or each change alone if it fails. */
  async function runLocked(rows: RowStore<unknown>, batch: PendingChange[]): Promise<void> {
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
          const written = await rows.store(
            tx,
            [...changed].map(([key, row]) => ({ row, stored: loaded.get(key)! })),
          );
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

  function tableOf(rows: RowStore<unknown>): Table {
    let table = tables.get(rows);
    if (!table)
      tables.set(
        rows,
        (table = {
          queue: [],
          busy: new Set(),
          optimistic: optimisticPath && rows.optimistic ? optimisticPath.table(rows.optimistic) : undefined,
        }),
      );
    return table;
  }

  /**
   * A row this node just committed outside a row change (a create), with its version: the optimistic path starts
   * the row's next change from it instead of reading it first. Not while a change of the row waits or runs: what
   * that change leaves is newer.
   */
  function remember<Row>(rows: RowStore<Row>, key: string, row: Row): void {
    const table = tableOf(rows);
    if (!table.optimistic || table.busy.has(key) || table.queue.some((pending) => pending.change.key === key)) return;
    optimisticPath!.committed(table.optimistic, key, row);
  }

  function change<Row, T>(rows: RowStore<Row>, change: RowChange<Row, T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const table = tableOf(rows);
      if (table.optimistic) optimisticPath!.arrived(table.optimistic, change.key, table.busy.has(change.key));
      table.queue.push({
        change: change,
        arrived: ++arrivals,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      schedule();
    });
  }

  return Object.assign(change, { remember });
}
