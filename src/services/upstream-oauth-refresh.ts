import * as client from 'openid-client';
import { DomainError } from '../domain/errors.js';
import { isDue, reconnectMessage, type OAuthState } from '../domain/upstream-oauth.js';
import type { ConnectionEvent, WebhookEventType } from '../domain/webhook.js';
import * as tokens from '../storage/connection-token-repo.js';
import type { Db } from '../storage/database.js';
import type { Tx } from '../storage/engine.js';
import type { Writer } from '../storage/writer.js';
import type { Clock } from './clock.js';
import { requestTokens, type OAuthClientOf, type TokenResult } from './upstream-oauth-client.js';
import type { OAuthTargets, Target } from './upstream-oauth-targets.js';
import type { Vault } from './vault.js';
import { emitConnectionEvent } from './webhook-events.js';

/** What a refresh came to, for the metrics. */
export type RefreshOutcome = 'ok' | 'reconnect-required' | 'degraded';

/** An access token for a call, or the words a tool result gives instead. */
export type AccessToken =
  | { readonly ok: true; readonly token: string; readonly version: number }
  | { readonly ok: false; readonly message: string; readonly connectUrl?: string };

/** Words for a tool result, and the connect link in them when a person must act. */
interface Refusal {
  readonly message: string;
  readonly connectUrl?: string;
}

/** A token for a call and the only origin it may be sent to (the connector's baseUrl). */
export type CallToken = (AccessToken & { readonly ok: true; readonly onlyTo: string }) | (AccessToken & { ok: false });

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The webhook event of a change of a connection's OAuth. */
export function eventOf(
  t: Target,
  type: WebhookEventType,
  at: string,
  state: OAuthState,
  error: string | null,
): ConnectionEvent {
  const { id, uid, name, workspaceId } = t.connection;
  return { type, at, workspaceId, connection: { id, uid, name }, state, error };
}

/**
 * The refresh engine: a token for each call, refreshed ahead of expiry, after an upstream 401, and fetched for
 * client credentials.
 *
 * One refresh per connection at a time across nodes: on PostgreSQL the refresh runs inside a transaction that
 * holds the connection's token row (`SELECT … FOR UPDATE`) from before the token request until the rotated
 * tokens are written, and that commit releases the lock; a caller that waited for the lock sees the row's
 * `version` moved and uses the new token. SQLite has one writer process, so a per-process single flight is the
 * lock there, and the result is written only if the row's version is still the one the refresh started from.
 * Within a node, concurrent callers of one connection share one refresh (and one database connection).
 */
