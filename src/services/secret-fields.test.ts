import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sealValue } from './secret-fields.js';
import { createVault, type SealPlace, type Vault } from './vault.js';

const P: SealPlace = { workspaceUid: 'wsu_a', resourceUid: 'cnu_a', path: '/content/password' };

/** A vault that counts how often it opens a value. */
function countingVault(): { vault: Vault; opened: () => number } {
  const inner = createVault([{ id: 'a', key: randomBytes(32) }]);
  let opens = 0;
  const vault: Vault = {
    ...inner,
    open: (sealed, place) => {
      opens++;
      return inner.open(sealed, place);
    },
  };
  return { vault, opened: () => opens };
}

describe('sealValue', () => {
  it('keeps the stored value for the same plaintext, opening it once to compare', () => {
    const { vault, opened } = countingVault();
    const stored = vault.seal('hunter2', P);
    assert.equal(sealValue(vault, 'hunter2', stored, P), stored);
    assert.equal(opened(), 1);
  });

  it('seals a plaintext of the same length anew after comparing', () => {
    const { vault, opened } = countingVault();
    const stored = vault.seal('hunter2', P);
    const next = sealValue(vault, 'hunter3', stored, P);
    assert.notEqual(next, stored);
    assert.equal(opened(), 1);
    assert.equal(vault.open(next, P), 'hunter3');
  });

  it('seals a plaintext of another length without opening the stored value', () => {
    const { vault, opened } = countingVault();
    const stored = vault.seal('hunter2', P);
    const plaintexts = ['hunter22', 'hunte', 'hünter2'];
    const sealed = plaintexts.map((plaintext) => sealValue(vault, plaintext, stored, P));
    assert.equal(opened(), 0);
    assert.deepEqual(
      sealed.map((next) => vault.open(next, P)),
      plaintexts,
    );
  });
});
