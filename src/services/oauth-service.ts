import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { insertAuditEvent } from '../storage/audit-repo.js';
import { notFound } from '../domain/errors.js';
import {
  MCP_SCOPES,
  SCOPE_ROLES,
  isMcpScope,
  type McpScope,
  type OAuthCaller,
  type OAuthGrant,
} from '../domain/oauth.js';
import { decodeCursor, encodeCursor, type Page, type PageRequest } from '../domain/page.js';
import { roleAtLeast, type Role } from '../domain/permissions.js';
import { createStampedCache } from '../storage/stamped-cache.js';
import type { Db } from '../storage/database.js';
import type { Tx } from '../storage/engine.js';
import * as repo from '../storage/oauth-repo.js';
import type { ListedGrantRow } from '../storage/oauth-repo.js';
import type { OAuthGrantRow } from '../storage/schema.js';
import type { Writer } from '../storage/writer.js';
import { authorize } from './authorize.js';
import type { Actor } from './actor.js';
import type { Clock } from './clock.js';
import { oauthSigningKeys } from './oauth-signing-keys.js';
import type { Vault } from './vault.js';

/** The workspace role of a user, or undefined when they are not a member (the people service answers it). */
export type MembershipLookup = (userId: string, workspaceId: string) => Promise<Role | undefined>;

