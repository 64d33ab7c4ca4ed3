import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { MisplacedSealedValue, createVault, type SealPlace } from './vault.js';

const key = (id: string) => ({ id, key: randomBytes(32) });
const P: SealPlace = { workspaceUid: 'wsu_a', resourceUid: 'cnu_a', path: '/content/password' };

describe('vault', () => {
  it('opens what it sealed and never stores the plaintext', () => {
    const vault = createVault([key('a')]);
    const sealed = vault.seal('hunter2', P);
    assert.ok(!sealed.includes('hunter2'));
    assert.equal(vault.open(sealed, P), 'hunter2');
    assert.equal(vault.keyIdOf(sealed), 'a');
  });

  it('seals the same plaintext differently every time', () => {
    const vault = createVault([key('a')]);
    assert.notEqual(vault.seal('x', P), vault.seal('x', P));
  });

  it('keeps opening values sealed with an older key after a new key is put first', () => {
    const old = key('old');
    const sealed = createVault([old]).seal('s3cret', P);
    const rotated = createVault([key('new'), old]);
    assert.equal(rotated.open(sealed, P), 's3cret');
    assert.equal(rotated.keyIdOf(rotated.seal('y', P)), 'new');
  });

  it('refuses a tampered ciphertext', () => {
    const vault = createVault([key('a')]);
    const sealed = vault.seal('value', P);
    const last = sealed.at(-2) === 'A' ? 'B' : 'A';
    assert.throws(() => vault.open(`${sealed.slice(0, -2)}${last}${sealed.at(-1)}`, P));
  });

  it('says which key is missing when a value was sealed with an unknown key', () => {
    const sealed = createVault([key('gone')]).seal('v', P);
    assert.throws(() => createVault([key('other')]).open(sealed, P), /"gone"/);
  });

  describe('places', () => {
    const vault = createVault([key('a')]);
    /** A v1 value as plugboard sealed them before values were bound: AES-GCM without additional data. */
    const legacySeal = (plaintext: string, master: { id: string; key: Buffer }) => {
      const gcm = (k: Buffer, data: Buffer) => {
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', k, iv);
        return Buffer.concat([iv, cipher.update(data), cipher.final(), cipher.getAuthTag()]).toString('base64url');
      };
      const dataKey = randomBytes(32);
      return `pbenc:v1:${master.id}:${gcm(master.key, dataKey)}:${gcm(dataKey, Buffer.from(plaintext))}`;
    };

    it('opens a value only at the place it was sealed for: not in another field, resource or workspace', () => {
      const sealed = vault.seal('hunter2', P);
      assert.ok(vault.isBound(sealed));
      assert.ok(
        !sealed.includes(P.resourceUid) && !sealed.includes(P.path),
        'the place is supplied by the opener, not stored',
      );
      for (const elsewhere of [
        { ...P, path: '/content/host' },
        { ...P, resourceUid: 'cnu_b' },
        { ...P, workspaceUid: 'wsu_b' },
      ]) {
        assert.throws(
          () => vault.open(sealed, elsewhere),
          (error: unknown) =>
            error instanceof MisplacedSealedValue &&
            !error.message.includes('hunter2') &&
            error.message.includes(elsewhere.path),
        );
      }
    });

    it('keeps opening unbound v1 values anywhere, and rewrap seals them again bound to their place', () => {
      const master = key('a');
      const bound = createVault([master]);
      const legacy = legacySeal('old-secret', master);
      assert.equal(bound.isBound(legacy), false);
      assert.equal(bound.open(legacy, P), 'old-secret');
      for (const place of [P, { ...P, resourceUid: 'cnu_b' }]) {
        assert.equal(bound.holds(legacy, place, 'old-secret'), true);
        assert.equal(bound.holds(legacy, place, 'new-secret'), false);
      }
      const rewrapped = bound.rewrap(legacy, P);
      assert.ok(bound.isBound(rewrapped));
      assert.equal(bound.open(rewrapped, P), 'old-secret');
      assert.throws(() => bound.open(rewrapped, { ...P, resourceUid: 'cnu_b' }), MisplacedSealedValue);
      assert.equal(bound.rewrap(rewrapped, P), rewrapped, 'bound and on the active key: nothing to do');
    });

    it('refuses to rewrap a bound value at a place it does not belong to', () => {
      const old = key('old');
      const sealed = createVault([old]).seal('v', P);
      assert.throws(
        () => createVault([key('new'), old]).rewrap(sealed, { ...P, path: '/content/other' }),
        MisplacedSealedValue,
      );
    });
  });

  describe('holds: whether a stored value is this plaintext at this place', () => {
    const a = key('a');
    const vault = createVault([a]);

    it('answers for values it sealed, and for values another node sealed (which it opens once)', () => {
      for (const sealed of [vault.seal('hunter22', P), createVault([a]).seal('hunter22', P)]) {
        for (let i = 0; i < 2; i++) {
          assert.equal(vault.holds(sealed, P, 'hunter22'), true);
          assert.equal(vault.holds(sealed, P, 'hunter23'), false, 'same length, another plaintext');
          assert.equal(vault.holds(sealed, P, 'hunter2'), false);
          assert.equal(vault.holds(sealed, P, ''), false);
        }
      }
    });

    it('says no at another place, and for a value that does not open', () => {
      const sealed = vault.seal('hunter22', P);
      const other = createVault([a]).seal('hunter22', P);
      for (const s of [sealed, other]) {
        assert.equal(vault.holds(s, { ...P, resourceUid: 'cnu_b' }, 'hunter22'), false);
        assert.equal(vault.holds(s, { ...P, path: '/content/other' }, 'hunter22'), false);
        assert.equal(vault.holds(s, { ...P, workspaceUid: 'wsu_b' }, 'hunter22'), false);
      }
      const last = sealed.at(-2) === 'A' ? 'B' : 'A';
      assert.equal(vault.holds(`${sealed.slice(0, -2)}${last}${sealed.at(-1)}`, P, 'hunter22'), false);
    });

    it('still answers after the digests it remembers have all been replaced', () => {
      const fresh = createVault([a]);
      const first = fresh.seal('first', P);
      for (let i = 0; i < 10_050; i++) fresh.seal(`value ${i}`, P);
      assert.equal(fresh.holds(first, P, 'first'), true);
      assert.equal(fresh.holds(first, P, 'frist'), false);
    });

    it('throws when the master key of the value is not configured', () => {
      const sealed = createVault([key('gone')]).seal('v', P);
      assert.throws(() => vault.holds(sealed, P, 'v'), /"gone"/);
    });

    it('never opens a value for a plaintext of another length (AES-GCM keeps the length)', () => {
      // A value it could not open at all: only a plaintext of its length gets as far as its master key.
      const sealed = createVault([key('gone')]).seal('hunter2', P);
      for (const plaintext of ['', 'hunter', 'hunter22', 'hünter2'])
        assert.equal(vault.holds(sealed, P, plaintext), false);
      assert.throws(() => vault.holds(sealed, P, 'hunter3'), /"gone"/);
    });
  });

  describe('rewrap', () => {
    const old = key('old');
    const fresh = key('new');

    it('wraps the data key with the active key and keeps the ciphertext part', () => {
      const sealed = createVault([old]).seal('s3cret', P);
      const rotated = createVault([fresh, old]);
      const rewrapped = rotated.rewrap(sealed, P);
      assert.equal(rotated.keyIdOf(rewrapped), 'new');
      assert.equal(rewrapped.split(':')[4], sealed.split(':')[4]);
      assert.notEqual(rewrapped.split(':')[3], sealed.split(':')[3]);
      assert.equal(createVault([fresh]).open(rewrapped, P), 's3cret');
    });

    it('returns a value already on the active key unchanged', () => {
      const vault = createVault([fresh, old]);
      const sealed = vault.seal('v', P);
      assert.equal(vault.rewrap(sealed, P), sealed);
    });

    it('says which key is missing when the value cannot be opened', () => {
      const sealed = createVault([key('gone')]).seal('v', P);
      assert.throws(() => createVault([fresh, old]).rewrap(sealed, P), /"gone"/);
    });

    it('refuses a value whose ciphertext does not belong to its data key', () => {
      // Two vaults on one master key: each seals under a data key of its own.
      const [a, b] = [createVault([old]).seal('a', P), createVault([old]).seal('b', P)];
      assert.notEqual(a.split(':')[3], b.split(':')[3]);
      const spliced = [...a.split(':').slice(0, 4), b.split(':')[4]].join(':');
      assert.throws(() => createVault([fresh, old]).rewrap(spliced, P));
    });

    it('refuses a value that is not sealed', () => {
      assert.throws(() => createVault([fresh]).rewrap('pbenc:v9:new:x:y', P), /known version/);
    });
  });

  it('seals 65,536 values under one data key, then makes the next', () => {
    const vault = createVault([key('a')]);
    const wrappedOf = (sealed: string) => sealed.split(':')[3];
    const first = vault.seal('first', P);
    let last = first;
    for (let i = 1; i < 65_536; i++) last = vault.seal(`value ${i}`, P);
    assert.equal(wrappedOf(last), wrappedOf(first));
    const next = vault.seal('next', P);
    assert.notEqual(wrappedOf(next), wrappedOf(first));
    for (const [sealed, plaintext] of [
      [first, 'first'],
      [last, 'value 65535'],
      [next, 'next'],
    ] as const)
      assert.equal(vault.open(sealed, P), plaintext);
  });

  describe('data keys it remembers', () => {
    it('opens a value sealed long ago, after the data keys it remembers have all been replaced', () => {
      const vault = createVault([key('a')]);
      const first = vault.seal('first', P);
      let last = '';
      for (let i = 0; i < 10_050; i++) last = vault.seal(`value ${i}`, P);
      assert.equal(vault.open(first, P), 'first');
      assert.equal(vault.open(last, P), 'value 10049');
    });

    it('refuses a wrapped data key that does not unwrap, every time (it is never remembered)', () => {
      const vault = createVault([key('a')]);
      const parts = vault.seal('v', P).split(':');
      const wrapped = parts[3]!;
      parts[3] = `${wrapped.slice(0, 20)}${wrapped[20] === 'A' ? 'B' : 'A'}${wrapped.slice(21)}`;
      const tampered = parts.join(':');
      assert.throws(() => vault.open(tampered, P));
      assert.throws(() => vault.open(tampered, P));
    });

    it('does not open a value naming another master key with a data key remembered under the first', () => {
      const a = key('a');
      const vault = createVault([a, key('b')]);
      const parts = vault.seal('v', P).split(':');
      assert.equal(vault.open(parts.join(':'), P), 'v');
      parts[2] = 'b';
      assert.throws(() => vault.open(parts.join(':'), P));
    });

    it('keeps the plaintext of every value it remembers the data key of apart, bound to its own place', () => {
      const vault = createVault([key('a')]);
      const sealed = vault.seal('hunter2', P);
      vault.open(sealed, P);
      assert.throws(() => vault.open(sealed, { ...P, resourceUid: 'cnu_b' }), MisplacedSealedValue);
    });
  });

  it('lists the configured key ids, active first', () => {
    assert.deepEqual(createVault([key('b'), key('a')]).keyIds, ['b', 'a']);
  });
});
