import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createJsonSizer } from './json-size.js';

describe('createJsonSizer', () => {
  it('counts the UTF-8 bytes JSON.stringify writes, for every kind of value', () => {
    const shared = { type: 'string', enum: ['a', 'ü', 'quote"d', '\n'] };
    for (const value of [
      null,
      true,
      false,
      0,
      -1.5e-7,
      Number.NaN,
      'plain',
      'naïve — ✓',
      [],
      {},
      [1, undefined, null, 'x'],
      { a: undefined, b: 1 },
      { nested: { deeper: [shared, shared, { $ref: '#/$defs/X' }] }, again: shared },
    ]) {
      assert.equal(createJsonSizer()(value), Buffer.byteLength(JSON.stringify(value)), JSON.stringify(value));
    }
  });

  it('measures a shared part once, however often it is used', () => {
    const big = {
      properties: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`p${i}`, { type: 'string' }])),
    };
    const sizeOf = createJsonSizer();
    const one = sizeOf(big);
    const started = performance.now();
    const many = sizeOf({ items: Array.from({ length: 10_000 }, () => big) });
    assert.equal(many, 2 + '"items":'.length + 2 + 10_000 * one + 9_999);
    assert.ok(performance.now() - started < 200, 'the shared part was measured again for each use');
  });
});
