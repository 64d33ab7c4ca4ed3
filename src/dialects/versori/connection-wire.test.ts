import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reorderedCredentials } from './connection-wire.js';

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
