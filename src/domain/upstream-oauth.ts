import type { Connection } from './connection.js';
import type { AuthSchemeConfig, Connector } from './connector.js';
import { authSchemeConfigPath, pointerToken } from './sealed-places.js';

/** Where a connection's OAuth tokens stand: the refresh engine moves it, the API and metrics show it. */
export const OAUTH_STATES = ['connected', 'degraded', 'reconnect-required'] as const;
export type OAuthState = (typeof OAUTH_STATES)[number];

/** The auth schemes plugboard runs OAuth for. */
export type ManagedScheme = 'oauth2-code' | 'oauth2-client-credentials';
const MANAGED: readonly string[] = ['oauth2-code', 'oauth2-client-credentials'];

/** A connection's OAuth state as its API view shows it: never a token. */
export interface OAuthStatus {
  readonly state: OAuthState;
  readonly schemeType: ManagedScheme;
  readonly scope: string | null;
  readonly connectedAt: string;
  readonly lastRefreshAt: string | null;
  readonly expiresAt: string | null;
  /** What went wrong last, in words (no secret); null once a refresh succeeds again. */
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
}

/**
 * What plugboard needs to run OAuth for a connection, from its connector's auth-scheme config (the connection's
 * `content` may give its own `clientId` and `clientSecret`). `clientSecret` is as stored: sealed, with the place
 * it opens at.
 */
export interface OAuthSettings {
  readonly schemeType: ManagedScheme;
  readonly authSchemeConfigId: string;
  readonly authorizeUrl: string | null;
  readonly tokenUrl: string;
  /** The provider's issuer identifier, when given: checked against the `iss` of the authorization response. */
  readonly issuer: string | null;
  readonly clientId: string;
  readonly clientSecret: {
    readonly value: string;
    readonly owner: 'connector' | 'connection';
    readonly path: string;
  } | null;
  readonly scopes: readonly string[];
  /** Extra parameters for the token request of client credentials (an `audience`, say). */
  readonly audience: string | null;
}

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);
const isHttpUrl = (value: string) => /^https?:\/\/[^\s]+$/.test(value);

/** Scopes as a config may give them: a space- or comma-separated string, or a list of strings. */
export function scopesOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === 'string' && s !== '');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter((s) => s !== '');
  return [];
}

/** The connector's OAuth config this connection uses: the first its credentials name, else the connector's first. */
export function managedConfigOf(connector: Connector, connection: Connection): AuthSchemeConfig | undefined {
  const managed = connector.authSchemeConfigs.filter((c) => MANAGED.includes(c.schemeType));
  const named = connection.credentials.map((c) => managed.find((m) => m.id === c.authSchemeConfigId));
  return named.find((c) => c !== undefined) ?? managed[0];
}

/** The settings of a connection's OAuth, or why it has none that can be used (in words, for the caller). */
export function oauthSettingsOf(
  connector: Connector | undefined,
  connection: Connection,
): { ok: true; settings: OAuthSettings } | { ok: false; reason: string } {
  if (!connector)
    return { ok: false, reason: 'The connection has no connector, so no OAuth settings (token URL, client) apply.' };
  const config = managedConfigOf(connector, connection);
  if (!config)
    return {
      ok: false,
      reason: `Connector "${connector.id}" has no auth-scheme config of type oauth2-code or oauth2-client-credentials.`,
    };
  const c = config.config;
  const content = connection.content;
  const tokenUrl = text(c.tokenUrl);
  const authorizeUrl = text(c.authorizeUrl);
  const clientId = text(content.clientId) ?? text(c.clientId);
  const problems: string[] = [];
  if (!tokenUrl || !isHttpUrl(tokenUrl)) problems.push('config.tokenUrl is not an http(s) URL');
  if (config.schemeType === 'oauth2-code' && (!authorizeUrl || !isHttpUrl(authorizeUrl)))
    problems.push('config.authorizeUrl is not an http(s) URL');
  if (!clientId) problems.push('config.clientId is not set');
  if (problems.length > 0)
    return {
      ok: false,
      reason: `The OAuth settings of auth-scheme config "${config.id}" of connector "${connector.id}" cannot be used: ${problems.join('; ')}.`,
    };
  const ownSecret = text(content.clientSecret);
  const clientSecret = ownSecret
    ? { value: ownSecret, owner: 'connection' as const, path: '/content/clientSecret' }
    : text(c.clientSecret)
      ? {
          value: text(c.clientSecret)!,
          owner: 'connector' as const,
          path: `${authSchemeConfigPath(config.id)}/${pointerToken('clientSecret')}`,
        }
      : null;
  return {
    ok: true,
    settings: {
      schemeType: config.schemeType as ManagedScheme,
      authSchemeConfigId: config.id,
      authorizeUrl,
      tokenUrl: tokenUrl!,
      issuer: text(c.issuer),
      clientId: clientId!,
      clientSecret,
      scopes: scopesOf(c.scopes),
      audience: text(c.audience),
    },
  };
}

/** Whether a token that expires at `expiresAt` is due for a refresh at `now`, `marginSeconds` ahead. */
export function isDue(expiresAt: string | null, now: string, marginSeconds: number): boolean {
  if (expiresAt === null) return false;
  return Date.parse(expiresAt) - marginSeconds * 1000 <= Date.parse(now);
}

/**
 * How a failed token request is handled: `reconnect` when the grant is gone (RFC 6749 §5.2 `invalid_grant`,
 * a revoked or expired refresh token, or a client the provider no longer knows), so only a person connecting
 * again helps; `retry` for the network and the provider's 5xx, which pass.
 */
export type TokenFailure =
  { readonly kind: 'reconnect'; readonly message: string } | { readonly kind: 'retry'; readonly message: string };

const RECONNECT_ERRORS = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client', 'access_denied']);

/** Classifies an OAuth error response by its `error` code and HTTP status. */
export function classifyTokenError(error: string | undefined, status: number | undefined): TokenFailure['kind'] {
  if (error !== undefined && RECONNECT_ERRORS.has(error)) return 'reconnect';
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) return 'reconnect';
  return 'retry';
}

/** What a tool result says when a person must connect (again) before the tool works: with the connect link. */
export function reconnectMessage(connectionName: string, link: string, why: 'revoked' | 'not-connected'): string {
  const what =
    why === 'revoked'
      ? `must be connected again: its OAuth grant was revoked or has expired`
      : 'is not connected to its provider yet';
  return `The connection "${connectionName}" ${what}. Open ${link} to connect it (the link works once), then call the tool again.`;
}
