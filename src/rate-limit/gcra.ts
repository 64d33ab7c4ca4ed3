import type { Decision, RateLimit } from './rate-limiter.js';

/** A limit in the integer microseconds GCRA counts in, so both back ends do exact integer arithmetic. */
export interface GcraTiming {
  /** Time one unit costs: 1 / perSecond. */
  readonly intervalUs: number;
  /** How far ahead of now the theoretical arrival time may run: burst × interval. */
  readonly toleranceUs: number;
}

/** Checks a limit and converts it to GCRA timing; a bad limit is the caller's bug, so it throws. */
export function gcraTiming(limit: RateLimit): GcraTiming {
  if (!Number.isFinite(limit.perSecond) || limit.perSecond <= 0) {
    throw new RangeError(`A rate limit needs a positive perSecond, got ${limit.perSecond}.`);
  }
  if (!Number.isSafeInteger(limit.burst) || limit.burst < 0) {
    throw new RangeError(`A rate limit needs a non-negative integer burst, got ${limit.burst}.`);
  }
  // Rounding up makes the admitted rate at most perSecond, never a hair above it.
  const intervalUs = Math.ceil(1_000_000 / limit.perSecond);
  return { intervalUs, toleranceUs: limit.burst * intervalUs };
}

/**
 * One GCRA step: given the stored theoretical arrival time (TAT) of a key, decides and returns the TAT to
 * store. A unit is admitted when the TAT is at most `tolerance` ahead of now; admitting pushes it one
 * interval further. The Lua script in redis-rate-limiter.ts is this same function; keep them in step.
 */
export function gcra(
  storedTatUs: number | undefined,
  nowUs: number,
  timing: GcraTiming,
): { readonly decision: Decision; readonly tatUs: number } {
  const { intervalUs, toleranceUs } = timing;
  const tatUs = Math.max(storedTatUs ?? nowUs, nowUs);
  if (tatUs - nowUs > toleranceUs) {
    return {
      decision: { allowed: false, retryAfterMs: Math.ceil((tatUs - toleranceUs - nowUs) / 1000), remaining: 0 },
      tatUs,
    };
  }
  const nextTatUs = tatUs + intervalUs;
  const remaining = Math.floor((toleranceUs + intervalUs - (nextTatUs - nowUs)) / intervalUs);
  return { decision: { allowed: true, retryAfterMs: 0, remaining }, tatUs: nextTatUs };
}
