import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ACCESS_KEY_FORMATS, ACCESS_KEY_KINDS, generateAccessKeyPair } from './access-key.js';

describe('generateAccessKeyPair', () => {
  it("makes ids and secrets in each vendor's format", () => {
    for (const kind of ACCESS_KEY_KINDS) {
      for (let i = 0; i < 50; i++) {
        const { id, secret } = generateAccessKeyPair(kind);
        assert.match(id, ACCESS_KEY_FORMATS[kind].id, kind);
        assert.match(secret, ACCESS_KEY_FORMATS[kind].secret, kind);
      }
    }
  });

  it('never repeats an id or a secret', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const { id, secret } = generateAccessKeyPair(i % 2 === 0 ? 'alibaba' : 'huawei');
      assert.ok(!seen.has(id) && !seen.has(secret));
      seen.add(id).add(secret);
    }
  });

  it('uses lower-case letters in alibaba ids and secrets but only upper case in huawei ids', () => {
    const alibaba = Array.from({ length: 20 }, () => generateAccessKeyPair('alibaba'));
    assert.ok(alibaba.some(({ id }) => /[a-z]/.test(id.slice(4))));
    const huawei = Array.from({ length: 20 }, () => generateAccessKeyPair('huawei'));
    assert.ok(huawei.every(({ id }) => id === id.toUpperCase()));
    assert.ok(huawei.some(({ secret }) => /[a-z]/.test(secret)));
  });
});