/** What the authorization server asks of the store for each of its models (oidc-provider's Adapter). */
export interface OAuthStoreAdapter {
  upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void>;
  find(id: string): Promise<Record<string, unknown> | undefined>;
  findByUid(uid: string): Promise<Record<string, unknown> | undefined>;
  findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

/** What the consent page records once the user approved a client for a toolset. */
export interface NewGrant {
  readonly grantId: string;
  readonly workspaceId: string;
  readonly toolset: string;
  readonly toolsetUid: string;
  readonly resource: string;
  readonly userId: string;
  readonly clientId: string;
  readonly clientName: string;
  readonly scopes: readonly McpScope[];
  readonly expiresAt: string;
  readonly requestId: string;
}

const LOOKUPS = { limit: 10_000, maxAgeMs: 30_000 };
/** Who the authorization server's own audit rows are attributed to when no request is behind them. */
const SERVER_REQUEST = 'oauth-server';

function toGrant(row: ListedGrantRow): OAuthGrant {
  return {
    id: row.grant_id,
    workspaceId: row.workspace_id,
    toolset: row.toolset,
    resource: row.resource,
    userId: row.user_id,
    userName: row.user_name,
    clientId: row.client_id,
    clientName: row.client_name,
    scopes: row.scopes.split(' ').filter(isMcpScope),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastTokenAt: row.last_token_at,
  };
}

/** The scopes of `asked` that a member with this role may be given. */
export function scopesForRole(asked: readonly string[], role: Role): McpScope[] {
  return MCP_SCOPES.filter((scope) => asked.includes(scope) && roleAtLeast(role, SCOPE_ROLES[scope]));
}

/**
 * The built-in authorization server's state and rules: its store (oidc-provider's adapter over plugboard's
 * tables, so that every node shares codes, refresh tokens and grants), the grants users gave clients (listed
 * and revoked by the user or a workspace owner, each change audited), and the check of an access token for
 * the gateway: signed by a key derived from the master keys, for exactly this MCP endpoint, of a grant that
 * still stands, of a user who is still a member.
 */
export function createOAuthService(deps: {
  db: Db;
  writer: Writer;
  clock: Clock;
  vault: Vault;
  issuer: string;
  membership: MembershipLookup;
}) {
  const { db, writer, clock, issuer } = deps;
  const keys = oauthSigningKeys(deps.vault);
  const verifyKeys = createLocalJWKSet({ keys: keys.map((k) => ({ ...k.publicJwk })) });
  const grants = createStampedCache<string, OAuthGrantRow>(db, LOOKUPS);

  async function audit(
    tx: Tx,
    event: {
      principalId: string;
      workspaceId: string;
      action: string;
      grantId: string;
      clientId: string;
      clientName: string;
      requestId: string;
    },
  ) {
    await insertAuditEvent(tx, {
      at: clock.now(),
      principalId: event.principalId,
      workspaceId: event.workspaceId,
      action: event.action,
      resourceType: 'oauth-grant',
      resourceId: event.grantId,
      requestId: event.requestId,
      fromRevision: null,
      toRevision: null,
      changedFields: [],
      clientId: event.clientId,
      clientName: event.clientName,
    });
  }

  /** Deletes a grant with everything issued under it; audited once, as `principalId` revoking it. */
  async function revoke(tx: Tx, grantId: string, principalId: string | undefined, requestId: string) {
    const row = await repo.findGrant(tx, grantId);
    await repo.deleteRecordsOfGrant(tx, grantId);
    if (!row || !(await repo.deleteGrant(tx, grantId))) return undefined;
    await audit(tx, {
      principalId: principalId ?? row.user_id,
      workspaceId: row.workspace_id,
      action: 'oauth-grant:revoke',
      grantId,
      clientId: row.client_id,
      clientName: row.client_name,
      requestId,
    });
    return row;
  }

  function adapter(model: string): OAuthStoreAdapter {
    const read = (row: repo.OAuthRecord | undefined) => {
      if (!row) return undefined;
      if (row.expires_at !== null && row.expires_at <= clock.now()) return undefined;
      const payload = JSON.parse(row.payload) as Record<string, unknown>;
      return row.consumed_at === null
        ? payload
        : { ...payload, consumed: Math.floor(Date.parse(row.consumed_at) / 1000) };
    };
    return {
      async upsert(id, payload, expiresIn) {
        const grantId = model === 'Grant' ? id : typeof payload.grantId === 'string' ? payload.grantId : null;
        const expiresAt = expiresIn ? new Date(Date.parse(clock.now()) + expiresIn * 1000).toISOString() : null;
        await writer.write((tx) =>
          repo.upsertRecord(tx, {
            model,
            id,
            payload: JSON.stringify(payload),
            grant_id: grantId,
            uid: typeof payload.uid === 'string' ? payload.uid : null,
            user_code: typeof payload.userCode === 'string' ? payload.userCode : null,
            expires_at: expiresAt,
            consumed_at: null,
          }),
        );
      },
      find: async (id) => read(await repo.findRecord(db.kysely, model, id)),
      findByUid: async (uid) => read(await repo.findRecordBy(db.kysely, model, 'uid', uid)),
      findByUserCode: async (code) => read(await repo.findRecordBy(db.kysely, model, 'user_code', code)),
      consume: (id) => writer.write((tx) => repo.consumeRecord(tx, model, id, clock.now())),
      destroy: (id) => writer.write((tx) => repo.deleteRecord(tx, model, id)),
      // oidc-provider revokes a grant when its refresh token is revoked or used a second time (reuse detection).
      revokeByGrantId: async (grantId) => {
        await writer.write((tx) => revoke(tx, grantId, undefined, SERVER_REQUEST));
      },
    };
  }

  async function grantOf(grantId: string) {
    return grants.get(grantId, (reader) => repo.findGrant(reader, grantId));
  }

  return {
    issuer,
    /** The signing keys, the active one first, as private JWKs (the authorization server signs with the first). */
    privateJwks: () => keys.map((k) => ({ ...k.privateJwk })),
    publicJwks: () => keys.map((k) => ({ ...k.publicJwk })),
    adapter,
    /** A user's role in a workspace, undefined when not a member. */
    membership: deps.membership,

    /**
     * Who an access token stands for, if it is one this server issued for exactly `resource`, unexpired, of a
     * grant that still stands, and its user is still a member of the workspace; undefined otherwise.
     */
    async authenticate(token: string, resource: string, workspaceId: string): Promise<OAuthCaller | undefined> {
      let claims: JWTPayload;
      try {
        ({ payload: claims } = await jwtVerify(token, verifyKeys, {
          issuer,
          audience: resource,
          algorithms: ['ES256'],
          typ: 'at+jwt',
          currentDate: new Date(clock.now()),
        }));
      } catch {
        return undefined;
      }
      const grantId = claims.gid;
      if (typeof grantId !== 'string' || typeof claims.sub !== 'string') return undefined;
      const grant = await grantOf(grantId);
      if (!grant || grant.resource !== resource || grant.workspace_id !== workspaceId) return undefined;
      if (grant.user_id !== claims.sub || grant.client_id !== claims.client_id) return undefined;
      if (grant.expires_at <= clock.now()) return undefined;
      const role = await deps.membership(grant.user_id, grant.workspace_id);
      if (!role) return undefined;
      const tokenScopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
      return {
        userId: grant.user_id,
        clientId: grant.client_id,
        clientName: grant.client_name,
        grantId,
        // Only what the grant still holds and the user's role still allows.
        scopes: scopesForRole(
          tokenScopes.filter((s) => grant.scopes.split(' ').includes(s)),
          role,
        ),
        role,
      };
    },

    /**
     * Revokes the grant of an access token this server issued to `clientId` (RFC 7009: access tokens are JWTs,
     * not stored, so they end with their grant, and the grant's refresh token with them, as §2.1 allows):
     * `revoked`; `other-client` for a token issued to another client (nothing revoked); `unknown` for anything
     * that is not a current token of this server (nothing to revoke).
     */
    async revokeAccessToken(
      token: string,
      clientId: string,
      requestId: string,
    ): Promise<'revoked' | 'other-client' | 'unknown'> {
      let claims: JWTPayload;
      try {
        ({ payload: claims } = await jwtVerify(token, verifyKeys, {
          issuer,
          algorithms: ['ES256'],
          typ: 'at+jwt',
          currentDate: new Date(clock.now()),
        }));
      } catch {
        return 'unknown';
      }
      if (typeof claims.gid !== 'string') return 'unknown';
      if (claims.client_id !== clientId) return 'other-client';
      const grantId = claims.gid;
      await writer.write((tx) => revoke(tx, grantId, undefined, requestId));
      return 'revoked';
    },

    /** Records a grant the user approved (after oidc-provider stored its own), audited as theirs. */
    async recordGrant(grant: NewGrant): Promise<void> {
      await writer.write(async (tx) => {
        await repo.insertGrant(tx, {
          grant_id: grant.grantId,
          workspace_id: grant.workspaceId,
          toolset: grant.toolset,
          toolset_uid: grant.toolsetUid,
          resource: grant.resource,
          user_id: grant.userId,
          client_id: grant.clientId,
          client_name: grant.clientName,
          scopes: grant.scopes.join(' '),
          created_at: clock.now(),
          expires_at: grant.expiresAt,
        });
        await audit(tx, {
          principalId: grant.userId,
          workspaceId: grant.workspaceId,
          action: 'oauth-grant:create',
          grantId: grant.grantId,
          clientId: grant.clientId,
          clientName: grant.clientName,
          requestId: grant.requestId,
        });
      });
    },

    /** Audits an access token issued under a grant (the token endpoint's success). */
    async recordTokenIssued(grantId: string, requestId: string): Promise<void> {
      const grant = await repo.findGrant(db.kysely, grantId);
      if (!grant) return;
      await writer.write((tx) =>
        audit(tx, {
          principalId: grant.user_id,
          workspaceId: grant.workspace_id,
          action: 'oauth-token:issue',
          grantId,
          clientId: grant.client_id,
          clientName: grant.client_name,
          requestId,
        }),
      );
    },

    /** A workspace's grants, for its owners. */
    async listGrants(actor: Actor, workspaceId: string, page: PageRequest): Promise<Page<OAuthGrant>> {
      authorize(actor, 'oauth-grant:read', workspaceId);
      return pageOf(await listRows({ workspaceId }, page), page);
    },

    async revokeGrant(actor: Actor, workspaceId: string, grantId: string): Promise<void> {
      authorize(actor, 'oauth-grant:manage', workspaceId);
      await writer.write(async (tx) => {
        const row = await repo.findGrant(tx, grantId);
        if (!row || row.workspace_id !== workspaceId) throw notFound(`Grant "${grantId}"`);
        await revoke(tx, grantId, actor.principal.id, actor.requestId);
      });
    },

    /** The clients a user connected, in every workspace. */
    async listOwnGrants(userId: string, page: PageRequest): Promise<Page<OAuthGrant>> {
      return pageOf(await listRows({ userId }, page), page);
    },

    async revokeOwnGrant(userId: string, grantId: string, requestId: string): Promise<void> {
      await writer.write(async (tx) => {
        const row = await repo.findGrant(tx, grantId);
        if (!row || row.user_id !== userId) throw notFound(`Grant "${grantId}"`);
        await revoke(tx, grantId, userId, requestId);
      });
    },

    purgeExpired: () =>
      writer.write(async (tx) => {
        const now = clock.now();
        await repo.purgeExpiredRecords(tx, now);
        await repo.purgeExpiredGrants(tx, now);
      }),
  };

  async function listRows(filter: { workspaceId?: string; userId?: string }, page: PageRequest) {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor, 'string');
    return repo.listGrants(db.kysely, filter, after, page.limit + 1);
  }

  function pageOf(rows: ListedGrantRow[], page: PageRequest): Page<OAuthGrant> {
    const items = rows.slice(0, page.limit).map(toGrant);
    return { items, nextCursor: rows.length > page.limit ? encodeCursor(items[items.length - 1]!.id) : null };
  }
}

export type OAuthService = ReturnType<typeof createOAuthService>;
