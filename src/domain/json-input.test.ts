import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_JSON_DEPTH, nestsDeeperThan, parseJsonInput } from './json-input.js';
import { DomainError } from '../domain/errors.js';

describe('nestsDeeperThan', () => {
  it('counts objects and arrays inside each other, not side by side', () => {
    assert.equal(nestsDeeperThan('{"a":[1,{"b":[]}]}', 4), false);
    assert.equal(nestsDeeperThan('{"a":[1,{"b":[]}]}', 3), true);
    assert.equal(nestsDeeperThan('[[],[],[],[]]', 2), false);
    assert.equal(nestsDeeperThan(`${'['.repeat(65)}${']'.repeat(65)}`, MAX_JSON_DEPTH), true);
    assert.equal(nestsDeeperThan(`${'['.repeat(64)}${']'.repeat(64)}`, MAX_JSON_DEPTH), false);
  });

  it('skips brackets inside strings, escaped quotes and backslashes included', () => {
    assert.equal(nestsDeeperThan(`{"a":"${'['.repeat(100)}"}`, 1), false);
    assert.equal(nestsDeeperThan(`{"a":"\\"${'{'.repeat(100)}"}`, 1), false);
    assert.equal(nestsDeeperThan(`{"a":"\\\\","b":${'['.repeat(5)}${']'.repeat(5)}}`, 5), true);
    assert.equal(nestsDeeperThan(`{"a":"\\\\\\"[[[["}`, 1), false);
  });

  it('measures malformed text as far as it goes', () => {
    assert.equal(nestsDeeperThan('"unterminated [[[[', 1), false);
    assert.equal(nestsDeeperThan('{"a":[[[', 3), true);
  });
});

describe('parseJsonInput', () => {
  it('refuses too deep text and U+0000 as validation failures at the path given, and passes syntax errors on', () => {
    assert.throws(
      () => parseJsonInput('['.repeat(10_000), '/content'),
      (error: unknown) => error instanceof DomainError && error.errors[0]?.path === '/content',
    );
    assert.throws(
      () => parseJsonInput('{"a":{"b\\u0000":1}}', '/content'),
      (error: unknown) => error instanceof DomainError && error.errors[0]?.path === '/content/a/b\u0000',
    );
    assert.throws(() => parseJsonInput('{"a":'), SyntaxError);
    assert.deepEqual(parseJsonInput('{"a":"\\\\u0000"}'), { a: '\\u0000' });
  });
});
