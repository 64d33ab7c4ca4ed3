import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { windowOf } from './page.js';

describe('windowOf', () => {
  const items = ['a', 'b', 'c', 'd', 'e'];
  it('walks forwards and backwards with the total', () => {
    const first = windowOf(items, (x) => x, { first: 2 });
    assert.deepEqual(first.items, ['a', 'b']);
    assert.equal(first.prev, null);
    assert.equal(first.totalCount, 5);
    const second = windowOf(items, (x) => x, { first: 2, after: first.next! });
    assert.deepEqual(second.items, ['c', 'd']);
    const back = windowOf(items, (x) => x, { first: 2, before: second.prev! });
    assert.deepEqual(back.items, ['a', 'b']);
    const last = windowOf(items, (x) => x, { first: 2, after: second.next! });
    assert.deepEqual(last.items, ['e']);
    assert.equal(last.next, null);
  });
  it('refuses both directions at once', () => {
    assert.throws(() => windowOf(items, (x) => x, { first: 2, after: 'x', before: 'y' }));
  });
});
