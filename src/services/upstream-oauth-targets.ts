import { createHash, randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import type { Connection } from '../domain/connection.js';
import { DomainError, notFound } from '../domain/errors.js';
import { oauthSettingsOf, type OAuthSettings } from '../domain/upstream-oauth.js';
import * as tokens from '../storage/connection-token-repo.js';
import { findConnection } from '../storage/connection-repo.js';
import { findConnector } from '../storage/connector-repo.js';
import type { Executor, Tx } from '../storage/engine.js';
import { findWorkspaceUid } from '../storage/workspace-repo.js';
import type { Clock } from './clock.js';
import type { OAuthClientOf, TokenSet } from './upstream-oauth-client.js';
import type { SealPlace, Vault } from './vault.js';

/** `bound_to` of a connect link only a signed-in person who may change the connection can use. */
export const LINK_FOR_EDITORS = 'editors';

/** Where the provider sends the browser back to, on every connection. */
export const UPSTREAM_CALLBACK_PATH = '/oauth/callback';
/** Where a connect link points: its page's POST starts a flow bound to the browser that sent it. */
export const CONNECT_LINK_PATH = '/oauth/connect/';

export const digest = (token: string) => createHash('sha256').update(token).digest('hex');
const randomToken = () => randomBytes(32).toString('base64url');
export const plus = (now: string, seconds: number) => new Date(Date.parse(now) + seconds * 1000).toISOString();

/** A connection with what running OAuth for it needs: its settings, its opened client secret, where tokens go. */
export interface Target {
  readonly connection: Connection;
  readonly settings: OAuthSettings;
  readonly workspaceUid: string;
  readonly clientSecret: string | null;
  /** The origin of the connector's baseUrl: the only one its tokens go to. */
  readonly baseOrigin: string | null;
}

/**
 * What the connect flows and the refresh engine share: finding a connection's OAuth settings, sealing and opening
 * its tokens (bound to the connection, path `/tokens/…`), starting flows and handing out connect links.
 */
export function createOAuthTargets(deps: {
  vault: Vault;
  clock: Clock;
  configOf: OAuthClientOf;
  connectTtlSeconds: number;
  connectLinkTtlSeconds: number;
  baseUrlOf: (requestOrigin: string | undefined) => string;
}) {
  const { vault, clock, configOf } = deps;
  const options = { connectTtlSeconds: deps.connectTtlSeconds, connectLinkTtlSeconds: deps.connectLinkTtlSeconds };

  const tokenPlace = (t: Pick<Target, 'workspaceUid' | 'connection'>, key: string): SealPlace => ({
    workspaceUid: t.workspaceUid,
    resourceUid: t.connection.uid,
    path: `/tokens/${key}`,
  });

  /** The connection, its OAuth settings and opened client secret; a DomainError when it has none usable. */
  async function targetOf(ex: Executor, workspaceId: string, connectionId: number): Promise<Target> {
    const connection = await findConnection(ex, workspaceId, connectionId);
    if (!connection) throw notFound(`Connection ${connectionId}`);
    const connector = connection.connectorId ? await findConnector(ex, workspaceId, connection.connectorId) : undefined;
    const found = oauthSettingsOf(connector, connection);
    if (!found.ok) throw new DomainError('bad-request', found.reason);
    const workspaceUid = (await findWorkspaceUid(ex, workspaceId)) ?? '';
    const secret = found.settings.clientSecret;
    const clientSecret =
      secret === null
        ? null
        : vault.open(secret.value, {
            workspaceUid,
            resourceUid: secret.owner === 'connector' ? connector!.uid : connection.uid,
            path: secret.path,
          });
    const baseOrigin = connector?.baseUrl ? new URL(connector.baseUrl).origin : null;
    return { connection, settings: found.settings, workspaceUid, clientSecret, baseOrigin };
  }

  function sealTokens(t: Target, set: TokenSet): string {
    return JSON.stringify({
      accessToken: vault.seal(set.accessToken, tokenPlace(t, 'accessToken')),
      refreshToken: set.refreshToken === null ? null : vault.seal(set.refreshToken, tokenPlace(t, 'refreshToken')),
    });
  }

  function openTokens(t: Target, row: tokens.TokenRow): { accessToken: string; refreshToken: string | null } {
    const sealed = JSON.parse(row.tokens) as { accessToken: string; refreshToken: string | null };
    return {
      accessToken: vault.open(sealed.accessToken, tokenPlace(t, 'accessToken')),
      refreshToken:
        sealed.refreshToken === null ? null : vault.open(sealed.refreshToken, tokenPlace(t, 'refreshToken')),
    };
  }

  /** Starts a flow: a state (its digest stored) and a PKCE verifier (sealed), bound to `boundTo`. */
  async function startFlow(tx: Tx, t: Target, createdBy: string, boundTo: string, redirectUri: string) {
    const now = clock.now();
    const state = randomToken();
    const verifier = client.randomPKCECodeVerifier();
    const expiresAt = plus(now, options.connectTtlSeconds);
    await tokens.insertConnectRequest(tx, {
      id: digest(state),
      kind: 'flow',
      workspace_id: t.connection.workspaceId,
      connection_id: t.connection.id,
      connection_uid: t.connection.uid,
      created_by: createdBy,
      bound_to: boundTo,
      verifier: vault.seal(verifier, { ...tokenPlace(t, 'verifier'), path: '/connect/verifier' }),
      redirect_uri: redirectUri,
      created_at: now,
      expires_at: expiresAt,
      used_at: null,
    });
    const url = client.buildAuthorizationUrl(configOf(t.settings, t.clientSecret), {
      redirect_uri: redirectUri,
      ...(t.settings.scopes.length > 0 ? { scope: t.settings.scopes.join(' ') } : {}),
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    return { authorizationUrl: url.href, expiresAt };
  }

  /**
   * A single-use connect link. A person's own connection is connected by that person only (`user:<id>`). A link
   * plugboard puts into a tool error (`forEditors`) went to whoever called the tool — an agent, and whatever reads
   * its output — so for a shared connection it works only for someone signed in who may change the connection
   * (`editors`): connecting it puts an account behind every caller's calls. A link an editor hands out on purpose
   * works for whoever they gave it to.
   */
  async function createLink(
    tx: Tx,
    t: Target,
    createdBy: string,
    requestOrigin: string | undefined,
    link: { forEditors?: boolean } = {},
  ) {
    const now = clock.now();
    const token = randomToken();
    const expiresAt = plus(now, options.connectLinkTtlSeconds);
    await tokens.insertConnectRequest(tx, {
      id: digest(token),
      kind: 'link',
      workspace_id: t.connection.workspaceId,
      connection_id: t.connection.id,
      connection_uid: t.connection.uid,
      created_by: createdBy,
      bound_to:
        t.connection.ownerUserId !== null
          ? `user:${t.connection.ownerUserId}`
          : link.forEditors
            ? LINK_FOR_EDITORS
            : null,
      verifier: null,
      redirect_uri: null,
      created_at: now,
      expires_at: expiresAt,
      used_at: null,
    });
    return { id: digest(token), connectUrl: `${deps.baseUrlOf(requestOrigin)}${CONNECT_LINK_PATH}${token}`, expiresAt };
  }

  function requireCode(t: Target): void {
    if (t.settings.schemeType !== 'oauth2-code')
      throw new DomainError(
        'bad-request',
        `Connection ${t.connection.id} uses ${t.settings.schemeType}: plugboard fetches its tokens itself, there is nothing to connect.`,
      );
  }

  function rowOf(t: Target, set: TokenSet, now: string, connectedBy: string | null): tokens.TokenRow {
    return {
      connection_id: t.connection.id,
      workspace_id: t.connection.workspaceId,
      connection_uid: t.connection.uid,
      scheme_type: t.settings.schemeType,
      tokens: sealTokens(t, set),
      api_origin: t.baseOrigin ?? '',
      scope: set.scope,
      expires_at: set.expiresAt,
      state: 'connected',
      connected_at: now,
      connected_by: connectedBy,
      user_id: t.connection.ownerUserId,
      last_refresh_at: null,
      last_error: null,
      last_error_at: null,
      reconnect_link_id: null,
      refresh_count: 0,
      version: 1,
      updated_at: now,
    };
  }

  return { tokenPlace, targetOf, sealTokens, openTokens, startFlow, createLink, requireCode, rowOf };
}

export type OAuthTargets = ReturnType<typeof createOAuthTargets>;
