import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DomainError } from './errors.js';
import { MASK } from './secrets.js';
import { checkSecretsStay, destinationsOf, keptSecretsOf } from './secret-destinations.js';

const refusal = (error: unknown) => error instanceof DomainError && error.code === 'validation-failed';

describe('secrets bound to their destination', () => {
  it('names host, port, url and other URL-valued settings as destinations, at any depth', () => {
    const found = destinationsOf(
      {
        host: 'h',
        port: 5432,
        database: 'd',
        username: 'u',
        tokenUrl: 'https://a/t',
        nested: { webhook: 'https://w/x' },
      },
      '/content',
    );
    assert.deepEqual([...found.keys()].sort(), [
      '/content/host',
      '/content/nested/webhook',
      '/content/port',
      '/content/tokenUrl',
    ]);
  });

  it('counts a connection string with a password inside as a destination, whatever its key', () => {
    const before = destinationsOf({ connection: 'Server=db;User Id=app;Password=pbenc:v1:k:a:b;' }, '');
    const moved = destinationsOf({ connection: `Server=evil;User Id=app;Password=${MASK};` }, '');
    assert.throws(
      () =>
        checkSecretsStay(
          () => before,
          () => moved,
          keptSecretsOf({ connection: `Server=evil;User Id=app;Password=${MASK};` }, ''),
        ),
      refusal,
    );
    checkSecretsStay(
      () => before,
      () => destinationsOf({ connection: `Server=db;User Id=app;Password=${MASK};` }, ''),
      ['/connection'],
    );
  });

  it('compares URLs with their embedded secrets masked, so re-entering a password is not a move', () => {
    const before = destinationsOf({ url: 'postgres://u:pbenc:v1:k:AAA:BBB@db/x' }, '');
    const after = destinationsOf({ url: 'postgres://u:new-password@db/x' }, '');
    assert.deepEqual([...before.values()], [...after.values()]);
  });

  it('finds secrets kept by their mask, whole or inside a URL', () => {
    assert.deepEqual(
      keptSecretsOf({ password: MASK, url: `redis://:${MASK}@h`, host: 'h', list: [{ token: MASK }] }, '/content'),
      ['/content/password', '/content/url', '/content/list/0/token'],
    );
  });

  it('refuses a changed destination with a kept secret, naming both, and allows either alone', () => {
    const before = destinationsOf({ host: 'db', port: 5432 }, '/content');
    const moved = destinationsOf({ host: 'evil', port: 5432 }, '/content');
    assert.throws(
      () =>
        checkSecretsStay(
          () => before,
          () => moved,
          ['/content/password'],
        ),
      (error: unknown) =>
        refusal(error) &&
        /enter the secret again when you change where it is sent/.test((error as Error).message) &&
        (error as DomainError).errors.map((e) => e.path).join() === '/content/host,/content/password',
    );
    checkSecretsStay(
      () => before,
      () => moved,
      [],
    );
    checkSecretsStay(
      () => before,
      () => destinationsOf({ host: 'db', port: 5432 }, '/content'),
      ['/content/password'],
    );
  });

  it('refuses exactly when some destination changes and some secret is kept (property)', () => {
    const destinationFields = ['host', 'port', 'url', 'tokenUrl', 'tls'] as const;
    const secretFields = ['password', 'token', 'apiKey'] as const;
    const stored = {
      host: 'db.internal',
      port: 5432,
      url: 'https://api.example/v1',
      tokenUrl: 'https://auth.example/t',
      tls: true,
      database: 'd',
    };
    fc.assert(
      fc.property(
        fc.subarray([...destinationFields]),
        fc.subarray([...secretFields]),
        fc.boolean(),
        (moved, kept, alsoChangesDatabase) => {
          const next: Record<string, unknown> = { ...stored, database: alsoChangesDatabase ? 'other' : 'd' };
          for (const field of moved) {
            const old = stored[field];
            next[field] = typeof old === 'number' ? old + 1 : typeof old === 'boolean' ? !old : `${old}.elsewhere`;
          }
          for (const field of secretFields) next[field] = kept.includes(field) ? MASK : `new-${field}`;
          const attempt = () =>
            checkSecretsStay(
              () => destinationsOf(stored, ''),
              () => destinationsOf(next, ''),
              keptSecretsOf(next, ''),
            );
          if (moved.length > 0 && kept.length > 0) assert.throws(attempt, refusal);
          else attempt();
        },
      ),
      { numRuns: 300 },
    );
  });
});
