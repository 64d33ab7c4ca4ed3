import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytesFromPool } from './random-bytes.js';

describe('randomBytesFromPool', () => {
  it('hands out each draw once, of the size asked, across refills of the pool', () => {
    const seen = new Set<string>();
    const counts = new Array<number>(256).fill(0);
    // 20,000 draws of 12 bytes: about sixty refills of the 4 KiB pool.
    for (let i = 0; i < 20_000; i++) {
      const bytes = randomBytesFromPool(12);
      assert.equal(bytes.length, 12);
      seen.add(bytes.toString('hex'));
      for (const byte of bytes) counts[byte]!++;
    }
    assert.equal(seen.size, 20_000, 'no draw repeats another');
    // 240,000 bytes over 256 values: about 937 each; a pool handed out twice, or zeros, would show here.
    assert.ok(
      Math.min(...counts) > 700 && Math.max(...counts) < 1200,
      `byte counts ${Math.min(...counts)}…${Math.max(...counts)}`,
    );
  });

  it('answers a draw larger than a quarter of the pool from the generator directly, and a draw kept is not changed later', () => {
    const large = randomBytesFromPool(4096);
    assert.equal(large.length, 4096);
    const kept = randomBytesFromPool(32);
    const copy = Buffer.from(kept);
    for (let i = 0; i < 1000; i++) randomBytesFromPool(32);
    assert.deepEqual(kept, copy);
  });
});
