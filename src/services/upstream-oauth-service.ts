import { createHash, randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import type { Connection } from '../domain/connection.js';
import { DomainError, notFound } from '../domain/errors.js';
import {
  isDue,
  oauthSettingsOf,
  reconnectMessage,
  type ManagedScheme,
  type OAuthSettings,
  type OAuthState,
  type OAuthStatus,
} from '../domain/upstream-oauth.js';
import { egressFetch } from '../egress/egress-connect.js';
import type { EgressPolicy } from '../egress/egress-policy.js';
import { insertAuditEvent } from '../storage/audit-repo.js';
import * as tokens from '../storage/connection-token-repo.js';
import { findConnection } from '../storage/connection-repo.js';
import { findConnector } from '../storage/connector-repo.js';
import type { Db } from '../storage/database.js';
import type { Executor, Tx } from '../storage/engine.js';
import type { Writer } from '../storage/writer.js';
import { findWorkspaceUid } from '../storage/workspace-repo.js';
import type { Actor } from './actor.js';
import { authorize } from './authorize.js';
import type { Clock } from './clock.js';
import { oauthClientFactory, requestTokens, type TokenResult, type TokenSet } from './upstream-oauth-client.js';
import type { SealPlace, Vault } from './vault.js';

export interface UpstreamOAuthOptions {
  readonly refreshMarginSeconds: number;
  readonly connectTtlSeconds: number;
  readonly connectLinkTtlSeconds: number;
  readonly tokenTimeoutMs: number;
  readonly refreshAttempts: number;
}

/** Where the provider sends the browser back to, on every connection. */
export const UPSTREAM_CALLBACK_PATH = '/oauth/callback';
/** Where a connect link points: opening it starts a flow bound to the browser that opened it. */
export const CONNECT_LINK_PATH = '/oauth/connect/';

/** What a refresh came to, for the metrics. */
export type RefreshOutcome = 'ok' | 'reconnect-required' | 'degraded';

/** An access token for a call, or the words a tool result gives instead. */
export type AccessToken =
  | { readonly ok: true; readonly token: string; readonly version: number }
  | { readonly ok: false; readonly message: string };

/** A token for a call and the only origin it may be sent to (the connector's baseUrl). */
export type CallToken = (AccessToken & { readonly ok: true; readonly onlyTo: string }) | (AccessToken & { ok: false });

/** The result of a callback, for the page the person sees: never a secret. */
export type CallbackResult =
  | { readonly ok: true; readonly connectionName: string; readonly workspaceId: string }
  | { readonly ok: false; readonly status: 400 | 403; readonly message: string };

const digest = (token: string) => createHash('sha256').update(token).digest('hex');
const randomToken = () => randomBytes(32).toString('base64url');
const plus = (now: string, seconds: number) => new Date(Date.parse(now) + seconds * 1000).toISOString();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Managed OAuth to upstream APIs: connect flows (authorization code with PKCE S256 and a single-use state bound
 * to who started it), connect links for another person, client-credentials tokens, and the refresh engine.
 *
 * One refresh per connection at a time across nodes: on PostgreSQL the refresh runs inside a transaction that
 * holds the connection's token row (`SELECT … FOR UPDATE`) from before the token request until the rotated
 * tokens are written, and that commit releases the lock; a caller that waited for the lock sees the row's
 * `version` moved and uses the new token. SQLite has one writer process, so a per-process single flight is the
 * lock there, and the result is written only if the row's version is still the one the refresh started from.
 * Within a node, concurrent callers of one connection share one refresh (and one database connection).
 */
export function createUpstreamOAuthService(deps: {
  db: Db;
  writer: Writer;
  vault: Vault;
  clock: Clock;
  egress: EgressPolicy;
  options: UpstreamOAuthOptions;
  baseUrlOf: (requestOrigin: string | undefined) => string;
  onRefresh?: (outcome: RefreshOutcome) => void;
}) {
  const { db, writer, vault, clock, options } = deps;
  const configOf = oauthClientFactory(egressFetch(deps.egress), options.tokenTimeoutMs);
  const inFlight = new Map<number, Promise<AccessToken>>();

  interface Target {
    readonly connection: Connection;
    readonly settings: OAuthSettings;
    readonly workspaceUid: string;
    readonly clientSecret: string | null;
    /** The origin of the connector's baseUrl: the only one its tokens go to. */
    readonly baseOrigin: string | null;
  }

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

  async function createLink(tx: Tx, t: Target, createdBy: string, requestOrigin: string | undefined) {
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
      bound_to: null,
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

  /** Writes the outcome of a token request to a locked (or version-checked) row. */
  async function recordOutcome(
    tx: Tx,
    t: Target,
    row: tokens.TokenRow,
    result: TokenResult,
    previousRefresh: string | null,
  ): Promise<AccessToken> {
    const now = clock.now();
    if (result.ok) {
      const set = { ...result.tokens, refreshToken: result.tokens.refreshToken ?? previousRefresh };
      await tokens.updateTokens(tx, row.connection_id, {
        tokens: sealTokens(t, set),
        expires_at: set.expiresAt,
        scope: set.scope ?? row.scope,
        state: 'connected',
        last_refresh_at: now,
        last_error: null,
        last_error_at: null,
        reconnect_link_id: null,
        refresh_count: row.refresh_count + 1,
        version: row.version + 1,
        updated_at: now,
      });
      deps.onRefresh?.('ok');
      return { ok: true, token: set.accessToken, version: row.version + 1 };
    }
    const state: OAuthState = result.kind === 'reconnect' ? 'reconnect-required' : 'degraded';
    await tokens.updateTokens(tx, row.connection_id, {
      state,
      last_error: result.message,
      last_error_at: now,
      updated_at: now,
    });
    deps.onRefresh?.(state);
    if (state === 'degraded' && row.expires_at !== null && Date.parse(row.expires_at) > Date.parse(now)) {
      // The provider is down but the token has not expired yet (it was refreshed ahead of time): use it.
      return { ok: true, token: openTokens(t, row).accessToken, version: row.version };
    }
    const failed = { ...row, state, tokens: row.tokens };
    return { ok: false, message: await messageFor(tx, t, failed, result.message) };
  }

  /** Words for a tool result when a connection cannot give a token; a connect link when a person must act. */
  async function messageFor(tx: Tx, t: Target, row: tokens.TokenRow | undefined, error: string): Promise<string> {
    const name = t.connection.name;
    if (row?.state === 'degraded')
      return `The connection "${name}" could not get a fresh OAuth token after ${options.refreshAttempts} tries (${error}); plugboard tries again on the next call.`;
    // Client credentials need no person, only settings that work: connecting again would not help.
    if (t.settings.schemeType === 'oauth2-client-credentials')
      return `The provider refused the OAuth client of connection "${name}" (${error}): check the connector's clientId and clientSecret; plugboard tries again on the next call.`;
    const link = await createLink(tx, t, 'plugboard', undefined);
    // A connection never connected has no row to keep its link in: each call hands out a new one.
    if (row) {
      const sealed = JSON.parse(row.tokens) as Record<string, unknown>;
      sealed.reconnectLink = vault.seal(link.connectUrl, tokenPlace(t, 'reconnectLink'));
      await tokens.updateTokens(tx, t.connection.id, { tokens: JSON.stringify(sealed), reconnect_link_id: link.id });
    }
    return reconnectMessage(name, link.connectUrl, row ? 'revoked' : 'not-connected');
  }

  /**
   * The stored reconnect link while it still works, else a new one. Inside a transaction (`tx`) the new link is
   * written there: a second transaction would wait for the row lock the first holds.
   */
  async function reconnectMessageOf(tx: Tx | undefined, t: Target, row: tokens.TokenRow): Promise<string> {
    const stored = (JSON.parse(row.tokens) as { reconnectLink?: string | null }).reconnectLink;
    if (stored && row.reconnect_link_id) {
      const request = await tokens.findConnectRequest(tx ?? db.kysely, row.reconnect_link_id);
      if (request && request.used_at === null && Date.parse(request.expires_at) > Date.parse(clock.now()))
        return reconnectMessage(t.connection.name, vault.open(stored, tokenPlace(t, 'reconnectLink')), 'revoked');
    }
    const write = (inner: Tx) => messageFor(inner, t, row, row.last_error ?? '');
    return tx ? write(tx) : writer.write(write);
  }

  /** One token request for a row, as its scheme does it. */
  function fetchFor(t: Target, refreshToken: string | null): Promise<TokenResult> {
    const config = configOf(t.settings, t.clientSecret);
    const request =
      t.settings.schemeType === 'oauth2-client-credentials'
        ? () =>
            client.clientCredentialsGrant(config, {
              ...(t.settings.scopes.length > 0 ? { scope: t.settings.scopes.join(' ') } : {}),
              ...(t.settings.audience ? { audience: t.settings.audience } : {}),
            })
        : () => client.refreshTokenGrant(config, refreshToken!);
    return requestTokens(options.refreshAttempts, request, () => clock.now(), refreshToken, sleep);
  }

  /** Whether the row still needs what the caller came for, now that it holds the lock. */
  function stillNeeded(t: Target, row: tokens.TokenRow, seenVersion: number | undefined): boolean {
    // A refused authorization-code grant needs a person; refused client credentials are tried again, in case
    // an admin fixed the client's settings meanwhile.
    if (row.state === 'reconnect-required') return t.settings.schemeType === 'oauth2-client-credentials';
    if (seenVersion !== undefined && row.version !== seenVersion) return isDue(row.expires_at, clock.now(), 0);
    return true;
  }

  async function currentToken(t: Target, row: tokens.TokenRow, tx?: Tx): Promise<AccessToken> {
    if (row.state === 'reconnect-required') return { ok: false, message: await reconnectMessageOf(tx, t, row) };
    return { ok: true, token: openTokens(t, row).accessToken, version: row.version };
  }

  /** A first client-credentials token: the row is created (its primary key serialises concurrent creators). */
  async function firstClientToken(t: Target): Promise<AccessToken> {
    const result = await fetchFor(t, null);
    if (!result.ok) {
      deps.onRefresh?.(result.kind === 'reconnect' ? 'reconnect-required' : 'degraded');
      return {
        ok: false,
        message: `The connection "${t.connection.name}" could not get an OAuth token: ${result.message}.`,
      };
    }
    const now = clock.now();
    await writer.write((tx) => tokens.putTokens(tx, rowOf(t, result.tokens, now, null)));
    deps.onRefresh?.('ok');
    return { ok: true, token: result.tokens.accessToken, version: 1 };
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
      user_id: null,
      last_refresh_at: null,
      last_error: null,
      last_error_at: null,
      reconnect_link_id: null,
      refresh_count: 0,
      version: 1,
      updated_at: now,
    };
  }

  /** The refresh, under the lock: see the service's comment. */
  async function refreshLocked(t: Target, seenVersion: number | undefined): Promise<AccessToken> {
    const id = t.connection.id;
    if (db.engine === 'postgres') {
      return writer.write(async (tx) => {
        const row = await tokens.findTokens(tx, id, { forUpdate: true });
        if (!row) return { ok: false, message: `The connection "${t.connection.name}" is not connected.` };
        if (!stillNeeded(t, row, seenVersion)) return currentToken(t, row, tx);
        const previous = openTokens(t, row).refreshToken;
        return recordOutcome(tx, t, row, await fetchFor(t, previous), previous);
      });
    }
    const row = await tokens.findTokens(db.kysely, id);
    if (!row) return { ok: false, message: `The connection "${t.connection.name}" is not connected.` };
    if (!stillNeeded(t, row, seenVersion)) return currentToken(t, row);
    const previous = openTokens(t, row).refreshToken;
    const result = await fetchFor(t, previous);
    return writer.write(async (tx) => {
      const now = await tokens.findTokens(tx, id);
      // Nothing else refreshes on SQLite (one process, one flight per connection); a reconnect may have replaced the row.
      if (!now) return { ok: false, message: `The connection "${t.connection.name}" is not connected.` };
      if (now.version !== row.version) return currentToken(t, now, tx);
      return recordOutcome(tx, t, row, result, previous);
    });
  }

  /** One flight per connection on this node: concurrent callers wait for the same refresh. */
  function refreshOnce(t: Target, seenVersion: number | undefined): Promise<AccessToken> {
    const id = t.connection.id;
    let flight = inFlight.get(id);
    if (!flight) {
      flight = refreshLocked(t, seenVersion).finally(() => inFlight.delete(id));
      inFlight.set(id, flight);
    }
    return flight;
  }

  async function tokenFor(workspaceId: string, connectionId: number, rejected?: number): Promise<CallToken> {
    let t: Target;
    try {
      t = await targetOf(db.kysely, workspaceId, connectionId);
    } catch (error) {
      if (error instanceof DomainError) return { ok: false, message: error.message };
      throw error;
    }
    const onlyTo = t.baseOrigin;
    if (onlyTo === null)
      return {
        ok: false,
        message: `The connector of connection "${t.connection.name}" has no baseUrl: a connection's OAuth token is sent only to its connector's baseUrl, so set it.`,
      };
    const found = await tokenOf(t, connectionId, rejected);
    return found.ok ? { ...found, onlyTo } : found;
  }

  /**
   * Words for a connection whose connector's baseUrl moved since its tokens were issued: they were issued for the
   * old origin and go nowhere else, so whoever edits the connector cannot point them at a listener of their own.
   */
  async function movedMessage(t: Target, row: tokens.TokenRow): Promise<string> {
    const moved = `The connector of connection "${t.connection.name}" now sends calls to ${t.baseOrigin}, but its OAuth tokens were issued for ${row.api_origin} and go nowhere else.`;
    if (t.settings.schemeType === 'oauth2-client-credentials')
      return `${moved} Create the connection again to fetch tokens for the new baseUrl.`;
    const link = await writer.write((tx) => createLink(tx, t, 'plugboard', undefined));
    return `${moved} Open ${link.connectUrl} to connect it again (the link works once), then call the tool again.`;
  }

  async function tokenOf(t: Target, connectionId: number, rejected: number | undefined): Promise<AccessToken> {
    const row = await tokens.findTokens(db.kysely, connectionId);
    if (!row) {
      if (t.settings.schemeType === 'oauth2-client-credentials') {
        const flight = inFlight.get(connectionId) ?? firstClientToken(t).finally(() => inFlight.delete(connectionId));
        inFlight.set(connectionId, flight);
        return flight;
      }
      return { ok: false, message: await writer.write((tx) => messageFor(tx, t, undefined, '')) };
    }
    if (row.api_origin !== t.baseOrigin) return { ok: false, message: await movedMessage(t, row) };
    if (row.state === 'reconnect-required')
      return t.settings.schemeType === 'oauth2-code' ? currentToken(t, row) : refreshOnce(t, row.version);
    if (rejected !== undefined && rejected === row.version) return refreshOnce(t, row.version);
    if (rejected === undefined && isDue(row.expires_at, clock.now(), options.refreshMarginSeconds))
      return refreshOnce(t, row.version);
    return currentToken(t, row);
  }

  return {
    /**
     * Starts connecting a connection of an `oauth2-code` connector. Without `handOff` the authorization URL is
     * bound to the caller: the callback must come from a browser signed in to plugboard as the same person. With
     * `handOff`, a connect link another person can open once (no plugboard account needed), until it expires.
     */
    async connect(
      actor: Actor,
      workspaceId: string,
      connectionId: number,
      input: { handOff?: boolean },
    ): Promise<{ authorizationUrl: string | null; connectUrl: string | null; expiresAt: string }> {
      authorize(actor, 'connection:update', workspaceId);
      return writer.write(async (tx) => {
        const t = await targetOf(tx, workspaceId, connectionId);
        requireCode(t);
        if (input.handOff) {
          const link = await createLink(tx, t, actor.principal.id, actor.requestOrigin);
          return { authorizationUrl: null, connectUrl: link.connectUrl, expiresAt: link.expiresAt };
        }
        const redirectUri = `${deps.baseUrlOf(actor.requestOrigin)}${UPSTREAM_CALLBACK_PATH}`;
        const flow = await startFlow(tx, t, actor.principal.id, `principal:${actor.principal.id}`, redirectUri);
        return { authorizationUrl: flow.authorizationUrl, connectUrl: null, expiresAt: flow.expiresAt };
      });
    },

    /**
     * Opens a connect link: used once, it starts a flow bound to this browser (`browserSecret`, which the edge
     * keeps in a cookie). Undefined when the link is unknown, used or expired.
     */
    async openLink(
      linkToken: string,
      browserSecret: string,
      requestOrigin: string | undefined,
    ): Promise<{ authorizationUrl: string } | { refused: string }> {
      const request = await tokens.findConnectRequest(db.kysely, digest(linkToken));
      const now = clock.now();
      if (!request || request.kind !== 'link') return { refused: 'This connect link is not known.' };
      if (request.used_at !== null) return { refused: 'This connect link was already used. Ask for a new one.' };
      if (Date.parse(request.expires_at) <= Date.parse(now))
        return { refused: 'This connect link has expired. Ask for a new one.' };
      return writer.write(async (tx) => {
        if (!(await tokens.useConnectRequest(tx, request.id, now)))
          return { refused: 'This connect link was already used. Ask for a new one.' };
        let t: Target;
        try {
          t = await targetOf(tx, request.workspace_id, request.connection_id);
        } catch (error) {
          if (error instanceof DomainError) return { refused: error.message };
          throw error;
        }
        if (t.connection.uid !== request.connection_uid)
          return { refused: 'The connection this link was for is gone.' };
        if (t.settings.schemeType !== 'oauth2-code')
          return { refused: 'The connection this link was for no longer uses the authorization code flow.' };
        const redirectUri = `${deps.baseUrlOf(requestOrigin)}${UPSTREAM_CALLBACK_PATH}`;
        const flow = await startFlow(tx, t, request.created_by, `browser:${digest(browserSecret)}`, redirectUri);
        return { authorizationUrl: flow.authorizationUrl };
      });
    },

    /**
     * Completes a flow at the callback: the state must be known, unused, unexpired and brought back by whom it
     * is bound to (the signed-in person, or the browser that opened the connect link); then the code is
     * exchanged (PKCE verifier, through the egress policy) and the tokens stored sealed.
     */
    async finish(
      callbackUrl: URL,
      caller: {
        readonly principalId: string | undefined;
        readonly browserSecret: string | undefined;
        readonly requestId: string;
      },
    ): Promise<CallbackResult> {
      const refused = (status: 400 | 403, message: string): CallbackResult => ({ ok: false, status, message });
      const state = callbackUrl.searchParams.get('state');
      if (!state) return refused(400, 'The provider sent no state back: this page was not opened by a connect flow.');
      const request = await tokens.findConnectRequest(db.kysely, digest(state));
      if (!request || request.kind !== 'flow')
        return refused(400, 'This connect flow is not known. Start connecting again.');
      const now = clock.now();
      if (request.used_at !== null) return refused(400, 'This connect flow was already completed. Start again.');
      if (Date.parse(request.expires_at) <= Date.parse(now))
        return refused(400, 'This connect flow took too long and has expired. Start connecting again.');
      const expected = request.bound_to ?? '';
      const actual = expected.startsWith('principal:')
        ? caller.principalId && `principal:${caller.principalId}`
        : caller.browserSecret && `browser:${digest(caller.browserSecret)}`;
      if (actual !== expected)
        return refused(
          403,
          expected.startsWith('principal:')
            ? 'This connect flow was started by someone else (or you are not signed in to plugboard as the person who started it).'
            : 'This connect flow was started in another browser.',
        );
      return writer.write(async (tx): Promise<CallbackResult> => {
        if (!(await tokens.useConnectRequest(tx, request.id, now)))
          return refused(400, 'This connect flow was already completed. Start again.');
        const error = callbackUrl.searchParams.get('error');
        if (error) {
          const description = callbackUrl.searchParams.get('error_description');
          return refused(
            400,
            `The provider did not grant access (${error.slice(0, 64)}${description ? `: ${description.slice(0, 300)}` : ''}).`,
          );
        }
        let t: Target;
        try {
          t = await targetOf(tx, request.workspace_id, request.connection_id);
        } catch (e) {
          if (e instanceof DomainError) return refused(400, e.message);
          throw e;
        }
        if (t.connection.uid !== request.connection_uid) return refused(400, 'The connection is gone.');
        const verifier = vault.open(request.verifier!, { ...tokenPlace(t, 'verifier'), path: '/connect/verifier' });
        const url = new URL(request.redirect_uri!);
        url.search = callbackUrl.search;
        // Without a configured issuer there is no identifier to check `iss` against (RFC 9207 §2.4).
        if (!t.settings.issuer) url.searchParams.delete('iss');
        const result = await requestTokens(
          1,
          () =>
            client.authorizationCodeGrant(configOf(t.settings, t.clientSecret), url, {
              pkceCodeVerifier: verifier,
              expectedState: state,
            }),
          () => clock.now(),
          null,
          sleep,
        );
        if (!result.ok) return refused(400, `The provider refused to hand out tokens: ${result.message}.`);
        const row = rowOf(t, result.tokens, now, request.created_by);
        await tokens.putTokens(tx, { ...row, connected_by: request.created_by });
        // Audited as whoever started it (a connect link: whoever handed it out); `link` says a link was used.
        await insertAuditEvent(tx, {
          at: now,
          principalId: caller.principalId ?? request.created_by,
          workspaceId: t.connection.workspaceId,
          action: 'connection:connect',
          resourceType: 'connection',
          resourceId: String(t.connection.id),
          requestId: caller.requestId,
          fromRevision: null,
          toRevision: null,
          changedFields: expected.startsWith('browser:') ? ['oauth', 'link'] : ['oauth'],
        });
        return { ok: true, connectionName: t.connection.name, workspaceId: t.connection.workspaceId };
      });
    },

    /**
     * The access token for a call through a connection: refreshed first when it is due (within the margin),
     * fetched first for client credentials. A connection that cannot give one says why, in words for a tool result.
     */
    accessToken: (workspaceId: string, connectionId: number) => tokenFor(workspaceId, connectionId),

    /** After the upstream answered 401 to the token of `version`: refreshes it (once, across nodes) unless done already. */
    afterRejection: (workspaceId: string, connectionId: number, version: number) =>
      tokenFor(workspaceId, connectionId, version),

    /** The OAuth status of connections, by id, for their API views; absent for a connection never connected. */
    async statusOf(connectionIds: readonly number[]): Promise<Map<number, OAuthStatus>> {
      const rows = await tokens.findTokensOf(db.kysely, connectionIds);
      return new Map(
        rows.map((r) => [
          r.connection_id,
          {
            state: r.state as OAuthState,
            schemeType: r.scheme_type as ManagedScheme,
            scope: r.scope,
            connectedAt: r.connected_at,
            lastRefreshAt: r.last_refresh_at,
            expiresAt: r.expires_at,
            lastError: r.last_error,
            lastErrorAt: r.last_error_at,
          },
        ]),
      );
    },

    /** How many connections are in each OAuth state, for the metrics. */
    countStates: () => tokens.countTokenStates(db.kysely),

    /** Drops connect flows and links that expired a day ago or more. */
    purgeExpired: () => writer.write((tx) => tokens.purgeConnectRequests(tx, plus(clock.now(), -24 * 3600))),
  };
}

export type UpstreamOAuthService = ReturnType<typeof createUpstreamOAuthService>;
