import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { changedFields } from './audit.js';

describe('changedFields', () => {
  it('names the top-level fields that differ, ignoring bookkeeping', () => {
    assert.deepEqual(
      changedFields(
        { name: 'a', description: 'x', revision: 1, updatedAt: 't1' },
        { name: 'b', description: 'x', revision: 2, updatedAt: 't2' },
      ),
      ['name'],
    );
  });

  it('names keys inside open settings objects, so secrets appear by name only', () => {
    const before = { content: { host: 'h', password: 'pbenc:v1:a' } };
    const after = { content: { host: 'h', password: 'pbenc:v1:b', port: 5432 } };
    assert.deepEqual(changedFields(before, after, ['content']), ['content.password', 'content.port']);
  });

  it('lists every field of a created or deleted resource', () => {
    assert.deepEqual(changedFields(undefined, { name: 'a', content: { password: 'x' } }, ['content']), [
      'content.password',
      'name',
    ]);
  });
});
