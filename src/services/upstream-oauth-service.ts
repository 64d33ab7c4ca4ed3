import type { Connection } from '../domain/connection.js';
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { standingOf } from '../domain/connection-owner.js';
import { DomainError, forbidden, notFound } from '../domain/errors.js';
import { can, type Principal } from '../domain/permissions.js';
import type { ManagedScheme, OAuthState, OAuthStatus } from '../domain/upstream-oauth.js';
import { egressFetch } from '../egress/egress-connect.js';
import type { EgressPolicy } from '../egress/egress-policy.js';
import { insertAuditEvent } from '../storage/audit-repo.js';
import { newUid } from '../domain/ids.js';
import * as tokens from '../storage/connection-token-repo.js';
import { findOwnedConnection, insertConnection } from '../storage/connection-repo.js';
import { findConnector } from '../storage/connector-repo.js';
import type { Db } from '../storage/database.js';
import type { Writer } from '../storage/writer.js';
import type { Tx } from '../storage/engine.js';
import type { Actor } from './actor.js';
import { authorize } from './authorize.js';
import type { Clock } from './clock.js';
import { oauthClientFactory, requestTokens } from './upstream-oauth-client.js';
import { createRefreshEngine, eventOf, type CallToken, type RefreshOutcome } from './upstream-oauth-refresh.js';
import { emitConnectionEvent } from './webhook-events.js';
import {
  CONNECT_LINK_PATH,
  LINK_FOR_EDITORS,
  UPSTREAM_CALLBACK_PATH,
  createOAuthTargets,
  digest,
  plus,
  type Target,
} from './upstream-oauth-targets.js';
import type { Vault } from './vault.js';

export { CONNECT_LINK_PATH, UPSTREAM_CALLBACK_PATH };
export type { AccessToken, CallToken, RefreshOutcome } from './upstream-oauth-refresh.js';

export interface UpstreamOAuthOptions {
  readonly refreshMarginSeconds: number;
  readonly connectTtlSeconds: number;
  readonly connectLinkTtlSeconds: number;
  readonly tokenTimeoutMs: number;
  readonly refreshAttempts: number;
}

