import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createVault } from './vault.js';

const key = (id: string) => ({ id, key: randomBytes(32) });

describe('vault', () => {
  it('opens what it sealed and never stores the plaintext', () => {
    const vault = createVault([key('a')]);
    const sealed = vault.seal('hunter2');
    assert.ok(!sealed.includes('hunter2'));
    assert.equal(vault.open(sealed), 'hunter2');
    assert.equal(vault.keyIdOf(sealed), 'a');
  });

  it('seals the same plaintext differently every time', () => {
    const vault = createVault([key('a')]);
    assert.notEqual(vault.seal('x'), vault.seal('x'));
  });

  it('keeps opening values sealed with an older key after a new key is put first', () => {
    const old = key('old');
    const sealed = createVault([old]).seal('s3cret');
    const rotated = createVault([key('new'), old]);
    assert.equal(rotated.open(sealed), 's3cret');
    assert.equal(rotated.keyIdOf(rotated.seal('y')), 'new');
  });

  it('refuses a tampered ciphertext', () => {
    const vault = createVault([key('a')]);
    const sealed = vault.seal('value');
    const last = sealed.at(-2) === 'A' ? 'B' : 'A';
    assert.throws(() => vault.open(`${sealed.slice(0, -2)}${last}${sealed.at(-1)}`));
  });

  it('says which key is missing when a value was sealed with an unknown key', () => {
    const sealed = createVault([key('gone')]).seal('v');
    assert.throws(() => createVault([key('other')]).open(sealed), /"gone"/);
  });

  describe('rewrap', () => {
    const old = key('old');
    const fresh = key('new');

    it('wraps the data key with the active key and keeps the ciphertext part', () => {
      const sealed = createVault([old]).seal('s3cret');
      const rotated = createVault([fresh, old]);
      const rewrapped = rotated.rewrap(sealed);
      assert.equal(rotated.keyIdOf(rewrapped), 'new');
      assert.equal(rewrapped.split(':')[4], sealed.split(':')[4]);
      assert.notEqual(rewrapped.split(':')[3], sealed.split(':')[3]);
      assert.equal(createVault([fresh]).open(rewrapped), 's3cret');
    });

    it('returns a value already on the active key unchanged', () => {
      const vault = createVault([fresh, old]);
      const sealed = vault.seal('v');
      assert.equal(vault.rewrap(sealed), sealed);
    });

    it('says which key is missing when the value cannot be opened', () => {
      const sealed = createVault([key('gone')]).seal('v');
      assert.throws(() => createVault([fresh, old]).rewrap(sealed), /"gone"/);
    });

    it('refuses a value whose ciphertext does not belong to its data key', () => {
      const vault = createVault([old]);
      const [a, b] = [vault.seal('a'), vault.seal('b')];
      const spliced = [...a.split(':').slice(0, 4), b.split(':')[4]].join(':');
      assert.throws(() => createVault([fresh, old]).rewrap(spliced));
    });

    it('refuses a value that is not sealed', () => {
      assert.throws(() => createVault([fresh]).rewrap('pbenc:v9:new:x:y'), /known version/);
    });
  });

  it('lists the configured key ids, active first', () => {
    assert.deepEqual(createVault([key('b'), key('a')]).keyIds, ['b', 'a']);
  });
});
