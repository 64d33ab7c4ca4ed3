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