/** The result of a callback, for the page the person sees: never a secret. */
export type CallbackResult =
  | {
      readonly ok: true;
      readonly connectionName: string;
      readonly workspaceId: string;
      readonly connectionId: number;
      /** Whether a signed-in person started it (the console's Connect), not someone who was sent a connect link. */
      readonly startedByPerson: boolean;
    }
  | { readonly ok: false; readonly status: 400 | 403; readonly message: string };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Managed OAuth to upstream APIs: connect flows (authorization code with PKCE S256 and a single-use state bound
 * to who started it), connect links for another person, and the refresh engine (upstream-oauth-refresh.ts).
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
  const targets = createOAuthTargets({
    vault,
    clock,
    configOf,
    connectTtlSeconds: options.connectTtlSeconds,
    connectLinkTtlSeconds: options.connectLinkTtlSeconds,
    baseUrlOf: deps.baseUrlOf,
  });
  const { targetOf, tokenPlace, startFlow, createLink, requireCode, rowOf } = targets;
  const { tokenFor } = createRefreshEngine({
    db,
    writer,
    vault,
    clock,
    configOf,
    targets,
    options,
    onRefresh: deps.onRefresh,
  });

  /**
   * Makes a person's own connection of a connector, not connected yet, named after them; a reason in words when
   * the connector cannot have one. Two calls at once (on two nodes) make one: the unique index of (workspace,
   * connector, owner) refuses the second, which then reads the first.
   */
  async function ownConnectionFor(workspaceId: string, connectorId: string, userId: string, requestId: string) {
    const connector = await findConnector(db.kysely, workspaceId, connectorId);
    const code = connector?.authSchemeConfigs.find((c) => c.schemeType === 'oauth2-code');
    if (!connector || !code)
      return `The toolset's per-user credentials name connector "${connectorId}", which is gone or has no oauth2-code auth scheme.`;
    const now = clock.now();
    const insert = (name: string) =>
      writer.write(async (tx) => {
        const connection = await insertConnection(tx, {
          workspaceId,
          uid: newUid('connection'),
          connectorId,
          name: name.slice(0, 128),
          type: 'http',
          envType: 0,
          description: 'Made for its owner by their first call of a per-user toolset.',
          status: 'active',
          content: {},
          variables: connector.connectionVariables,
          credentials: [{ kind: 'action', authSchemeConfigId: code.id, secret: null }],
          health: { state: 'unknown', checkedAt: null, message: null },
          createdAt: now,
          updatedAt: now,
          revision: 1,
          ownerUserId: userId,
        });
        await insertAuditEvent(tx, {
          at: now,
          principalId: userId,
          workspaceId,
          action: 'connection:create',
          resourceType: 'connection',
          resourceId: String(connection.id),
          requestId,
          fromRevision: null,
          toRevision: 1,
          changedFields: ['ownerUserId'],
        });
        return connection;
      });
    const name = `personal-${userId}`;
    try {
      return await insert(name);
    } catch (error) {
      const made = await findOwnedConnection(db.kysely, workspaceId, connectorId, userId);
      if (made) return made;
      // Not made by another call: the name is some other connection's. A random suffix cannot collide.
      return insert(`${name.slice(0, 100)}-${randomBytes(6).toString('hex')}`).catch(() => {
        throw error;
      });
    }
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
        const standing = standingOf(actor.principal, workspaceId, t.connection);
        if (standing === 'none') throw notFound(`Connection ${connectionId}`);
        requireCode(t);
        // An admin connecting someone's connection would put the admin's account behind that person's calls.
        if (standing === 'manage' && !input.handOff)
          throw forbidden(
            `Connection ${connectionId} belongs to another person: only they connect it. Hand them a connect link (handOff) instead; it works only for them.`,
          );
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
     * keeps in a cookie). The link of a person's own connection works only in a browser signed in to plugboard as
     * that person (`principalId`), and its flow is bound to them; anyone else is refused without using it up.
     */
    async openLink(
      linkToken: string,
      browserSecret: string,
      requestOrigin: string | undefined,
      person?: Principal,
    ): Promise<{ authorizationUrl: string } | { refused: string; forSomeoneElse?: true }> {
      const principalId = person?.id;
      const request = await tokens.findConnectRequest(db.kysely, digest(linkToken));
      const now = clock.now();
      if (!request || request.kind !== 'link') return { refused: 'This connect link is not known.' };
      if (request.used_at !== null) return { refused: 'This connect link was already used. Ask for a new one.' };
      if (Date.parse(request.expires_at) <= Date.parse(now))
        return { refused: 'This connect link has expired. Ask for a new one.' };
      const boundUser = request.bound_to?.startsWith('user:') ? request.bound_to.slice('user:'.length) : undefined;
      if (boundUser !== undefined && boundUser !== principalId)
        return {
          refused:
            principalId === undefined
              ? 'This connect link is for a personal connection: sign in to plugboard as the person it was made for, then open it again.'
              : 'This connect link was made for another person: only they can use it.',
          forSomeoneElse: true,
        };
      const forEditors = request.bound_to === LINK_FOR_EDITORS;
      if (forEditors && (!person || can(person, 'connection:update', request.workspace_id) !== 'allowed'))
        return {
          refused:
            person === undefined
              ? 'This reconnect link is for the people who may change the connection: sign in to plugboard as an editor, admin or owner of its workspace, then open it again.'
              : 'This reconnect link is for the people who may change the connection; your role in its workspace does not allow that.',
          forSomeoneElse: true,
        };
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
        if ((t.connection.ownerUserId ?? undefined) !== boundUser)
          return { refused: 'The connection this link was for changed hands.' };
        const redirectUri = `${deps.baseUrlOf(requestOrigin)}${UPSTREAM_CALLBACK_PATH}`;
        // Bound to the person the link is for, or who opened an editors' link; else to this browser.
        const boundTo =
          boundUser !== undefined
            ? `principal:${boundUser}`
            : forEditors
              ? `principal:${person!.id}`
              : `browser:${digest(browserSecret)}`;
        const flow = await startFlow(tx, t, request.created_by, boundTo, redirectUri);
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
      // The flow is used up first, in a write of its own; the code is exchanged outside any write (a provider may
      // take seconds, and on SQLite every other write would wait); the tokens are stored in a second write.
      const claimed = await writer.write(async (tx) => {
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
        return targetOfFlow(tx);
      });
      if ('ok' in claimed) return claimed;
      const t = claimed;
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
      return writer.write(async (tx): Promise<CallbackResult> => {
        // The connection as it is now: it may have been deleted, or its settings changed, while the provider answered.
        const current = await targetOfFlow(tx);
        if ('ok' in current) return current;
        const row = rowOf(current, result.tokens, now, request.created_by);
        const previous = await tokens.findTokens(tx, current.connection.id);
        await tokens.putTokens(tx, { ...row, connected_by: request.created_by });
        await emitConnectionEvent(tx, eventOf(current, 'connection.connected', now, 'connected', null));
        // Connecting again a connection that had lost its grant (or was failing) is also its recovery.
        if (previous && previous.state !== 'connected')
          await emitConnectionEvent(tx, eventOf(current, 'connection.recovered', now, 'connected', null));
        // Audited as whoever started it (a connect link: whoever handed it out); `link` says a link was used.
        await insertAuditEvent(tx, {
          at: now,
          principalId: caller.principalId ?? request.created_by,
          workspaceId: current.connection.workspaceId,
          action: 'connection:connect',
          resourceType: 'connection',
          resourceId: String(current.connection.id),
          requestId: caller.requestId,
          fromRevision: null,
          toRevision: null,
          changedFields: expected.startsWith('browser:') ? ['oauth', 'link'] : ['oauth'],
        });
        return {
          ok: true,
          connectionName: current.connection.name,
          workspaceId: current.connection.workspaceId,
          connectionId: current.connection.id,
          startedByPerson: expected.startsWith('principal:'),
        };
      });

      /** The flow's connection and its OAuth settings, or why the flow cannot complete. */
      async function targetOfFlow(tx: Tx): Promise<Target | CallbackResult> {
        let t: Target;
        try {
          t = await targetOf(tx, request!.workspace_id, request!.connection_id);
        } catch (e) {
          if (e instanceof DomainError) return refused(400, e.message);
          throw e;
        }
        if (t.connection.uid !== request!.connection_uid) return refused(400, 'The connection is gone.');
        return t;
      }
    },

    /**
     * The access token for a call through a connection: refreshed first when it is due (within the margin),
     * fetched first for client credentials. A connection that cannot give one says why, in words for a tool result.
     */
    accessToken: (workspaceId: string, connectionId: number) => tokenFor(workspaceId, connectionId, null),

    /**
     * After the upstream answered 401 to the token of `version`: refreshes it (once, across nodes) unless done
     * already. `user`: the person whose own connection it is (per-user mode), null for a shared one.
     */
    afterRejection: (workspaceId: string, connectionId: number, version: number, user: string | null = null) =>
      tokenFor(workspaceId, connectionId, user, version),

    /**
     * Per-user mode: the access token of `userId`'s own connection of a connector. A person who has none gets one
     * made for them (not connected yet) and, like one whose connection must be connected again, a refusal that
     * carries a connect link only they can use.
     */
    async userAccessToken(
      workspaceId: string,
      connectorId: string,
      userId: string,
      requestId: string,
    ): Promise<CallToken & { readonly connectionId?: number }> {
      const mine =
        (await findOwnedConnection(db.kysely, workspaceId, connectorId, userId)) ??
        (await ownConnectionFor(workspaceId, connectorId, userId, requestId));
      if (typeof mine === 'string') return { ok: false, message: mine };
      return { ...(await tokenFor(workspaceId, mine.id, userId)), connectionId: mine.id };
    },

    /**
     * The OAuth status of connections, by id, for their API views; absent for a connection never connected. One
     * without a connector is never read for: OAuth settings come from a connector, and a connection's is fixed.
     */
    async statusOf(list: readonly Pick<Connection, 'id' | 'connectorId'>[]): Promise<Map<number, OAuthStatus>> {
      const connectionIds = list.filter((c) => c.connectorId !== null).map((c) => c.id);
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
