import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sealValue } from './secret-fields.js';
import { createVault, type SealPlace, type Vault } from './vault.js';

const P: SealPlace = { workspaceUid: 'wsu_a', resourceUid: 'cnu_a', path: '/content/password' };

/** A vault that counts how often it seals a value. */
function countingVault(master = { id: 'a', key: randomBytes(32) }): { vault: Vault; sealed: () => number } {
  const inner = createVault([master]);
  let seals = 0;
  const vault: Vault = {
    ...inner,
    seal: (plaintext, place) => {
      seals++;
      return inner.seal(plaintext, place);
    },
  };
  return { vault, sealed: () => seals };
}

describe('sealValue', () => {
  it('keeps the stored value for the same plaintext, whichever node sealed it', () => {
    const master = { id: 'a', key: randomBytes(32) };
    const { vault, sealed } = countingVault(master);
    const stored = vault.seal('hunter2', P);
    assert.equal(sealValue(vault, 'hunter2', stored, P), stored);
    const elsewhere = createVault([master]).seal('hunter2', P);
    assert.equal(sealValue(vault, 'hunter2', elsewhere, P), elsewhere);
    assert.equal(sealed(), 1, 'nothing sealed again');
  });

  it('seals a plaintext of the same length, or of another, anew', () => {
    const { vault } = countingVault();
    const stored = vault.seal('hunter2', P);
    const plaintexts = ['hunter3', 'hunter22', 'hunte', 'hünter2', ''];
    const next = plaintexts.map((plaintext) => sealValue(vault, plaintext, stored, P));
    for (const value of next) assert.notEqual(value, stored);
    assert.deepEqual(
      next.map((value) => vault.open(value, P)),
      plaintexts,
    );
  });

  it('seals the same plaintext anew when the stored value belongs to another place', () => {
    const { vault } = countingVault();
    const stored = vault.seal('hunter2', { ...P, resourceUid: 'cnu_b' });
    const next = sealValue(vault, 'hunter2', stored, P);
    assert.notEqual(next, stored);
    assert.equal(vault.open(next, P), 'hunter2');
  });

  it('keeps the stored value for an undefined plaintext (the mask), and seals over a value that is not sealed', () => {
    const { vault } = countingVault();
    const stored = vault.seal('hunter2', P);
    assert.equal(sealValue(vault, undefined, stored, P), stored);
    assert.equal(vault.open(sealValue(vault, 'hunter2', 'hunter2', P), P), 'hunter2');
  });
});
