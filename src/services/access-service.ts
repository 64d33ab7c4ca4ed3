import crypto, { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { checkPrecondition, type Precondition } from '../domain/etag.js';
import {
  conflict,
  forbidden,
  notFound,
  preconditionFailed,
  unauthenticated,
  validationFailed,
} from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { decodeCursor, encodeCursor, type Page, type PageRequest } from '../domain/page.js';
import { ROLES, canGrant, type Principal, type Role } from '../domain/permissions.js';
import { compileCheck } from '../domain/validate.js';
import { createStampedCache } from '../storage/stamped-cache.js';
import type { Db } from '../storage/database.js';
import { deleteConnectionsOwnedBy } from '../storage/connection-repo.js';
import * as principals from '../storage/principal-repo.js';
import type { ApiKeyRecord, Member } from '../storage/principal-repo.js';
import type { Writer } from '../storage/writer.js';
import type { Tx } from '../storage/engine.js';
import { changeEvent, recordChange } from './audit-service.js';
import { authorize } from './authorize.js';
import { withRetry, writeWithRetry } from './write-retry.js';
import { StaleWrite } from '../storage/write-conflicts.js';
import type { Actor, Authenticated } from './actor.js';
import type { Clock } from './clock.js';

export const API_KEY_PREFIX = 'pbk_';

const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));
export const ApiKeyInput = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 128 }), role: RoleSchema },
  { additionalProperties: false },
);
export const MemberInput = Type.Object({ role: RoleSchema }, { additionalProperties: false });
const checkApiKey = compileCheck(ApiKeyInput);
const checkMember = compileCheck(MemberInput);

/**
 * Keys are stored as SHA-256 digests: they are 240-bit random values, so a fast hash is enough. Every request
 * hashes its key, so the one-shot `crypto.hash` (Node 20.12 and later: no Hash object per call) is used where
 * there is one.
 */
export const hashApiKey: (key: string) => string =
  typeof crypto.hash === 'function'
    ? (key) => crypto.hash('sha256', key, 'hex')
    : (key) => crypto.createHash('sha256').update(key).digest('hex');

