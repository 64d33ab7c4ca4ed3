import { DomainError } from '../domain/errors.js';

/**
 * A sustained rate plus a burst allowance for one key.
 *
 * A fresh (or long idle) key admits `burst + 1` units at one instant: the one unit the rate always allows
 * plus `burst` extra. After that it admits one unit every `1000 / perSecond` ms, so any window of `w` ms
 * admits at most `burst + 1 + floor(w * perSecond / 1000)` units. `{ perSecond: 10, burst: 0 }` is a
 * strict 10 per second with no bunching.
 */
export interface RateLimit {
  /** Sustained units per second; must be a positive finite number (fractions allowed). */
  readonly perSecond: number;
  /** Extra units that may be spent at once on top of the one the rate allows; a non-negative integer. */
  readonly burst: number;
}

/** The outcome of one `take`. */
export interface Decision {
  readonly allowed: boolean;
  /** 0 when allowed; otherwise the milliseconds (rounded up) until the next unit will be admitted. */
  readonly retryAfterMs: number;
  /** How many more units would be admitted right now, after this one. */
  readonly remaining: number;
}

/** Rate limiting by key with GCRA; see `createMemoryRateLimiter` and `createRedisRateLimiter`. */
export interface RateLimiter {
  /**
   * Takes one unit for `key` under `limit`. `budget` names the kind of budget for the metrics (`read`,
   * `write`, `gateway`, `bailian`); the limiters themselves go by the key alone.
   */
  take(key: string, limit: RateLimit, budget?: string): Promise<Decision>;
  close(): Promise<void>;
}

/**
 * Takes one unit like {@link RateLimiter.take}; a limiter that cannot answer (Redis down) refuses the request
 * with 503, logged, rather than let it through unmetered. What every edge spends its budgets through.
 */
export async function takeOrRefuse(
  limiter: RateLimiter,
  key: string,
  limit: RateLimit,
  budget: string,
  log: { error(details: object, message: string): void },
): Promise<Decision> {
  try {
    return await limiter.take(key, limit, budget);
  } catch (error) {
    log.error({ err: error }, 'rate limiter unavailable');
    throw new DomainError('service-unavailable', 'The rate limiter is unavailable; retry shortly.');
  }
}
