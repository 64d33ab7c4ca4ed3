import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from './connection.js';
import type { AuthSchemeConfig, Connector } from './connector.js';
import { classifyTokenError, isDue, oauthSettingsOf, scopesOf } from './upstream-oauth.js';

const config = (id: string, schemeType: AuthSchemeConfig['schemeType'], settings: Record<string, unknown>) =>
  ({ id, schemeType, description: null, config: settings, validationMessages: [] }) as AuthSchemeConfig;
const connector = (configs: AuthSchemeConfig[]) =>
  ({ id: 'api', uid: 'u-connector', authSchemeConfigs: configs }) as unknown as Connector;
const connection = (credentials: { authSchemeConfigId: string }[] = [], content: Record<string, unknown> = {}) =>
  ({ id: 1, uid: 'u-connection', name: 'main', content, credentials }) as unknown as Connection;
const code = {
  authorizeUrl: 'https://id.example/authorize',
  tokenUrl: 'https://id.example/token',
  clientId: 'app',
  clientSecret: 'pbenc:sealed',
  scopes: 'read, write',
};

describe('upstream OAuth settings', () => {
  it('takes the config the connection names, else the connector’s first OAuth config', () => {
    const configs = [
      config('key', 'api-key', { name: 'x' }),
      config('first', 'oauth2-code', code),
      config('second', 'oauth2-client-credentials', { tokenUrl: 'https://id.example/token', clientId: 'svc' }),
    ];
    const named = oauthSettingsOf(connector(configs), connection([{ authSchemeConfigId: 'second' }]));
    assert.ok(named.ok);
    assert.equal(named.settings.authSchemeConfigId, 'second');
    const first = oauthSettingsOf(connector(configs), connection([{ authSchemeConfigId: 'key' }]));
    assert.ok(first.ok);
    assert.equal(first.settings.authSchemeConfigId, 'first');
    assert.deepEqual(first.settings.scopes, ['read', 'write']);
    assert.deepEqual(first.settings.clientSecret, {
      value: 'pbenc:sealed',
      owner: 'connector',
      path: '/authSchemeConfigs/first/config/clientSecret',
    });
  });

  it("lets a connection's content give its own client, opened at the connection", () => {
    const found = oauthSettingsOf(
      connector([config('c', 'oauth2-code', code)]),
      connection([], { clientId: 'own', clientSecret: 'pbenc:own' }),
    );
    assert.ok(found.ok);
    assert.equal(found.settings.clientId, 'own');
    assert.deepEqual(found.settings.clientSecret, {
      value: 'pbenc:own',
      owner: 'connection',
      path: '/content/clientSecret',
    });
  });

  it('says what is missing instead of guessing', () => {
    const none = oauthSettingsOf(undefined, connection());
    assert.ok(!none.ok && /has no connector/.test(none.reason));
    const noOAuth = oauthSettingsOf(connector([config('k', 'api-key', {})]), connection());
    assert.ok(!noOAuth.ok && /no auth-scheme config of type oauth2-code/.test(noOAuth.reason));
    const broken = oauthSettingsOf(
      connector([config('c', 'oauth2-code', { tokenUrl: 'ftp://x', authorizeUrl: '' })]),
      connection(),
    );
    assert.ok(!broken.ok);
    assert.match(
      broken.reason,
      /config\.tokenUrl is not an http\(s\) URL; config\.authorizeUrl is not an http\(s\) URL; config\.clientId is not set/,
    );
  });

  it('reads scopes given as a string or a list', () => {
    assert.deepEqual(scopesOf('a b,c  d'), ['a', 'b', 'c', 'd']);
    assert.deepEqual(scopesOf(['a', '', 3, 'b']), ['a', 'b']);
    assert.deepEqual(scopesOf(undefined), []);
  });
});

describe('the refresh engine’s rules', () => {
  it('is due within the margin before expiry, never without an expiry', () => {
    const now = '2026-01-01T00:00:00.000Z';
    assert.equal(isDue('2026-01-01T00:01:00.000Z', now, 60), true);
    assert.equal(isDue('2026-01-01T00:01:01.000Z', now, 60), false);
    assert.equal(isDue('2025-12-31T23:59:59.000Z', now, 0), true);
    assert.equal(isDue(null, now, 60), false);
  });

  it('asks a person to reconnect only when the grant or the client is refused', () => {
    assert.equal(classifyTokenError('invalid_grant', 400), 'reconnect');
    assert.equal(classifyTokenError('invalid_client', 401), 'reconnect');
    assert.equal(classifyTokenError('unauthorized_client', 400), 'reconnect');
    assert.equal(classifyTokenError(undefined, 403), 'reconnect');
    assert.equal(classifyTokenError('temporarily_unavailable', 503), 'retry');
    assert.equal(classifyTokenError(undefined, 502), 'retry');
    assert.equal(classifyTokenError(undefined, 429), 'retry');
    assert.equal(classifyTokenError(undefined, 408), 'retry');
    assert.equal(classifyTokenError(undefined, undefined), 'retry');
  });
});
