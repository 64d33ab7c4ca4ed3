import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { baseToolName, uniqueToolNames } from './name-tools.js';

describe('tool names', () => {
  it('keeps a clean operationId as it is', () => {
    assert.equal(baseToolName('listPets', 'get', '/pets'), 'listPets');
    assert.equal(baseToolName('pets-list_v2', 'get', '/pets'), 'pets-list_v2');
  });

  it('replaces other characters with one underscore and trims underscores at the ends', () => {
    assert.equal(baseToolName('pets.list / all!', 'get', '/pets'), 'pets_list_all');
    assert.equal(baseToolName('__private__', 'get', '/pets'), 'private');
  });

  it('falls back to method and path when there is no usable operationId', () => {
    assert.equal(baseToolName(null, 'get', '/pets/{petId}'), 'get_pets_petId');
    assert.equal(baseToolName('???', 'post', '/v1/pets:batch'), 'post_v1_pets_batch');
    assert.equal(baseToolName(null, 'get', '/'), 'get');
  });

  it('cuts names to 64 characters', () => {
    assert.equal(baseToolName('x'.repeat(100), 'get', '/'), 'x'.repeat(64));
  });

  it('numbers later duplicates from 2 in document order', () => {
    assert.deepEqual(uniqueToolNames(['a', 'b', 'a', 'a']), ['a', 'b', 'a_2', 'a_3']);
  });

  it('leaves a name to the tool that asked for it rather than to a numbered duplicate', () => {
    assert.deepEqual(uniqueToolNames(['a', 'a', 'a_2']), ['a', 'a_3', 'a_2']);
  });

  it('stays unique when duplicates are already 64 characters long', () => {
    const long = 'y'.repeat(64);
    const names = uniqueToolNames([long, long, long]);
    assert.deepEqual(names, [long, `${'y'.repeat(62)}_2`, `${'y'.repeat(62)}_3`]);
    assert.ok(names.every((name) => name.length <= 64));
  });
});
