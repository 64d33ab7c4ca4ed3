import { sql } from 'kysely';
import type { Db } from './database.js';
import type { Tx } from './engine.js';

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

interface Queued {
  readonly work: (tx: Tx) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Group commit on SQLite: units of work that arrive together share one transaction and one sync (at most
 * `maxBatch`), each in its own savepoint, so one that throws is rolled back alone; no caller hears back before
 * the commit returned, and if the commit fails every caller gets its error. A unit must use only the transaction
 * it is given: the batch waits for each in turn.
 * The whole path is in docs/architecture.md ("The write path").
 */
export function createGroupCommitWriter(
  db: Db,
  maxBatch: number,
): { readonly write: <T>(work: (tx: Tx) => Promise<T>) => Promise<T> } {
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
    write: <T>(work: (tx: Tx) => Promise<T>): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        queue.push({ work, resolve: resolve, reject });
        schedule();
      }),
  };
}
