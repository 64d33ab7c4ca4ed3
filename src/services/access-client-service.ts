import { randomBytes } from 'node:crypto';
import {
  AccessClientCreateInput,
  AccessClientInput,
  DEFAULT_GRACE_SECONDS,
  RotateSecretInput,
  accessClientFieldsFrom,
  checkToolsets,
  checkTools,
  isExpired,
  type AccessClient,
} from '../domain/access-client.js';
import { changedFields } from '../domain/audit.js';
import { sharingUnchanged } from '../domain/common.js';
import { checkPrecondition, type Precondition } from '../domain/etag.js';
import { conflict, notFound, preconditionFailed, validationFailed } from '../domain/errors.js';
import { newId, newUid } from '../domain/ids.js';
import { applyMergePatch } from '../domain/merge-patch.js';
import { decodeCursor, encodeCursor, type Page, type PageRequest } from '../domain/page.js';
import { compileCheck } from '../domain/validate.js';
import * as clients from '../storage/access-client-repo.js';
import type { AccessClientFilter } from '../storage/access-client-repo.js';
import type { Db } from '../storage/database.js';
import type { AccessClientSecretRow } from '../storage/schema.js';
import type { Writer } from '../storage/writer.js';
import type { Tx } from '../storage/engine.js';
import { hashApiKey } from './access-service.js';
import { changeEvent, recordChange } from './audit-service.js';
import { StaleWrite } from '../storage/write-conflicts.js';
import { authorize } from './authorize.js';
import { withRetry, writeWithRetry } from './write-retry.js';
import type { Actor } from './actor.js';
import type { Clock } from './clock.js';

export const ACCESS_CLIENT_TOKEN_PREFIX = 'pbac_';

/** A client and a token it was just given; the plaintext token exists only in this value. */
export interface IssuedClientSecret {
  readonly client: AccessClient;
  readonly secret: string;
}

/** Who a gateway bearer token belongs to. */
export interface AuthenticatedClient {
  readonly workspaceId: string;
  readonly client: AccessClient;
}

const checkCreate = compileCheck(AccessClientCreateInput);
const checkInput = compileCheck(AccessClientInput);
const checkRotate = compileCheck(RotateSecretInput);

