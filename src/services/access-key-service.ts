import { Type } from '@sinclair/typebox';
import { ACCESS_KEY_KINDS, generateAccessKeyPair, type AccessKeyKind } from '../domain/access-key.js';
import { checkPrecondition, type Precondition } from '../domain/etag.js';
import { forbidden, notFound, preconditionFailed, validationFailed } from '../domain/errors.js';
import { applyMergePatch } from '../domain/merge-patch.js';
import { ACCESS_KEY_SECRET_PATH } from '../domain/sealed-places.js';
import { newId } from '../domain/ids.js';
import { decodeCursor, encodeCursor, type Page, type PageRequest } from '../domain/page.js';
import { ROLES, canGrant, type Principal, type Role } from '../domain/permissions.js';
import { compileCheck } from '../domain/validate.js';
import { createStampedCache } from '../storage/stamped-cache.js';
import * as accessKeys from '../storage/access-key-repo.js';
import type { AccessKeyRecord } from '../storage/access-key-repo.js';
import type { Db } from '../storage/database.js';
import * as principals from '../storage/principal-repo.js';
import type { Writer } from '../storage/writer.js';
import type { Executor, Tx } from '../storage/engine.js';
import { changeEvent, recordChange } from './audit-service.js';
import { authorize } from './authorize.js';
import { withRetry, writeWithRetry } from './write-retry.js';
import { StaleWrite } from '../storage/write-conflicts.js';
import type { Actor } from './actor.js';
import type { Clock } from './clock.js';
import { MisplacedSealedValue, type SealPlace, type Vault } from './vault.js';

export const AccessKeyInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    kind: Type.Union(
      ACCESS_KEY_KINDS.map((k) => Type.Literal(k)),
      { description: 'alibaba: AccessKey id + secret (ACS3 signatures); huawei: AK/SK (SDK-HMAC-SHA256).' },
    ),
    role: Type.Optional(
      Type.Union(
        ROLES.map((r) => Type.Literal(r)),
        { description: "The new principal's role here; viewer when omitted." },
      ),
    ),
  },
  { additionalProperties: false },
);
const checkAccessKey = compileCheck(AccessKeyInput);

/** What a PATCH may change: the name, and whether the key signs (a disabled key is refused like an unknown one). */
export const AccessKeyPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
  },
  { additionalProperties: false },
);
const checkPatch = compileCheck(AccessKeyPatch);

/** A new key pair; the plaintext secret exists only in this return value (and, sealed, in the store). */
export interface IssuedAccessKey {
  readonly secret: string;
  readonly accessKey: AccessKeyRecord;
}

/** What a signature check needs: who signs, with which secret, and where a request without a workspace goes. */
export interface SigningKey {
  readonly principal: Principal;
  /** Whether the key and its principal are both enabled: only then may it sign. */
  readonly isActive: boolean;
  readonly secret: string;
  readonly defaultWorkspaceId: string | null;
}

/** Where a signing key's secret is bound: the key (its id is generated, never reused) and no workspace (it is a principal's). */
const placeOfKey = (id: string): SealPlace => ({ workspaceUid: '', resourceUid: id, path: ACCESS_KEY_SECRET_PATH });

/**
 * Creates a service principal with a role in one workspace and a signing key pair for it, the key's default
 * workspace being that one. Used by the API and the CLI.
 */
export async function issueAccessKey(
  tx: Tx,
  vault: Vault,
  input: { name: string; kind: AccessKeyKind; role: Role; workspaceId: string },
  now: string,
): Promise<IssuedAccessKey> {
  const principalId = newId('prn');
  const { id, secret } = generateAccessKeyPair(input.kind);
  await principals.insertPrincipal(tx, {
    id: principalId,
    name: input.name,
    kind: 'service',
    status: 'active',
    created_at: now,
  });
  await principals.upsertMembership(tx, input.workspaceId, principalId, input.role, now);
  const row = {
    id,
    kind: input.kind,
    principal_id: principalId,
    name: input.name,
    secret: JSON.stringify(vault.seal(secret, placeOfKey(id))),
    default_workspace_id: input.workspaceId,
    created_at: now,
    status: 'active' as const,
    revision: 1,
  };
  await accessKeys.insertAccessKey(tx, row);
  return {
    secret,
    accessKey: {
      id,
      kind: input.kind,
      name: input.name,
      principalId,
      defaultWorkspaceId: input.workspaceId,
      status: 'active',
      createdAt: now,
      revision: 1,
    },
  };
}

