import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from './errors.js';
import {
  checkVersionName,
  ensureOneLatest,
  placeVersion,
  reorderConfigs,
  validationMessagesFor,
  type ConnectorVersion,
} from './connector.js';

const version = (id: string, createdAt: string, flags: Partial<ConnectorVersion> = {}): ConnectorVersion => ({
  id,
  name: id,
  description: null,
  isLatest: false,
  isDefault: false,
  createdAt,
  updatedAt: createdAt,
  publishedAt: null,
  ...flags,
});
const latest = (list: readonly ConnectorVersion[]) => list.filter((v) => v.isLatest).map((v) => v.id);
const defaults = (list: readonly ConnectorVersion[]) => list.filter((v) => v.isDefault).map((v) => v.id);

describe('connector versions', () => {
  it('reserves "default" and "latest" in any case and keeps names unique', () => {
    assert.equal(checkVersionName('Latest', []).length, 1);
    assert.equal(checkVersionName('default', []).length, 1);
    assert.equal(checkVersionName('v1', [version('v1', '2026-01-01T00:00:00.000Z')]).length, 1);
    assert.equal(checkVersionName('v2', [version('v1', '2026-01-01T00:00:00.000Z')]).length, 0);
  });

  it('makes a new version latest unless told otherwise, keeping exactly one latest', () => {
    let list = placeVersion([], version('a', '2026-01-01T00:00:00.000Z'), {});
    assert.deepEqual(latest(list), ['a']);
    list = placeVersion(list, version('b', '2026-01-02T00:00:00.000Z'), {});
    assert.deepEqual(latest(list), ['b']);
    list = placeVersion(list, version('c', '2026-01-03T00:00:00.000Z'), { isLatest: false });
    assert.deepEqual(latest(list), ['b']);
  });

  it('moves the default flag and never has two defaults', () => {
    let list = placeVersion([], version('a', '2026-01-01T00:00:00.000Z'), { isDefault: true });
    list = placeVersion(list, version('b', '2026-01-02T00:00:00.000Z'), { isDefault: true });
    assert.deepEqual(defaults(list), ['b']);
  });

  it('refuses to take the latest flag away without giving it to another version', () => {
    const list = [
      version('a', '2026-01-01T00:00:00.000Z'),
      version('b', '2026-01-02T00:00:00.000Z', { isLatest: true }),
    ];
    assert.throws(() => placeVersion(list, list[1]!, { isLatest: false }), DomainError);
  });

  it('hands latest to the newest remaining version', () => {
    const list = [
      version('a', '2026-01-01T00:00:00.000Z'),
      version('b', '2026-01-03T00:00:00.000Z'),
      version('c', '2026-01-02T00:00:00.000Z'),
    ];
    assert.deepEqual(latest(ensureOneLatest(list)), ['b']);
  });
});

describe('auth-scheme configs', () => {
  const config = (id: string) => ({
    id,
    schemeType: 'none' as const,
    description: null,
    config: {},
    validationMessages: [],
  });

  it('reorders by a permutation of the ids', () => {
    assert.deepEqual(
      reorderConfigs([config('a'), config('b')], ['b', 'a']).map((c) => c.id),
      ['b', 'a'],
    );
  });

  it('refuses a list that is not a permutation, naming the problem', () => {
    const configs = [config('a'), config('b')];
    for (const ids of [['a'], ['a', 'b', 'c'], ['a', 'a'], ['a', 'x']]) {
      assert.throws(
        () => reorderConfigs(configs, ids),
        (e: unknown) => e instanceof DomainError && e.errors.length > 0,
        ids.join(),
      );
    }
  });

  it('says what an api-key or OAuth config is missing', () => {
    assert.deepEqual(validationMessagesFor('api-key', {}), ['config.name is not set']);
    assert.deepEqual(validationMessagesFor('api-key', { name: 'X-Key', in: 'header' }), []);
    assert.deepEqual(validationMessagesFor('oauth2-code', { tokenUrl: 'https://t' }), [
      'config.authorizeUrl is not set',
    ]);
    assert.deepEqual(validationMessagesFor('none', {}), []);
  });
});
