import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createRedisRateLimiter } from './redis-rate-limiter.js';
import { openTestRedis, type TestRedis } from '../../test/support/redis.js';

const HAMMER = fileURLToPath(new URL('../../test/support/hammer-rate-limiter.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Starts a hammer process and resolves once it is loaded and waiting for the go signal. */
async function startHammer(args: readonly string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', HAMMER, ...args], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`hammer process exited with ${code}: ${stderr}`);
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as { admitted: number; calls: number };
  });
  await Promise.race([
    new Promise<void>((resolve) =>
      child.stdout.on('data', () => {
        if (stdout.includes('ready\n')) resolve();
      }),
    ),
    exited.then(() => {
      throw new Error(`hammer process exited before it was ready: ${stderr}`);
    }),
  ]);
  return { go: () => child.stdin.end('go\n'), result: exited };
}

describe('redis rate limiter across processes and failures', () => {
  let testRedis: TestRedis;

  before(async () => {
    testRedis = await openTestRedis();
  });

  after(async () => {
    await testRedis?.close();
  });

  it('shares one budget between two processes hammering the same key', { timeout: 15_000 }, async () => {
    const args = [testRedis.url, testRedis.prefix, randomUUID(), '50', '10', '2000'];
    const hammers = await Promise.all([startHammer(args), startHammer(args)]);
    for (const hammer of hammers) hammer.go();
    const [first, second] = await Promise.all(hammers.map((h) => h.result));
    assert.ok(first && second);
    const total = first.admitted + second.admitted;
    // 50 × 2 + 10 + 1 at most in an exact 2 s window; the two windows start a few ms apart, hence + 2.
    assert.ok(total <= 50 * 2 + 10 + 1 + 2, `admitted ${first.admitted} + ${second.admitted}`);
    assert.ok(total >= 0.8 * (50 * 2 + 10), `admitted only ${first.admitted} + ${second.admitted}`);
    assert.ok(first.admitted > 0 && second.admitted > 0, `admitted ${first.admitted} + ${second.admitted}`);
  });

  it('stores each bucket under the prefix, hashed, with an expiry at its refill time', async () => {
    const prefix = `${testRedis.prefix}buckets:`;
    const limiter = createRedisRateLimiter({ url: testRedis.url, prefix });
    try {
      const key = `tenant:*:${randomUUID()}`;
      await limiter.take(key, { perSecond: 10, burst: 5 });
      await limiter.take(key, { perSecond: 10, burst: 5 });
      const stored = await testRedis.redis.keys(`${prefix}*`);
      assert.equal(stored.length, 1);
      const [bucket] = stored;
      assert.ok(bucket !== undefined && !bucket.includes(key), 'the client-chosen key never appears in Redis');
      // Two units at 100 ms each: the bucket is back to full, and gone, 200 ms from now.
      const ttl = await testRedis.redis.pttl(bucket);
      assert.ok(ttl > 100 && ttl <= 200, `PTTL ${ttl}`);
    } finally {
      await limiter.close();
    }
  });

  it('keeps working after Redis forgets its scripts', async () => {
    const limiter = createRedisRateLimiter({ url: testRedis.url, prefix: testRedis.prefix });
    try {
      const key = randomUUID();
      assert.ok((await limiter.take(key, { perSecond: 1, burst: 1 })).allowed);
      await testRedis.redis.script('FLUSH');
      assert.ok((await limiter.take(key, { perSecond: 1, burst: 1 })).allowed);
      assert.equal((await limiter.take(key, { perSecond: 1, burst: 1 })).allowed, false);
    } finally {
      await limiter.close();
    }
  });

  it('rejects within two seconds, naming Redis and the address, when Redis is unreachable', async () => {
    const limiter = createRedisRateLimiter({ url: 'redis://127.0.0.1:1' });
    try {
      const started = performance.now();
      await assert.rejects(limiter.take('k', { perSecond: 1, burst: 0 }), /Redis at redis:\/\/127\.0\.0\.1:1\b/);
      assert.ok(performance.now() - started < 2000, `took ${performance.now() - started} ms`);
    } finally {
      await limiter.close();
    }
  });

  it('leaves the password out of the URL it names in errors', async () => {
    const limiter = createRedisRateLimiter({ url: 'redis://:hunter2@127.0.0.1:1' });
    try {
      await assert.rejects(limiter.take('k', { perSecond: 1, burst: 0 }), (error: Error) => {
        assert.match(error.message, /127\.0\.0\.1:1\b/);
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      });
    } finally {
      await limiter.close();
    }
  });
});
