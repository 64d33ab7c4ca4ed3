import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { windowOf } from '../../domain/page.js';
import { reorderedCredentials, versoriFieldOf } from './wire.js';

describe('versoriFieldOf', () => {
  it("writes JSON Pointers in Versori's field form with Versori's names", () => {
    assert.equal(versoriFieldOf('/connectionVariables/1/name'), 'connectionVariables[1].name');
    assert.equal(versoriFieldOf('/documentationUrl'), 'documentationURL');
    assert.equal(versoriFieldOf('/iconUrl'), 'imageURL');
    assert.equal(versoriFieldOf('/isPublic'), 'public');
    assert.equal(versoriFieldOf('query/after'), 'after');
    assert.equal(versoriFieldOf(''), 'body');
    assert.equal(versoriFieldOf('/a~1b/0'), 'a/b[0]');
  });
});

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

describe('reorderedCredentials', () => {
  const current = [
    { kind: 'action' as const, authSchemeConfigId: 'a', secret: 'pbenc:x' },
    { kind: 'action' as const, authSchemeConfigId: 'b', secret: null },
  ];
  it('reorders without ever carrying a secret', () => {
    const out = reorderedCredentials(current, {
      action: [
        { id: 'action-b', authSchemeConfig: { id: 'b' } },
        { id: 'action-a', authSchemeConfig: { id: 'a' } },
      ],
    });
    assert.deepEqual(out, [
      { kind: 'action', authSchemeConfigId: 'b', secret: null },
      { kind: 'action', authSchemeConfigId: 'a', secret: '******' },
    ]);
  });
  it('refuses a list that is not a permutation', () => {
    assert.throws(() => reorderedCredentials(current, { action: [{ id: 'action-a', authSchemeConfig: { id: 'a' } }] }));
    assert.throws(() =>
      reorderedCredentials(current, {
        action: [
          { id: 'action-a', authSchemeConfig: { id: 'b' } },
          { id: 'action-b', authSchemeConfig: { id: 'b' } },
        ],
      }),
    );
  });
});
