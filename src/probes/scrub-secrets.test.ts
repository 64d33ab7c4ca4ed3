import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scrubSecrets } from './scrub-secrets.js';

describe('scrubbing secrets from probe messages', () => {
  it('masks a password that a driver echoes back', () => {
    const content = { host: 'db', username: 'app', password: 's3cr3t-Pa55', database: 's3cr3t-Pa55' };
    assert.equal(scrubSecrets(`Unknown database 's3cr3t-Pa55'`, content, 'mysql'), `Unknown database '******'`);
  });

  it('masks every secret-looking key at any depth, whatever its case or separators', () => {
    const content = { apiKey: 'ak-1', nested: { client_secret: 'cs-2', list: [{ Token: 'tk-3' }] }, port: 5432 };
    assert.equal(scrubSecrets('ak-1 cs-2 tk-3 5432', content), '****** ****** ****** 5432');
  });

  it('masks the keys a connection type adds, such as auth for redis', () => {
    assert.equal(scrubSecrets('AUTH r3dis-auth failed', { auth: 'r3dis-auth' }, 'redis'), 'AUTH ****** failed');
    assert.equal(scrubSecrets('AUTH r3dis-auth failed', { auth: 'r3dis-auth' }), 'AUTH r3dis-auth failed');
  });

  it('masks a secret in its URL-encoded form too', () => {
    assert.equal(scrubSecrets('GET /login?p=p%40ss%20word', { password: 'p@ss word' }), 'GET /login?p=******');
  });

  it('masks the password and secret query parameters of any URL in the settings', () => {
    const content = { url: 'https://me:pa%24%24@api.example.com/v1?api_key=k-42&page=2' };
    assert.equal(scrubSecrets('pa$$ pa%24%24 k-42 page=2', content, 'http'), '****** ****** ****** page=2');
  });

  it('masks a longer secret whole when it contains a shorter one', () => {
    assert.equal(scrubSecrets('abcdef', { password: 'abc', token: 'abcdef' }), '******');
  });

  it('leaves the message alone when a secret is empty', () => {
    assert.equal(
      scrubSecrets('authentication failed for user root', { password: '' }),
      'authentication failed for user root',
    );
  });
});
