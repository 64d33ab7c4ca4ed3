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
});
