import { can, type Action, type Principal } from '../domain/permissions.js';
import { conflict, forbidden, notFound } from '../domain/errors.js';
import type { Writer } from '../storage/writer.js';
import { StaleWrite, isTransientConflict, isUniqueViolation } from '../storage/write-conflicts.js';
import type { Tx } from '../storage/engine.js';

/** The credential a request was authenticated with, for the few uses that depend on it (issuing tokens). */
export interface CallerCredential {
  readonly kind: 'api-key' | 'token' | 'session';
  readonly id: string;
  readonly defaultWorkspaceId: string | null;
}

/** Who is asking, as every service call receives it. Services never see a request object. */
export interface Actor {
  readonly principal: Principal;
  readonly requestId: string;
  /** Unset for callers that are not requests (the CLI, bootstrap). */
  readonly credential?: CallerCredential;
  /**
   * The origin (`http://host:port`) the caller addressed, from its Host header: only for URLs sent back to this
   * caller, never stored. Unset for callers that are not requests, or whose Host is no host name.
   */
  readonly requestOrigin?: string;
}

/** A principal as a credential proved it. */
export interface Authenticated {
  readonly principal: Principal;
  readonly credential: CallerCredential;
}

export interface Clock {
  now(): string;
}

export const systemClock: Clock = { now: () => new Date().toISOString() };

/**
 * Checks an action against the caller's role. A caller outside the workspace is told it does not exist,
 * so that workspace ids cannot be probed.
 */
export function authorize(actor: Actor, action: Action, workspaceId: string): void {
  const decision = can(actor.principal, action, workspaceId);
  if (decision === 'not-member') throw notFound(`Workspace "${workspaceId}"`);
  if (decision === 'forbidden') throw forbidden(`Your role in workspace "${workspaceId}" does not allow ${action}.`);
}

export { StaleWrite };

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
