import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryRateLimiter } from './memory-rate-limiter.js';

function createClock() {
  let ms = 0;
  return {
    now: () => ms,
    advance: (by: number) => {
      ms += by;
    },
  };
}

describe('memory rate limiter with an injected clock', () => {
  it('admits burst + 1 at once, then one unit per interval, each refusal saying exactly how long to wait', async () => {
    const clock = createClock();
    const limiter = createMemoryRateLimiter({ now: clock.now });
    const limit = { perSecond: 10, burst: 5 };
    for (const remaining of [5, 4, 3, 2, 1, 0]) {
      assert.deepEqual(await limiter.take('k', limit), { allowed: true, retryAfterMs: 0, remaining });
    }
    assert.deepEqual(await limiter.take('k', limit), { allowed: false, retryAfterMs: 100, remaining: 0 });
    clock.advance(40);
    assert.deepEqual(await limiter.take('k', limit), { allowed: false, retryAfterMs: 60, remaining: 0 });
    clock.advance(60);
    assert.deepEqual(await limiter.take('k', limit), { allowed: true, retryAfterMs: 0, remaining: 0 });
    clock.advance(250);
    assert.deepEqual(await limiter.take('k', limit), { allowed: true, retryAfterMs: 0, remaining: 1 });
  });

  it('refills an idle key to its full burst and no further', async () => {
    const clock = createClock();
    const limiter = createMemoryRateLimiter({ now: clock.now });
    const limit = { perSecond: 10, burst: 5 };
    for (let i = 0; i < 6; i += 1) await limiter.take('k', limit);
    clock.advance(60_000);
    const decisions = await Promise.all(Array.from({ length: 8 }, () => limiter.take('k', limit)));
    assert.equal(decisions.filter((d) => d.allowed).length, 6);
  });

  it('never admits more than the rate allows for a fractional rate, stepping a millisecond at a time', async () => {
    const clock = createClock();
    const limiter = createMemoryRateLimiter({ now: clock.now });
    const limit = { perSecond: 3, burst: 0 };
    let admitted = 0;
    for (let ms = 0; ms < 10_000; ms += 1) {
      if ((await limiter.take('k', limit)).allowed) admitted += 1;
      clock.advance(1);
    }
    // One at time 0, then one per 333.334 ms: 30 within 10 s.
    assert.equal(admitted, 30);
    const refused = await limiter.take('k', limit);
    assert.equal(refused.allowed, false);
    assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 334);
  });

  it('forgets the least recently used key once more than maxKeys are in use', async () => {
    const limiter = createMemoryRateLimiter({ now: createClock().now, maxKeys: 2 });
    const limit = { perSecond: 1, burst: 0 };
    assert.ok((await limiter.take('a', limit)).allowed);
    assert.ok((await limiter.take('b', limit)).allowed);
    // A refused take still counts as use, so "b" is now the least recently used key.
    assert.equal((await limiter.take('a', limit)).allowed, false);
    assert.ok((await limiter.take('c', limit)).allowed);
    assert.equal((await limiter.take('a', limit)).allowed, false, 'a was used recently and is remembered');
    assert.ok((await limiter.take('b', limit)).allowed, 'b was forgotten, so it starts with a full budget');
  });

  it('refuses a maxKeys that is not a positive integer', () => {
    assert.throws(() => createMemoryRateLimiter({ maxKeys: 0 }), RangeError);
  });
});
