import { conflict } from '../domain/errors.js';
import type { Writer } from '../storage/writer.js';
import { StaleWrite, isTransientConflict, isUniqueViolation } from '../storage/write-conflicts.js';
import type { Tx } from '../storage/engine.js';

const MAX_ATTEMPTS = 12;

/** A random pause that grows with each attempt, so that writers who collided do not collide again in step. */
const backoff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 100)));

/**
 * Runs a unit of work that reads, decides and writes conditionally on the revision it read. When another
 * writer got there first the unit runs again on fresh data, so a concurrent update is never lost; a caller
 * who sent If-Match then sees the new revision and gets 412 from the re-check.
 */
export async function writeWithRetry<T>(
  writer: Writer,
  work: (tx: Tx) => Promise<T>,
  onDuplicate?: () => Error,
): Promise<T> {
  return withRetry(() => writer.write(work), onDuplicate);
}

/**
 * Runs `attempt` again while it fails with {@link StaleWrite}, or because PostgreSQL chose it as the victim of a
 * deadlock or a serialisation failure (see writeWithRetry): each time nothing of it was committed.
 */
export async function withRetry<T>(run: () => Promise<T>, onDuplicate?: () => Error): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const retryable = error instanceof StaleWrite || isTransientConflict(error);
      if (retryable && attempt < MAX_ATTEMPTS) {
        await backoff(attempt);
        continue;
      }
      if (retryable) throw conflict('The resource is being changed by others right now; retry the request.');
      if (onDuplicate && isUniqueViolation(error)) throw onDuplicate();
      throw error;
    }
  }
}
