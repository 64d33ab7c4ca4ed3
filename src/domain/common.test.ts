import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changedFields } from './audit.js';
import { sharingUnchanged } from './common.js';

test('sharingUnchanged keeps the very objects of the fields that did not change, and takes the others from next', () => {
  const current = { id: 'c', tags: { a: ['1'] }, versions: [{ v: 1 }], content: { user: 'u', password: 'p' } };
  const next = { id: 'c', tags: { a: ['1'] }, versions: [{ v: 2 }], content: { user: 'u', password: 'q' } };
  const changed = changedFields(current, next, ['content']);
  assert.deepEqual(changed, ['content.password', 'versions']);
  const shared = sharingUnchanged(current, next, changed);
  assert.equal(shared.tags, current.tags);
  assert.equal(shared.versions, next.versions);
  assert.equal(shared.content, next.content);
  assert.deepEqual(shared, next);
  assert.notEqual(shared, next);
});

test('sharingUnchanged leaves a field only next has as next has it', () => {
  const shared = sharingUnchanged<{ a: number; b?: number }>({ a: 1 }, { a: 1, b: 2 }, ['b']);
  assert.deepEqual(shared, { a: 1, b: 2 });
});
