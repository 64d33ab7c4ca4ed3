import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryRateLimiter } from './memory-rate-limiter.js';
import type { RateLimiter } from './rate-limiter.js';
import { createRedisRateLimiter } from './redis-rate-limiter.js';
import { openTestRedis, type TestRedis } from '../../test/support/redis.js';

// Timers may fire a hair early against performance.now(); a caller told to wait must really have waited.
async function sleepAtLeast(ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) await sleep(Math.max(1, Math.ceil(end - performance.now())));
}

for (const backend of ['memory', 'redis'] as const) {
  describe(`${backend} rate limiter`, () => {
    let testRedis: TestRedis | undefined;
    let limiter: RateLimiter;

    before(async () => {
      if (backend === 'memory') {
        limiter = createMemoryRateLimiter();
        return;
      }
      testRedis = await openTestRedis();
      limiter = createRedisRateLimiter({ url: testRedis.url, prefix: testRedis.prefix });
    });

    after(async () => {
      await limiter?.close();
      await testRedis?.close();
    });

    it('admits exactly burst + 1 requests made at one instant on a fresh key', async () => {
      const key = randomUUID();
      const decisions = await Promise.all(
        Array.from({ length: 10 }, () => limiter.take(key, { perSecond: 10, burst: 5 })),
      );
      const allowed = decisions.filter((d) => d.allowed);
      assert.equal(allowed.length, 6);
      assert.deepEqual(allowed.map((d) => d.remaining).sort(), [0, 1, 2, 3, 4, 5]);
      for (const refused of decisions.filter((d) => !d.allowed)) assert.equal(refused.remaining, 0);
    });

    it('tells a refused caller to retry after about one interval, and admits it then', async () => {
      const key = randomUUID();
      const limit = { perSecond: 5, burst: 5 };
      const started = performance.now();
      await Promise.all(Array.from({ length: 6 }, () => limiter.take(key, limit)));
      const refused = await limiter.take(key, limit);
      const elapsed = performance.now() - started;
      assert.equal(refused.allowed, false);
      assert.equal(refused.remaining, 0);
      // The budget refills one 200 ms interval after the first unit was taken; some of that has passed.
      assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 200, `retryAfterMs was ${refused.retryAfterMs}`);
      assert.ok(refused.retryAfterMs >= 200 - elapsed, `retryAfterMs was ${refused.retryAfterMs} after ${elapsed} ms`);
      await sleepAtLeast(refused.retryAfterMs);
      assert.deepEqual(await limiter.take(key, limit), { allowed: true, retryAfterMs: 0, remaining: 0 });
    });

    it('admits at most perSecond × 2 + burst + 1 over two seconds of continuous calls', async () => {
      const key = randomUUID();
      const limit = { perSecond: 20, burst: 5 };
      const end = performance.now() + 2000;
      let admitted = 0;
      while (performance.now() < end) {
        if ((await limiter.take(key, limit)).allowed) admitted += 1;
        // Lets timers and I/O run even though the memory back end never waits.
        if (backend === 'memory') await new Promise(setImmediate);
      }
      assert.ok(admitted <= 20 * 2 + 5 + 1, `admitted ${admitted}`);
      assert.ok(admitted >= 0.8 * (20 * 2 + 5), `admitted only ${admitted}`);
    });

    it('keeps a separate budget for every key, however alike the keys look', async () => {
      const base = randomUUID();
      const limit = { perSecond: 1, burst: 1 };
      for (const key of [base, `${base}:`, `${base}*`, `${base} `]) {
        assert.ok((await limiter.take(key, limit)).allowed, key);
        assert.ok((await limiter.take(key, limit)).allowed, key);
        assert.equal((await limiter.take(key, limit)).allowed, false, key);
      }
    });

    it('refuses a limit without a positive rate or with a fractional or negative burst', async () => {
      const key = randomUUID();
      for (const limit of [
        { perSecond: 0, burst: 1 },
        { perSecond: Number.NaN, burst: 1 },
        { perSecond: 1, burst: 1.5 },
        { perSecond: 1, burst: -1 },
      ]) {
        await assert.rejects(limiter.take(key, limit), RangeError);
      }
    });
  });
}
