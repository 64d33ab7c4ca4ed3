import { randomBytes } from 'node:crypto';
import { checkPrecondition, type Precondition } from '../domain/etag.js';
import { notFound, preconditionFailed, validationFailed } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { applyMergePatch } from '../domain/merge-patch.js';
import { decodeCursor, encodeCursor, type Page, type PageRequest } from '../domain/page.js';
import { ACCESS_KEY_SECRET_PATH } from '../domain/sealed-places.js';
import { MASK, refuseSealedInput } from '../domain/secrets.js';
import { compileCheck } from '../domain/validate.js';
import {
  WebhookCreateInput,
  WebhookFields,
  WebhookSecretPatch,
  checkWebhookUrl,
  type DeliveryStatus,
  type Webhook,
  type WebhookDelivery,
} from '../domain/webhook.js';
import { EgressRefused, type EgressPolicy } from '../egress/egress-policy.js';
import type { Db } from '../storage/database.js';
import type { Executor } from '../storage/engine.js';
import * as webhooks from '../storage/webhook-repo.js';
import { findWorkspaceUid } from '../storage/workspace-repo.js';
import type { Writer } from '../storage/writer.js';
import { StaleWrite } from '../storage/write-conflicts.js';
import type { Actor } from './actor.js';
import { changeEvent, recordChange } from './audit-service.js';
import { authorize } from './authorize.js';
import type { Clock } from './clock.js';
import { sealOwnerIn, sealValue } from './secret-fields.js';
import type { SealPlace, Vault } from './vault.js';
import { withRetry, writeWithRetry } from './write-retry.js';

const checkCreate = compileCheck(WebhookCreateInput);
const checkFields = compileCheck(WebhookFields);
const secretMatches = compileCheck(WebhookSecretPatch);
/** A secret from a merge patch, its errors at `/secret`. */
function checkSecret(value: unknown): string {
  try {
    return secretMatches(value);
  } catch {
    throw validationFailed([
      { path: '/secret', message: `must be 16–256 characters, or the mask "${MASK}" to keep it` },
    ]);
  }
}

/** A webhook as every answer shows it: the secret is the mask. */
export type WebhookView = Omit<Webhook, 'secret'> & { readonly secret: typeof MASK };
/** A new webhook and, when the server generated its secret, that secret (this once). */
export interface CreatedWebhook {
  readonly webhook: WebhookView;
  readonly generatedSecret: string | null;
}

const viewOf = (w: Webhook): WebhookView => ({ ...w, secret: MASK });
/** The fields an audit event names when they changed; the secret by its name only. */
const AUDITED = ['url', 'description', 'eventTypes', 'enabled', 'secret'] as const;
const changedOf = (before: Webhook | undefined, after: Webhook | undefined) =>
  AUDITED.filter((f) => JSON.stringify(before?.[f]) !== JSON.stringify(after?.[f]));

/** Where a webhook's secret is sealed: its workspace, the webhook (its id is minted, never reused), `/secret`. */
const secretPlace = (workspaceUid: string, id: string): SealPlace => ({
  workspaceUid,
  resourceUid: id,
  path: ACCESS_KEY_SECRET_PATH,
});

/** {@link secretPlace}, with the workspace's uid read from the store. */
export async function webhookSecretPlace(db: Executor, workspaceId: string, id: string): Promise<SealPlace> {
  return secretPlace((await sealOwnerIn(db, workspaceId, id)).workspaceUid, id);
}

/**
 * Outgoing webhooks of a workspace (URL, signing secret, event types) and their deliveries. An admin's resource,
 * like API keys: its secret signs what plugboard tells the receiver, and its URL is where plugboard connects.
 */