/** Signing keys remembered per node (sealed), with their principal and memberships, until the store signals a change. */
const SIGNING_KEY_CACHE = { limit: 10_000, maxAgeMs: 30_000 };

export function createAccessKeyService(deps: { db: Db; writer: Writer; vault: Vault; clock: Clock }) {
  const { db, writer, vault, clock } = deps;
  const rows = accessKeys.accessKeyRows(db.engine);
  // Every signed request looks its key up. Like an API key's lookup, it is kept until a change to a table it read
  // (the key, its principal, the memberships) commits on any node (see ChangeStamps): a key disabled, revoked or
  // re-sealed, or a principal disabled, signs nothing from the next request on. The row is kept sealed; its secret
  // is opened per request, so no plaintext stays in memory.
  const signingKeys = createStampedCache<
    string,
    NonNullable<Awaited<ReturnType<typeof accessKeys.findSealedAccessKey>>>
  >(db, SIGNING_KEY_CACHE);

  /** The key if its principal is a member here; keys of other workspaces do not exist for this one. */
  async function findHere(tx: Executor, workspaceId: string, id: string) {
    const key = await accessKeys.findAccessKeyRecord(tx, id);
    const owner =
      key?.defaultWorkspaceId === workspaceId
        ? await principals.findMember(tx, workspaceId, key.principalId)
        : undefined;
    if (!key || !owner) throw notFound(`Access key "${id}"`);
    return { key, owner };
  }

  /** Refuses a change to the key of a principal whose role is above the actor's own. */
  function guardOwner(actor: Actor, workspaceId: string, owner: { readonly role: Role }) {
    const mine = actor.principal.roles.get(workspaceId)!;
    if (!canGrant(mine, owner.role)) throw forbidden(`A ${mine} cannot change the access key of a ${owner.role}.`);
  }

  /** An active principal's key of one kind with its secret opened; undefined for unknown keys and disabled principals. */
  async function findSigningKey(
    kind: AccessKeyKind,
    id: string,
    includeDisabled = false,
  ): Promise<SigningKey | undefined> {
    const found = await signingKeys.get(`${kind}\u0000${id}`, (reader) =>
      accessKeys.findSealedAccessKey(reader, kind, id),
    );
    const isActive = found?.principal.status === 'active' && found.status === 'active';
    if (!found || (!isActive && !includeDisabled)) return undefined;
    let secret: string;
    try {
      secret = vault.open(JSON.parse(found.sealedSecret) as string, placeOfKey(id));
    } catch (error) {
      // A secret copied here from another key signs nothing: the key is as good as unknown.
      if (error instanceof MisplacedSealedValue) return undefined;
      throw error;
    }
    return { principal: found.principal, isActive, secret, defaultWorkspaceId: found.defaultWorkspaceId };
  }

  return {
    async list(actor: Actor, workspaceId: string, request: PageRequest): Promise<Page<AccessKeyRecord>> {
      authorize(actor, 'access-key:read', workspaceId);
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, 'string');
      const rows = await accessKeys.listAccessKeysInWorkspace(db.kysely, workspaceId, after, request.limit + 1);
      const items = rows.slice(0, request.limit);
      return { items, nextCursor: rows.length > request.limit ? encodeCursor(items[items.length - 1]!.id) : null };
    },

    async get(actor: Actor, workspaceId: string, id: string): Promise<AccessKeyRecord> {
      authorize(actor, 'access-key:read', workspaceId);
      return (await findHere(db.kysely, workspaceId, id)).key;
    },

    /** Creates a service principal with the given role here, and its key pair (the secret is shown once). */
    async create(actor: Actor, workspaceId: string, body: unknown): Promise<IssuedAccessKey & { role: Role }> {
      authorize(actor, 'access-key:manage', workspaceId);
      const { name, kind, role = 'viewer' } = checkAccessKey(body);
      if (!canGrant(actor.principal.roles.get(workspaceId)!, role)) {
        throw validationFailed([{ path: '/role', message: 'is above your own role in this workspace' }]);
      }
      return writer.write(async (tx) => {
        const now = clock.now();
        const issued = await issueAccessKey(tx, vault, { name, kind, role, workspaceId }, now);
        const change = {
          workspaceId,
          action: 'access-key:create',
          resourceType: 'access-key',
          resourceId: issued.accessKey.id,
          fields: ['kind', 'name', 'role'],
        };
        await recordChange(tx, actor, change, now);
        return { ...issued, role };
      });
    },

    /**
     * PATCH: a JSON merge patch (RFC 7396) of the name and status: the one write path of a key, a row change of the
     * writer. Whose key it is (a member here, of a role the actor may grant) is another row: checked in the same
     * transaction, so the answer is as of the commit.
     */
    patch(
      actor: Actor,
      workspaceId: string,
      id: string,
      patch: unknown,
      precondition?: Precondition,
    ): Promise<AccessKeyRecord> {
      authorize(actor, 'access-key:manage', workspaceId);
      return withRetry(() =>
        writer.change(rows, {
          key: id,
          apply: (current) => {
            if (!current || current.defaultWorkspaceId !== workspaceId) throw notFound(`Access key "${id}"`);
            if (!checkPrecondition(current, precondition)) throw preconditionFailed();
            const input = checkPatch(applyMergePatch({ name: current.name, status: current.status }, patch));
            const fields = { name: input.name ?? current.name, status: input.status ?? current.status };
            const unchanged = fields.name === current.name && fields.status === current.status;
            const next = unchanged ? current : { ...current, ...fields, revision: current.revision + 1 };
            const audit = unchanged
              ? undefined
              : changeEvent(
                  actor,
                  {
                    workspaceId,
                    action: 'access-key:update',
                    resourceType: 'access-key',
                    resourceId: id,
                    before: current,
                    after: next,
                  },
                  clock.now(),
                );
            return {
              next: unchanged ? undefined : next,
              audit,
              result: next,
              after: async (tx: Tx) => {
                guardOwner(actor, workspaceId, (await findHere(tx, workspaceId, id)).owner);
                return next;
              },
            };
          },
        }),
      );
    },

    /** Deletes the key pair (a delete: a transaction of its own); its principal and membership stay, like an API key's. */
    async revoke(actor: Actor, workspaceId: string, id: string, precondition?: Precondition): Promise<void> {
      authorize(actor, 'access-key:manage', workspaceId);
      await writeWithRetry(writer, async (tx) => {
        const { key, owner } = await findHere(tx, workspaceId, id);
        if (!checkPrecondition(key, precondition)) throw preconditionFailed();
        guardOwner(actor, workspaceId, owner);
        if (!(await accessKeys.deleteAccessKey(tx, id, key.revision))) throw new StaleWrite();
        await recordChange(
          tx,
          actor,
          { workspaceId, action: 'access-key:delete', resourceType: 'access-key', resourceId: id, fields: [] },
          clock.now(),
        );
      });
    },

    /** For Alibaba-signed requests: the AccessKey id's principal and secret. */
    findAccessKey: (id: string) => findSigningKey('alibaba', id),

    /**
     * Also a disabled key or a disabled principal's, so that a correctly signed request can be told its key is
     * disabled (Alibaba's `InvalidAccessKeyId.Inactive`) rather than unknown. The caller checks `isActive`.
     */
    findAccessKeyOfAnyStatus: (id: string) => findSigningKey('alibaba', id, true),

    /** For Huawei-signed requests: the AK's principal and SK. */
    findAkSk: (ak: string) => findSigningKey('huawei', ak),
  };
}

export type AccessKeyService = ReturnType<typeof createAccessKeyService>;
