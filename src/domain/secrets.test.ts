import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from './errors.js';
import { MASK, findSealedLooking, isSecretKey, listSealed, mapSecrets, maskSecrets, openSecrets } from './secrets.js';

const seal = (plaintext: string | undefined, stored: unknown) =>
  plaintext === undefined ? (stored as string) : `pbenc:${plaintext}`;

describe('secret fields', () => {
  it('recognises secret keys whatever their case or separators', () => {
    for (const key of [
      'password',
      'Password',
      'client_secret',
      'API-KEY',
      'apiKey',
      'accessKeySecret',
      'private_key',
      'token',
    ]) {
      assert.ok(isSecretKey(key), key);
    }
    for (const key of ['host', 'username', 'tokenUrl', 'passwordHint']) assert.ok(!isSecretKey(key), key);
  });

  it('adds the keys a connection type declares secret', () => {
    assert.ok(!isSecretKey('auth'));
    assert.ok(isSecretKey('auth', 'redis'));
  });

  it('seals secrets at any depth and leaves other values alone', () => {
    const out = mapSecrets({ host: 'h', password: 'p', nested: { token: 't', list: [{ secret: 's' }] } }, undefined, {
      path: '/content',
      seal,
    });
    assert.deepEqual(out, {
      host: 'h',
      password: 'pbenc:p',
      nested: { token: 'pbenc:t', list: [{ secret: 'pbenc:s' }] },
    });
  });

  it('keeps the stored value when the mask is written back, and clears it on null', () => {
    const stored = { password: 'pbenc:old', token: 'pbenc:t' };
    assert.deepEqual(mapSecrets({ password: MASK, token: null }, stored, { path: '', seal }), {
      password: 'pbenc:old',
      token: null,
    });
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

describe('secrets inside other settings', () => {
  it('treats header-like keys as secrets, but not the names of URLs, hints or header names', () => {
    for (const key of [
      'Authorization',
      'Proxy-Authorization',
      'X-API-Key',
      'x-goog-api-key',
      'X-Auth-Token',
      'client-secret',
      'Cookie',
    ]) {
      assert.ok(isSecretKey(key), key);
    }
    for (const key of [
      'tokenUrl',
      'tokenType',
      'apiKeyHeader',
      'secretName',
      'secretId',
      'tokenPrefix',
      'passwordHint',
      'maxTokens',
      'Accept',
    ]) {
      assert.ok(!isSecretKey(key), key);
    }
  });

  it('takes only text as a secret under a name that merely contains a secret word', () => {
    const out = mapSecrets({ sessionToken: 's', tokenBudget: 500, authToken: { nested: 'n' } }, undefined, {
      path: '',
      seal,
    });
    assert.deepEqual(out, { sessionToken: 'pbenc:s', tokenBudget: 500, authToken: { nested: 'n' } });
  });

  it('masks URL userinfo, token query parameters and DSN passwords on read, leaving the rest readable', () => {
    assert.deepEqual(
      maskSecrets({
        dsn: 'postgres://app:s3cret@db.internal:5432/shop?sslmode=require',
        hook: 'https://api.example/v1?token=abc&page=2&api_key=xyz&sig=zz#access_token=t',
        ado: 'Server=db;Database=shop;User Id=app;Password=p w;',
        libpq: 'host=db user=app password=hunter2 dbname=shop',
        plain: 'https://api.example/v1?page=2',
      }),
      {
        dsn: `postgres://app:${MASK}@db.internal:5432/shop?sslmode=require`,
        hook: `https://api.example/v1?token=${MASK}&page=2&api_key=${MASK}&sig=${MASK}#access_token=${MASK}`,
        ado: `Server=db;Database=shop;User Id=app;Password=${MASK};`,
        libpq: `host=db user=app password=${MASK} dbname=shop`,
        plain: 'https://api.example/v1?page=2',
      },
    );
  });

  it('seals the secret inside a URL, and keeps it when the masked URL is written back', () => {
    const first = mapSecrets({ dsn: 'postgres://app:s3cret@db/shop' }, undefined, { path: '/content', seal }) as Record<
      string,
      string
    >;
    assert.equal(first.dsn, 'postgres://app:pbenc:s3cret@db/shop');
    assert.deepEqual(maskSecrets(first), { dsn: `postgres://app:${MASK}@db/shop` });
    const again = mapSecrets({ dsn: `postgres://app:${MASK}@db/other` }, first, { path: '/content', seal });
    assert.deepEqual(again, { dsn: 'postgres://app:pbenc:s3cret@db/other' });
    assert.throws(
      () => mapSecrets({ dsn: `postgres://app:${MASK}@db/shop` }, {}, { path: '/content', seal }),
      DomainError,
    );
  });

  it('seals a secret stored in clear before these rules when its mask is written back', () => {
    const legacy = { Authorization: 'Bearer abc', url: 'https://h/?token=t1' };
    const out = mapSecrets(maskSecrets(legacy), legacy, { path: '', seal });
    assert.deepEqual(out, { Authorization: 'pbenc:Bearer abc', url: 'https://h/?token=pbenc:t1' });
  });

  it('opens only values at secret paths: a sealed value under another key stays shut', () => {
    const open = (sealed: string) => `opened(${sealed})`;
    const stored = { password: 'pbenc:v1:k:a:b', database: 'pbenc:v1:k:c:d', url: 'redis://:pbenc:v1:k:e:f@h:6379' };
    assert.deepEqual(openSecrets(stored, 'redis', open), {
      password: 'opened(pbenc:v1:k:a:b)',
      database: MASK,
      url: 'redis://:opened(pbenc:v1:k:e:f)@h:6379',
    });
  });

  it('finds every sealed value for key rotation, embedded ones included', () => {
    assert.deepEqual(listSealed({ a: 'pbenc:v1:k:a:b', url: 'https://u:pbenc:v1:k:c:d@h/?token=pbenc:v1:k:e:f' }), [
      'pbenc:v1:k:a:b',
      'pbenc:v1:k:c:d',
      'pbenc:v1:k:e:f',
    ]);
  });

  it('refuses a value that looks sealed anywhere in client input, without echoing it', () => {
    const errors = findSealedLooking(
      { content: { database: 'pbenc:v1:k:a:b', url: 'https://h/?x=pbenc:v1:k:a:b' }, name: 'n' },
      '',
    );
    assert.deepEqual(
      errors.map((e) => e.path),
      ['/content/database', '/content/url'],
    );
    assert.ok(errors.every((e) => !e.message.includes('v1:k:a:b')));
  });
});

describe('secrets inside long settings', () => {
  it('finds them in one pass: a megabyte of pairs without a credential takes milliseconds', () => {
    const long = `${' '.repeat(1_000_000)}=x`;
    const started = performance.now();
    assert.equal(maskSecrets({ note: long }, undefined) !== undefined, true);
    assert.deepEqual(
      maskSecrets({ note: `a=1${'&b=2'.repeat(100_000)}`, url: `https://h/?${'a=1&'.repeat(100_000)}token=t` }),
      {
        note: `a=1${'&b=2'.repeat(100_000)}`,
        url: `https://h/?${'a=1&'.repeat(100_000)}token=${MASK}`,
      },
    );
    assert.ok(performance.now() - started < 500, `took ${performance.now() - started} ms`);
  });
});