export function createWebhookService(deps: {
  db: Db;
  writer: Writer;
  vault: Vault;
  clock: Clock;
  egress: EgressPolicy;
}) {
  const { db, writer, vault, clock, egress } = deps;
  const rows = webhooks.webhookRows(db.engine);

  /** The URL's shape, then the egress policy over every address its host resolves to now (a 400 when refused). */
  async function checkUrl(text: string): Promise<void> {
    const checked = checkWebhookUrl(text);
    if (!('url' in checked)) throw validationFailed(checked.errors);
    const { url } = checked;
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    try {
      await egress.resolve(url.hostname, port);
    } catch (error) {
      if (error instanceof EgressRefused) throw validationFailed([{ path: '/url', message: `is ${error.message}` }]);
      const code = (error as { code?: unknown }).code;
      throw validationFailed([
        {
          path: '/url',
          message: `names a host that does not resolve (${typeof code === 'string' ? code : 'lookup failed'})`,
        },
      ]);
    }
  }

  async function findHere(ex: Executor, workspaceId: string, id: string, forUpdate = false): Promise<Webhook> {
    const found = await webhooks.findWebhook(ex, workspaceId, id, { forUpdate: forUpdate && db.engine === 'postgres' });
    if (!found) throw notFound(`Webhook "${id}"`);
    return found;
  }

  return {
    async list(actor: Actor, workspaceId: string, request: PageRequest): Promise<Page<WebhookView>> {
      authorize(actor, 'webhook:read', workspaceId);
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, 'string');
      const rows = await webhooks.listWebhooks(db.kysely, workspaceId, after, request.limit + 1);
      const items = rows.slice(0, request.limit).map(viewOf);
      return { items, nextCursor: rows.length > request.limit ? encodeCursor(items[items.length - 1]!.id) : null };
    },

    async get(actor: Actor, workspaceId: string, id: string): Promise<WebhookView> {
      authorize(actor, 'webhook:read', workspaceId);
      return viewOf(await findHere(db.kysely, workspaceId, id));
    },

    async create(actor: Actor, workspaceId: string, body: unknown): Promise<CreatedWebhook> {
      authorize(actor, 'webhook:manage', workspaceId);
      const input = checkCreate(body);
      refuseSealedInput(input);
      if (input.secret === MASK)
        throw validationFailed([
          { path: '/secret', message: `is the mask "${MASK}" but no secret is stored here to keep` },
        ]);
      await checkUrl(input.url);
      const generatedSecret = input.secret === undefined ? `whsec_${randomBytes(32).toString('base64url')}` : null;
      const id = newId('whk');
      return writer.write(async (tx) => {
        const now = clock.now();
        const webhook: Webhook = {
          id,
          workspaceId,
          url: input.url,
          description: input.description ?? null,
          secret: vault.seal(input.secret ?? generatedSecret!, await webhookSecretPlace(tx, workspaceId, id)),
          eventTypes: input.eventTypes,
          enabled: input.enabled ?? true,
          createdAt: now,
          updatedAt: now,
          revision: 1,
        };
        await webhooks.insertWebhook(tx, webhook);
        const change = { workspaceId, action: 'webhook:create', resourceType: 'webhook', resourceId: id };
        await recordChange(tx, actor, { ...change, after: webhook, fields: changedOf(undefined, webhook) }, now);
        return { webhook: viewOf(webhook), generatedSecret };
      });
    },

    /** A JSON merge patch over the writable fields; the mask (or no `secret`) keeps the secret. */
    async patch(
      actor: Actor,
      workspaceId: string,
      id: string,
      patch: Record<string, unknown>,
      precondition?: Precondition,
    ): Promise<WebhookView> {
      authorize(actor, 'webhook:manage', workspaceId);
      refuseSealedInput(patch);
      if (typeof patch.url === 'string') await checkUrl(patch.url);
      // The secret is sealed for the workspace's uid, which never changes: read once, before the change.
      const workspaceUid = await findWorkspaceUid(db.kysely, workspaceId);
      return withRetry(() =>
        writer.change(rows, {
          key: webhooks.webhookKey(workspaceId, id),
          apply: (current) => {
            if (!current) throw notFound(`Webhook "${id}"`);
            if (!checkPrecondition(current, precondition)) throw preconditionFailed();
            const { secret: newSecret, ...rest } = patch;
            const merged = applyMergePatch(viewOf(current), rest) as Record<string, unknown>;
            for (const field of ['id', 'workspaceId', 'secret', 'createdAt', 'updatedAt', 'revision'])
              delete merged[field];
            const input = checkFields(merged);
            if (newSecret === null)
              throw validationFailed([{ path: '/secret', message: 'cannot be unset: a webhook signs every delivery' }]);
            const plaintext = newSecret === undefined ? undefined : checkSecret(newSecret);
            if (workspaceUid === undefined) throw notFound(`Workspace "${workspaceId}"`);
            const place = secretPlace(workspaceUid, id);
            const secret = sealValue(vault, plaintext === MASK ? undefined : plaintext, current.secret, place);
            const next: Webhook = { ...current, ...input, description: input.description ?? null, secret };
            const fields = changedOf(current, next);
            if (fields.length === 0) return { result: viewOf(current) };
            const now = clock.now();
            const stored = { ...next, updatedAt: now, revision: current.revision + 1 };
            const change = { workspaceId, action: 'webhook:update', resourceType: 'webhook', resourceId: id, fields };
            const audit = changeEvent(actor, { ...change, before: current, after: stored }, now);
            return { next: stored, audit, result: viewOf(stored) };
          },
        }),
      );
    },

    async remove(actor: Actor, workspaceId: string, id: string, precondition?: Precondition): Promise<void> {
      authorize(actor, 'webhook:manage', workspaceId);
      await writeWithRetry(writer, async (tx) => {
        const current = await findHere(tx, workspaceId, id, true);
        if (!checkPrecondition(current, precondition)) throw preconditionFailed();
        if (!(await webhooks.deleteWebhook(tx, workspaceId, id, current.revision))) throw new StaleWrite();
        const change = { workspaceId, action: 'webhook:delete', resourceType: 'webhook', resourceId: id, fields: [] };
        await recordChange(tx, actor, { ...change, before: current }, clock.now());
      });
    },

    /** A webhook's deliveries, newest first, optionally of one status. */
    async deliveries(
      actor: Actor,
      workspaceId: string,
      id: string,
      request: PageRequest & { status?: DeliveryStatus },
    ): Promise<Page<WebhookDelivery>> {
      authorize(actor, 'webhook:read', workspaceId);
      await findHere(db.kysely, workspaceId, id);
      const before = request.cursor === undefined ? undefined : decodeCursor(request.cursor, 'string');
      const [createdAt, deliveryId] = before === undefined ? [] : before.split(' ');
      const rows = await webhooks.listDeliveries(db.kysely, id, {
        before: createdAt && deliveryId ? { createdAt, id: deliveryId } : undefined,
        status: request.status,
        limit: request.limit + 1,
      });
      const items = rows.slice(0, request.limit);
      const last = items[items.length - 1];
      return {
        items,
        nextCursor: rows.length > request.limit && last ? encodeCursor(`${last.createdAt} ${last.id}`) : null,
      };
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