export function createRefreshEngine(deps: {
  db: Db;
  writer: Writer;
  vault: Vault;
  clock: Clock;
  configOf: OAuthClientOf;
  targets: OAuthTargets;
  options: { readonly refreshMarginSeconds: number; readonly refreshAttempts: number };
  onRefresh?: (outcome: RefreshOutcome) => void;
}) {
  const { db, writer, vault, clock, configOf, options } = deps;
  const { tokenPlace, targetOf, sealTokens, openTokens, createLink, rowOf } = deps.targets;
  const inFlight = new Map<number, Promise<AccessToken>>();

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
      if (row.state !== 'connected')
        await emitConnectionEvent(tx, eventOf(t, 'connection.recovered', now, 'connected', null));
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
    // Once per change of state, not once per failed call: a provider that is down fails every call's refresh.
    if (row.state !== state) {
      await emitConnectionEvent(tx, eventOf(t, 'connection.refresh_failed', now, state, result.message));
      if (state === 'reconnect-required')
        await emitConnectionEvent(tx, eventOf(t, 'connection.reconnect_required', now, state, result.message));
    }
    deps.onRefresh?.(state);
    if (state === 'degraded' && row.expires_at !== null && Date.parse(row.expires_at) > Date.parse(now)) {
      // The provider is down but the token has not expired yet (it was refreshed ahead of time): use it.
      return { ok: true, token: openTokens(t, row).accessToken, version: row.version };
    }
    const failed = { ...row, state, tokens: row.tokens };
    return { ok: false, ...(await messageFor(tx, t, failed, result.message)) };
  }

  /** Words for a tool result when a connection cannot give a token; a connect link when a person must act. */
  async function messageFor(tx: Tx, t: Target, row: tokens.TokenRow | undefined, error: string): Promise<Refusal> {
    const name = t.connection.name;
    if (row?.state === 'degraded')
      return {
        message: `The connection "${name}" could not get a fresh OAuth token after ${options.refreshAttempts} tries (${error}); plugboard tries again on the next call.`,
      };
    // Client credentials need no person, only settings that work: connecting again would not help.
    if (t.settings.schemeType === 'oauth2-client-credentials')
      return {
        message: `The provider refused the OAuth client of connection "${name}" (${error}): check the connector's clientId and clientSecret; plugboard tries again on the next call.`,
      };
    const link = await createLink(tx, t, 'plugboard', undefined, { forEditors: true });
    // A connection never connected has no row to keep its link in: each call hands out a new one.
    if (row) {
      const sealed = JSON.parse(row.tokens) as Record<string, unknown>;
      sealed.reconnectLink = vault.seal(link.connectUrl, tokenPlace(t, 'reconnectLink'));
      await tokens.updateTokens(tx, t.connection.id, { tokens: JSON.stringify(sealed), reconnect_link_id: link.id });
    }
    return {
      message: reconnectMessage(name, link.connectUrl, row ? 'revoked' : 'not-connected'),
      connectUrl: link.connectUrl,
    };
  }

  /**
   * The stored reconnect link while it still works, else a new one. Inside a transaction (`tx`) the new link is
   * written there: a second transaction would wait for the row lock the first holds.
   */
  async function reconnectMessageOf(tx: Tx | undefined, t: Target, row: tokens.TokenRow): Promise<Refusal> {
    const stored = (JSON.parse(row.tokens) as { reconnectLink?: string | null }).reconnectLink;
    if (stored && row.reconnect_link_id) {
      const request = await tokens.findConnectRequest(tx ?? db.kysely, row.reconnect_link_id);
      if (request && request.used_at === null && Date.parse(request.expires_at) > Date.parse(clock.now())) {
        const connectUrl = vault.open(stored, tokenPlace(t, 'reconnectLink'));
        return { message: reconnectMessage(t.connection.name, connectUrl, 'revoked'), connectUrl };
      }
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
    if (row.state === 'reconnect-required') return { ok: false, ...(await reconnectMessageOf(tx, t, row)) };
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
    await writer.write(async (tx) => {
      await tokens.putTokens(tx, rowOf(t, result.tokens, now, null));
      await emitConnectionEvent(tx, eventOf(t, 'connection.connected', now, 'connected', null));
    });
    deps.onRefresh?.('ok');
    return { ok: true, token: result.tokens.accessToken, version: 1 };
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
      // The same tokens as `row` (the version did not move), and the state as it is now.
      return recordOutcome(tx, t, now, result, previous);
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

  /**
   * A token of a connection for a call made for `user`: null for a toolset's shared connection, which must then be
   * shared; a person's id for their own. A connection that belongs to someone else gives nobody a token.
   */
  async function tokenFor(
    workspaceId: string,
    connectionId: number,
    user: string | null,
    rejected?: number,
  ): Promise<CallToken> {
    let t: Target;
    try {
      t = await targetOf(db.kysely, workspaceId, connectionId);
    } catch (error) {
      if (error instanceof DomainError) return { ok: false, message: error.message };
      throw error;
    }
    if (t.connection.ownerUserId !== user)
      return {
        ok: false,
        message:
          user === null
            ? `The connection "${t.connection.name}" belongs to a person: its tokens go only into that person's own calls of a per-user toolset.`
            : `The connection "${t.connection.name}" is not yours.`,
      };
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
  async function movedMessage(t: Target, row: tokens.TokenRow): Promise<Refusal> {
    const moved = `The connector of connection "${t.connection.name}" now sends calls to ${t.baseOrigin}, but its OAuth tokens were issued for ${row.api_origin} and go nowhere else.`;
    if (t.settings.schemeType === 'oauth2-client-credentials')
      return { message: `${moved} Create the connection again to fetch tokens for the new baseUrl.` };
    const link = await writer.write((tx) => createLink(tx, t, 'plugboard', undefined, { forEditors: true }));
    return {
      message: `${moved} Open ${link.connectUrl} to connect it again (the link works once), then call the tool again.`,
      connectUrl: link.connectUrl,
    };
  }

  async function tokenOf(t: Target, connectionId: number, rejected: number | undefined): Promise<AccessToken> {
    const row = await tokens.findTokens(db.kysely, connectionId);
    if (!row) {
      if (t.settings.schemeType === 'oauth2-client-credentials') {
        const flight = inFlight.get(connectionId) ?? firstClientToken(t).finally(() => inFlight.delete(connectionId));
        inFlight.set(connectionId, flight);
        return flight;
      }
      return { ok: false, ...(await writer.write((tx) => messageFor(tx, t, undefined, ''))) };
    }
    if (row.api_origin !== t.baseOrigin) return { ok: false, ...(await movedMessage(t, row)) };
    if (row.state === 'reconnect-required')
      return t.settings.schemeType === 'oauth2-code' ? currentToken(t, row) : refreshOnce(t, row.version);
    if (rejected !== undefined && rejected === row.version) return refreshOnce(t, row.version);
    if (rejected === undefined && isDue(row.expires_at, clock.now(), options.refreshMarginSeconds))
      return refreshOnce(t, row.version);
    return currentToken(t, row);
  }

  return { tokenFor };
}
