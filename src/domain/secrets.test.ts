import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from './errors.js';
import { MASK, isSecretKey, mapSecrets, maskSecrets } from './secrets.js';

const seal = (plaintext: string | undefined, stored: unknown) => (plaintext === undefined ? (stored as string) : `pbenc:${plaintext}`);

describe('secret fields', () => {
  it('recognises secret keys whatever their case or separators', () => {
    for (const key of ['password', 'Password', 'client_secret', 'API-KEY', 'apiKey', 'accessKeySecret', 'private_key', 'token']) {
      assert.ok(isSecretKey(key), key);
    }
    for (const key of ['host', 'username', 'tokenUrl', 'passwordHint']) assert.ok(!isSecretKey(key), key);
  });

  it('adds the keys a connection type declares secret', () => {
    assert.ok(!isSecretKey('auth'));
    assert.ok(isSecretKey('auth', 'redis'));
  });

  it('seals secrets at any depth and leaves other values alone', () => {
    const out = mapSecrets({ host: 'h', password: 'p', nested: { token: 't', list: [{ secret: 's' }] } }, undefined, { path: '/content', seal });
    assert.deepEqual(out, { host: 'h', password: 'pbenc:p', nested: { token: 'pbenc:t', list: [{ secret: 'pbenc:s' }] } });
  });

  it('keeps the stored value when the mask is written back, and clears it on null', () => {
    const stored = { password: 'pbenc:old', token: 'pbenc:t' };
    assert.deepEqual(mapSecrets({ password: MASK, token: null }, stored, { path: '', seal }), { password: 'pbenc:old', token: null });
  });

  it('refuses the mask where nothing is stored, and non-string secrets, naming each field', () => {
    assert.throws(
      () => mapSecrets({ password: MASK, apiKey: 42 }, {}, { path: '/content', seal }),
      (error: unknown) =>
        error instanceof DomainError &&
        error.code === 'validation-failed' &&
        error.errors.map((e) => e.path).join() === '/content/password,/content/apiKey',
    );
  });

  it('masks secrets and anything sealed on read, but not null', () => {
    assert.deepEqual(maskSecrets({ password: 'pbenc:x', other: 'pbenc:y', token: null, host: 'h' }), {
      password: MASK,
      other: MASK,
      token: null,
      host: 'h',
    });
  });
});
