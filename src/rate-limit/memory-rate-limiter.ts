import { performance } from 'node:perf_hooks';
import { gcra, gcraTiming } from './gcra.js';
import type { Decision, RateLimit, RateLimiter } from './rate-limiter.js';

const DEFAULT_MAX_KEYS = 100_000;

/**
 * A rate limiter for one process. With several nodes each would hand out its own budget, so multi-node
 * deployments use `createRedisRateLimiter` instead.
 *
 * @param options.now milliseconds on any monotonic scale; defaults to `performance.now()` so that a
 *   wall-clock step cannot refill or drain every bucket at once.
 * @param options.maxKeys how many keys to remember (default 100,000) before forgetting the least
 *   recently used one.
 */
export function createMemoryRateLimiter(options: { now?: () => number; maxKeys?: number } = {}): RateLimiter {
  const now = options.now ?? (() => performance.now());
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
    throw new RangeError(`maxKeys must be a positive integer, got ${maxKeys}.`);
  }
  // Theoretical arrival time per key, in microseconds. A Map iterates in insertion order, and every take
  // re-inserts its key, so the first entry is always the least recently used one.
  const tats = new Map<string, number>();

  async function take(key: string, limit: RateLimit): Promise<Decision> {
    const timing = gcraTiming(limit);
    const nowUs = Math.round(now() * 1000);
    const { decision, tatUs } = gcra(tats.get(key), nowUs, timing);
    tats.delete(key);
    tats.set(key, tatUs);
    // Evicting a key whose TAT is still ahead resets that key's budget, but only after maxKeys other
    // keys were used since; bounding memory against a flood of distinct keys matters more.
    if (tats.size > maxKeys) {
      const oldest = tats.keys().next();
      if (!oldest.done) tats.delete(oldest.value);
    }
    return decision;
  }

  async function close(): Promise<void> {
    tats.clear();
  }

  return { take, close };
}