export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(30).toString('base64url')}`;
}

/** A new key and the principal behind it; the plaintext key exists only in this return value. */
export interface IssuedKey {
  readonly key: string;
  readonly apiKey: ApiKeyRecord;
}

/**
 * Creates a service principal with a role in one workspace and an API key for it. Used by the API, the CLI
 * and first-start bootstrap. `key` lets an operator choose the value (PLUGBOARD_ADMIN_KEY).
 */
export async function issueKey(
  tx: Tx,
  input: { name: string; role: Role; workspaceId: string; key?: string },
  now: string,
): Promise<IssuedKey> {
  const principalId = newId('prn');
  const key = input.key ?? generateApiKey();
  await principals.insertPrincipal(tx, {
    id: principalId,
    name: input.name,
    kind: 'service',
    status: 'active',
    created_at: now,
  });
  await principals.upsertMembership(tx, input.workspaceId, principalId, input.role, now);
  const row = {
    id: newId('key'),
    principal_id: principalId,
    name: input.name,
    key_hash: hashApiKey(key),
    prefix: key.slice(0, 12),
    default_workspace_id: input.workspaceId,
    created_at: now,
  };
  await principals.insertApiKey(tx, row);
  return {
    key,
    apiKey: {
      id: row.id,
      principalId,
      name: row.name,
      prefix: row.prefix,
      defaultWorkspaceId: input.workspaceId,
      createdAt: now,
    },
  };
}

/** API keys remembered per node, with their principal and memberships, until the store signals a change. */
const KEY_CACHE = { limit: 10_000, maxAgeMs: 30_000 };

export function createAccessService(deps: { db: Db; writer: Writer; clock: Clock }) {
  const { db, writer, clock } = deps;
  const members = principals.memberRows(db.engine);
  // Every request authenticates; its key, principal and memberships change rarely. A change to any of them
  // (through this process or another, see ChangeStamps) makes the next request read them again.
  const keys = createStampedCache<string, NonNullable<Awaited<ReturnType<typeof principals.findPrincipalByKeyHash>>>>(
    db,
    KEY_CACHE,
  );

  /** The caller's own role, which bounds what it may grant or take away. */
  const ownRole = (actor: Actor, workspaceId: string): Role => actor.principal.roles.get(workspaceId)!;

  function guardTarget(actor: Actor, workspaceId: string, target: Member | undefined, newRole?: Role): Member {
    if (!target) throw notFound('Member');
    const mine = ownRole(actor, workspaceId);
    if (!canGrant(mine, target.role) || (newRole !== undefined && !canGrant(mine, newRole))) {
      throw forbidden(`A ${mine} cannot change the membership of a ${target.role} or grant a role above their own.`);
    }
    return target;
  }

  /**
   * A workspace keeps at least one owner. Counted in the transaction that takes an owner away, after its own
   * write, under the workspace's lock (see countOwnersLocked): a set rule over rows that no one row change sees.
   */
  async function keepAnOwner(tx: Tx, workspaceId: string) {
    if ((await principals.countOwnersLocked(tx, db.engine, workspaceId)) === 0) {
      throw conflict('A workspace keeps at least one owner: make someone else owner first.');
    }
  }

  async function authenticateKey(key: string): Promise<Authenticated> {
    if (!key.startsWith(API_KEY_PREFIX)) throw unauthenticated();
    const hash = hashApiKey(key);
    const found = await keys.get(hash, (reader) => principals.findPrincipalByKeyHash(reader, hash));
    if (!found) throw unauthenticated('The API key is not valid (unknown or revoked).');
    if (found.principal.status !== 'active') throw unauthenticated('The principal behind this API key is disabled.');
    return {
      principal: found.principal,
      credential: { kind: 'api-key', id: found.keyId, defaultWorkspaceId: found.defaultWorkspaceId },
    };
  }

  return {
    /** Resolves a bearer API key to its principal; unknown keys are refused without saying why. */
    async authenticate(key: string): Promise<Principal> {
      return (await authenticateKey(key)).principal;
    },

    /** Like `authenticate`, also naming the key and its default workspace. */
    authenticateKey,

    async listMembers(actor: Actor, workspaceId: string, request: PageRequest): Promise<Page<Member>> {
      authorize(actor, 'member:read', workspaceId);
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, 'string');
      const rows = await principals.listMembers(db.kysely, workspaceId, after, request.limit + 1);
      const items = rows.slice(0, request.limit);
      return {
        items,
        nextCursor: rows.length > request.limit ? encodeCursor(items[items.length - 1]!.principalId) : null,
      };
    },

    async getMember(actor: Actor, workspaceId: string, principalId: string): Promise<Member> {
      authorize(actor, 'member:read', workspaceId);
      const member = await principals.findMember(db.kysely, workspaceId, principalId);
      if (!member) throw notFound(`Member "${principalId}"`);
      return member;
    },

    /**
     * Changes the role of an existing member: the one write path of a membership, a row change of the writer (so
     * concurrent ones commit together on PostgreSQL). Taking away an owner also checks, in the same transaction,
     * that one is left.
     */
    async setRole(
      actor: Actor,
      workspaceId: string,
      principalId: string,
      body: unknown,
      precondition?: Precondition,
    ): Promise<Member> {
      authorize(actor, 'member:manage', workspaceId);
      const { role } = checkMember(body);
      return withRetry(() =>
        writer.change(members, {
          key: principals.memberKey(workspaceId, principalId),
          apply: (current) => {
            const target = guardTarget(actor, workspaceId, current, role);
            if (!checkPrecondition(target, precondition)) throw preconditionFailed();
            if (target.role === role) return { result: target };
            const next = { ...target, role, revision: target.revision + 1 };
            const audit = changeEvent(
              actor,
              {
                workspaceId,
                action: 'member:update',
                resourceType: 'member',
                resourceId: principalId,
                before: target,
                after: next,
              },
              clock.now(),
            );
            const losesOwner = target.role === 'owner';
            return {
              next,
              audit,
              result: next,
              ...(losesOwner ? { after: (tx: Tx) => keepAnOwner(tx, workspaceId).then(() => next) } : {}),
            };
          },
        }),
      );
    },

    /** Removes a membership: a delete, so a transaction of its own, with the same last-owner check. */
    async removeMember(
      actor: Actor,
      workspaceId: string,
      principalId: string,
      precondition?: Precondition,
    ): Promise<void> {
      authorize(actor, 'member:manage', workspaceId);
      await writeWithRetry(writer, async (tx) => {
        const target = guardTarget(actor, workspaceId, await principals.findMember(tx, workspaceId, principalId));
        if (!checkPrecondition(target, precondition)) throw preconditionFailed();
        if (!(await principals.deleteMembership(tx, workspaceId, principalId, target.revision))) throw new StaleWrite();
        if (target.role === 'owner') await keepAnOwner(tx, workspaceId);
        // Their own connections go with them: no one else may use them, and they can no longer call.
        await deleteConnectionsOwnedBy(tx, workspaceId, principalId);
        await recordChange(
          tx,
          actor,
          {
            workspaceId,
            action: 'member:delete',
            resourceType: 'member',
            resourceId: principalId,
            before: target,
            fields: [],
          },
          clock.now(),
        );
      });
    },

    async listKeys(actor: Actor, workspaceId: string, request: PageRequest): Promise<Page<ApiKeyRecord>> {
      authorize(actor, 'api-key:read', workspaceId);
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, 'string');
      const rows = await principals.listApiKeysInWorkspace(db.kysely, workspaceId, after, request.limit + 1);
      const items = rows.slice(0, request.limit);
      return { items, nextCursor: rows.length > request.limit ? encodeCursor(items[items.length - 1]!.id) : null };
    },

    /** Creates a service principal with the given role here, and its key (shown once). */
    async createKey(actor: Actor, workspaceId: string, body: unknown): Promise<IssuedKey> {
      authorize(actor, 'api-key:manage', workspaceId);
      const input = checkApiKey(body);
      if (!canGrant(ownRole(actor, workspaceId), input.role)) {
        throw validationFailed([{ path: '/role', message: 'is above your own role in this workspace' }]);
      }
      return writer.write(async (tx) => {
        const now = clock.now();
        const issued = await issueKey(tx, { ...input, workspaceId }, now);
        const change = {
          workspaceId,
          action: 'api-key:create',
          resourceType: 'api-key',
          resourceId: issued.apiKey.id,
          fields: ['name', 'role'],
        };
        await recordChange(tx, actor, change, now);
        return issued;
      });
    },

    async revokeKey(actor: Actor, workspaceId: string, keyId: string): Promise<void> {
      authorize(actor, 'api-key:manage', workspaceId);
      await writeWithRetry(writer, async (tx) => {
        const key = await principals.findApiKey(tx, keyId);
        // Managed from the workspace it was issued for: another workspace's admin cannot cut it off.
        const owner =
          key?.defaultWorkspaceId === workspaceId
            ? await principals.findMember(tx, workspaceId, key.principalId)
            : undefined;
        if (!key || !owner) throw notFound(`API key "${keyId}"`);
        guardTarget(actor, workspaceId, owner);
        await principals.deleteApiKey(tx, keyId);
        await recordChange(
          tx,
          actor,
          { workspaceId, action: 'api-key:delete', resourceType: 'api-key', resourceId: keyId, fields: [] },
          clock.now(),
        );
      });
    },
  };
}

export type AccessService = ReturnType<typeof createAccessService>;