/** A new bearer token: 256 random bits, so a SHA-256 digest is all the store needs to keep. */
export function generateClientToken(): string {
  return `${ACCESS_CLIENT_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

function secretRowFor(
  client: Pick<AccessClient, 'workspaceId' | 'id'>,
  token: string,
  now: string,
): AccessClientSecretRow {
  return {
    id: newId('acs'),
    workspace_id: client.workspaceId,
    client_id: client.id,
    token_hash: hashApiKey(token),
    prefix: token.slice(0, 12),
    created_at: now,
    expires_at: null,
  };
}

const secretOf = (row: AccessClientSecretRow) => ({
  id: row.id,
  prefix: row.prefix,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});
const plusSeconds = (iso: string, seconds: number) => new Date(Date.parse(iso) + seconds * 1000).toISOString();

export function createAccessClientService(deps: { db: Db; writer: Writer; clock: Clock }) {
  const { db, writer, clock } = deps;
  const rows = clients.accessClientRows(db.engine);

  async function load(tx: Tx, workspaceId: string, id: string, precondition?: Precondition): Promise<AccessClient> {
    const current = await clients.findAccessClient(tx, workspaceId, id, { forUpdate: db.engine === 'postgres' });
    if (!current) throw notFound(`Access client "${id}"`);
    if (!checkPrecondition(current, precondition)) throw preconditionFailed();
    return current;
  }

  function checked<T extends AccessClientInput>(input: T): T {
    const errors = [...checkToolsets(input.toolsets ?? []), ...checkTools(input.tools ?? [], input.toolsets ?? [])];
    if (errors.length > 0) throw validationFailed(errors);
    return input;
  }

  /**
   * The one write path of a single access client (PUT, PATCH, token rotation): a row change of the writer, so that
   * concurrent ones commit together on PostgreSQL. `revise` is a pure function of the current client: it checks
   * and builds the next state (throwing leaves everything as it was) and may run more than once. The client at
   * the next revision is stored, with its audit event, unless it is the same as the current one.
   */
  function change<T = AccessClient>(
    actor: Actor,
    workspaceId: string,
    id: string,
    precondition: Precondition | undefined,
    revise: (current: AccessClient) => {
      readonly next: AccessClient;
      readonly action?: string;
      readonly fields?: readonly string[];
      /** Work after the row in the same transaction (a rotation's tokens); its value is the answer. */
      readonly after?: (tx: Tx, stored: AccessClient) => Promise<T>;
    },
  ): Promise<T> {
    return withRetry(() =>
      writer.change(rows, {
        key: clients.accessClientKey(workspaceId, id),
        apply: (current) => {
          if (!current) throw notFound(`Access client "${id}"`);
          if (!checkPrecondition(current, precondition)) throw preconditionFailed();
          const revised = revise(current);
          const changed = changedFields(current, revised.next);
          const unchanged = revised.after === undefined && changed.length === 0;
          const now = clock.now();
          const client = unchanged
            ? current
            : { ...sharingUnchanged(current, revised.next, changed), updatedAt: now, revision: current.revision + 1 };
          const audit = unchanged
            ? undefined
            : changeEvent(
                actor,
                {
                  workspaceId,
                  action: revised.action ?? 'access-client:update',
                  resourceType: 'access-client',
                  resourceId: id,
                  before: current,
                  after: client,
                  fields: revised.fields ?? changed,
                },
                now,
              );
          const after = revised.after;
          return {
            next: unchanged ? undefined : client,
            audit,
            result: client as T,
            ...(after ? { after: (tx: Tx) => after(tx, client) } : {}),
          };
        },
      }),
    );
  }

  /** A change of the client's fields (PUT, PATCH), validated whole. */
  function mutate(
    actor: Actor,
    workspaceId: string,
    id: string,
    precondition: Precondition | undefined,
    fieldsOf: (current: AccessClient) => AccessClientInput,
  ): Promise<AccessClient> {
    authorize(actor, 'access-client:update', workspaceId);
    return change(actor, workspaceId, id, precondition, (current) => ({
      next: { ...current, ...accessClientFieldsFrom(checked(fieldsOf(current))) },
    }));
  }

  return {
    async list(
      actor: Actor,
      workspaceId: string,
      request: PageRequest & { nameContains?: string; status?: AccessClient['status'] },
    ): Promise<Page<AccessClient>> {
      authorize(actor, 'access-client:read', workspaceId);
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, 'string');
      const rows = await clients.listAccessClients(db.kysely, workspaceId, {
        after,
        limit: request.limit + 1,
        nameContains: request.nameContains,
        status: request.status,
      });
      const items = rows.slice(0, request.limit);
      return { items, nextCursor: rows.length > request.limit ? encodeCursor(items[items.length - 1]!.id) : null };
    },

    /** Offset paging with a filter and the number of matches, for wire formats that page that way. */
    async search(
      actor: Actor,
      workspaceId: string,
      query: AccessClientFilter & { offset: number; limit: number },
    ): Promise<{ items: AccessClient[]; total: number }> {
      authorize(actor, 'access-client:read', workspaceId);
      return clients.searchAccessClients(db.kysely, workspaceId, query);
    },

    async get(actor: Actor, workspaceId: string, id: string): Promise<AccessClient> {
      authorize(actor, 'access-client:read', workspaceId);
      const client = await clients.findAccessClient(db.kysely, workspaceId, id);
      if (!client) throw notFound(`Access client "${id}"`);
      return client;
    },

    /** Creates a client with its first token, returned here once. */
    async create(actor: Actor, workspaceId: string, body: unknown): Promise<IssuedClientSecret> {
      authorize(actor, 'access-client:create', workspaceId);
      const input = checked(checkCreate(body));
      const now = clock.now();
      const id = input.id ?? newId('ac', '-');
      const token = generateClientToken();
      const row = secretRowFor({ workspaceId, id }, token, now);
      const fields = {
        workspaceId,
        id,
        uid: newUid('accessClient'),
        ...accessClientFieldsFrom(input),
        createdAt: now,
        updatedAt: now,
        revision: 1,
      };
      const issued = await writeWithRetry(
        writer,
        async (tx) => {
          await clients.insertAccessClient(tx, fields);
          await clients.insertAccessClientSecret(tx, row);
          const client: AccessClient = { ...fields, secrets: [secretOf(row)] };
          await recordChange(
            tx,
            actor,
            {
              workspaceId,
              action: 'access-client:create',
              resourceType: 'access-client',
              resourceId: id,
              after: client,
            },
            now,
          );
          return { client, secret: token };
        },
        () => conflict(`An access client with id "${id}" already exists in this workspace.`),
      );
      // Committed: the client's first change (a rename right after the create) need not read it again.
      writer.remember(rows, clients.accessClientKey(workspaceId, id), issued.client);
      return issued;
    },

    /** PUT: every field takes the body's value; omitted optional fields are unset (docs/api.md). */
    replace(
      actor: Actor,
      workspaceId: string,
      id: string,
      body: unknown,
      precondition?: Precondition,
    ): Promise<AccessClient> {
      authorize(actor, 'access-client:update', workspaceId);
      const input = checked(checkInput(body));
      return mutate(actor, workspaceId, id, precondition, () => input);
    },

    /** PATCH: a JSON merge patch (RFC 7396) over the current fields, then validated as a whole. */
    patch(
      actor: Actor,
      workspaceId: string,
      id: string,
      patch: Record<string, unknown>,
      precondition?: Precondition,
    ): Promise<AccessClient> {
      return mutate(actor, workspaceId, id, precondition, (current) => {
        const base = {
          name: current.name,
          description: current.description,
          toolsets: current.toolsets,
          rateLimit: current.rateLimit,
          status: current.status,
        };
        return checkInput(applyMergePatch(base, patch));
      });
    },

    async remove(actor: Actor, workspaceId: string, id: string, precondition?: Precondition): Promise<void> {
      authorize(actor, 'access-client:delete', workspaceId);
      await writeWithRetry(writer, async (tx) => {
        const current = await load(tx, workspaceId, id, precondition);
        if (!(await clients.deleteAccessClient(tx, workspaceId, id, current.revision))) throw new StaleWrite();
        await recordChange(
          tx,
          actor,
          {
            workspaceId,
            action: 'access-client:delete',
            resourceType: 'access-client',
            resourceId: id,
            before: current,
          },
          clock.now(),
        );
      });
    },

    /**
     * Issues a new token and retires the previous ones after a grace period (0 revokes them at once), so that
     * a consumer can switch over without downtime. The new token is in the result only.
     */
    async rotateSecret(
      actor: Actor,
      workspaceId: string,
      id: string,
      body: unknown,
      precondition?: Precondition,
    ): Promise<IssuedClientSecret> {
      authorize(actor, 'access-client:update', workspaceId);
      const grace = checkRotate(body ?? {}).gracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
      const token = generateClientToken();
      return change<IssuedClientSecret>(actor, workspaceId, id, precondition, (current) => ({
        next: current,
        action: 'access-client:rotate-secret',
        fields: ['secrets'],
        after: async (tx, stored) => {
          const now = stored.updatedAt;
          await clients.expireAccessClientSecrets(tx, workspaceId, id, plusSeconds(now, grace));
          await clients.deleteExpiredAccessClientSecrets(tx, workspaceId, id, now);
          await clients.insertAccessClientSecret(tx, secretRowFor(stored, token, now));
          // The client as this rotation left it: with a batch of rotations, later ones have not run yet.
          const { secrets } = (await clients.findAccessClient(tx, workspaceId, id))!;
          return { client: { ...stored, secrets }, secret: token };
        },
      }));
    },

    /**
     * Resolves a gateway bearer token to its client. Undefined for a token that is unknown, retired past its
     * grace period, or whose client is disabled: the gateway answers all of them alike.
     */
    async authenticateClient(token: string): Promise<AuthenticatedClient | undefined> {
      if (!token.startsWith(ACCESS_CLIENT_TOKEN_PREFIX)) return undefined;
      const found = await clients.findAccessClientBySecretHash(db.kysely, hashApiKey(token));
      if (!found || isExpired(found.secret, clock.now()) || found.client.status !== 'active') return undefined;
      return { workspaceId: found.client.workspaceId, client: found.client };
    },
  };
}

export type AccessClientService = ReturnType<typeof createAccessClientService>;
