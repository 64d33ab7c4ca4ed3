import type { RowChange } from './row-change.js';

/** A row change waiting in a batch for its answer. */
export interface PendingChange {
  readonly change: RowChange<unknown, unknown>;
  /** When it arrived, on the batcher's own count of arrivals (the optimistic path's clock). */
  readonly arrived: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** A change's outcome, as `Promise.allSettled` would report it. */
export type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Resolves or rejects a change's caller with its outcome. */
export function answer(pending: PendingChange, outcome: Settled) {
  if (outcome.ok) pending.resolve(outcome.value);
  else pending.reject(outcome.error);
}
