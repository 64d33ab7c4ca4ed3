import { randomInt } from 'node:crypto';
import { sameJson } from '../domain/common.js';
import { checkPrecondition, type Precondition } from '../domain/etag.js';
import { conflict, notFound, preconditionFailed, validationFailed } from '../domain/errors.js';
import { applyMergePatch } from '../domain/merge-patch.js';
import { decodeCursor, encodeCursor, pageOf, type Page, type PageRequest } from '../domain/page.js';
import { MASK, isSealed, refuseSealedInput } from '../domain/secrets.js';
import {
  ToolsetCreateInput,
  ToolsetInput,
  PENDING_STATUS,
  servedModeOf,
  type Toolset,
  type ToolsetSpec,
  type ToolsetPhase,
  type ToolsetToolView,
  type ToolsetView,
  versionOf,
  withEndpoints,
} from '../domain/toolset.js';
import type { FieldError } from '../domain/errors.js';
import { servedInputSchema, type ServingBudget, type ToolCatalog } from '../openapi/tool-catalog.js';
import { keepSpecUrls, maskSpecUrls } from '../domain/toolset-urls.js';
import { compileCheck } from '../domain/validate.js';
import { findConnection } from '../storage/connection-repo.js';
import { findConnector } from '../storage/connector-repo.js';
import type { Db } from '../storage/database.js';
import type { Executor, Tx } from '../storage/engine.js';
import * as toolsets from '../storage/toolset-repo.js';
import type { Writer } from '../storage/writer.js';
import { changeEvent, recordChange } from './audit-service.js';
import { StaleWrite } from '../storage/write-conflicts.js';
import { authorize } from './authorize.js';
import { withRetry, writeWithRetry } from './write-retry.js';
import { workspaceUidOf } from '../storage/row-workspaces.js';
import type { Actor } from './actor.js';
import type { Clock } from './clock.js';
import { sealOwnerIn, sealValue, type SealOwner } from './secret-fields.js';
import { createToolsetSecretsCheck } from './toolset-destinations.js';
import type { Vault } from './vault.js';

const checkCreate = compileCheck(ToolsetCreateInput);
const checkInput = compileCheck(ToolsetInput);

/** Where the gateway serves a toolset, built for each read and never stored: it depends on the node that answers. */
export interface GatewayUrls {
  /** `requestOrigin`: the origin the caller addressed (`Actor.requestOrigin`), if it sent a usable one. */
  mcpUrlOf(workspaceId: string, name: string, requestOrigin: string | undefined): string;
}

/** The two places a toolset spec holds a secret: the API key value, and the older `authorization.authConfig.key`. */
function sealSpec(vault: Vault, given: ToolsetSpec, stored: ToolsetSpec | undefined, owner: SealOwner): ToolsetSpec {
  const spec = keepSpecUrls(given, stored);
  const errors: { path: string; message: string }[] = [];
  const seal = (value: string | null | undefined, previous: unknown, path: string): string | null => {
    if (value === undefined || value === null) return null;
    if (value === MASK && !isSealed(previous)) {
      errors.push({ path, message: `is the mask "${MASK}" but no secret is stored here to keep` });
      return null;
    }
    // The request path of a spec field is also its place in the toolset.
    return sealValue(vault, value === MASK ? undefined : value, previous, { ...owner, path });
  };
  const apiKey = spec.authConfig?.parameters.apiKeyParameter;
  const legacyKey = spec.authorization?.authConfig?.key;
  const sealed: ToolsetSpec = {
    ...spec,
    ...(spec.authConfig && apiKey
      ? {
          authConfig: {
            ...spec.authConfig,
            parameters: {
              apiKeyParameter: {
                ...apiKey,
                value: seal(
                  apiKey.value,
                  stored?.authConfig?.parameters.apiKeyParameter.value,
                  '/spec/authConfig/parameters/apiKeyParameter/value',
                ),
              },
            },
          },
        }
      : {}),
    ...(spec.authorization && typeof legacyKey === 'string' && legacyKey !== ''
      ? {
          authorization: {
            ...spec.authorization,
            authConfig: {
              ...spec.authorization.authConfig,
              key: seal(legacyKey, stored?.authorization?.authConfig?.key, '/spec/authorization/authConfig/key'),
            },
          },
        }
      : {}),
  };
  if (errors.length > 0) throw validationFailed(errors);
  return sealed;
}

/** The stored toolset with its secrets masked. */
function maskToolset(toolset: Toolset): Toolset {
  const spec = maskSpecUrls(toolset.spec);
  const apiKey = spec.authConfig?.parameters.apiKeyParameter;
  const legacyKey = spec.authorization?.authConfig?.key;
  return {
    ...toolset,
    spec: {
      ...spec,
      ...(spec.authConfig && apiKey
        ? {
            authConfig: {
              ...spec.authConfig,
              parameters: {
                apiKeyParameter: {
                  ...apiKey,
                  value: apiKey.value === null || apiKey.value === undefined ? null : MASK,
                },
              },
            },
          }
        : {}),
      ...(spec.authorization && isSealed(legacyKey)
        ? { authorization: { ...spec.authorization, authConfig: { ...spec.authorization.authConfig, key: MASK } } }
        : {}),
    },
  };
}

/**
 * What the schema cannot say about a spec: the document within the operator's limit (TOOLSET_MAX_DOCUMENT_BYTES),
 * and no two overrides giving the same name.
 */
function checkSpec(spec: ToolsetSpec, maxDocumentBytes: number): void {
  const errors: FieldError[] = [];
  const bytes = Buffer.byteLength(spec.schema.detail);
  if (bytes > maxDocumentBytes)
    errors.push({
      path: '/spec/schema/detail',
      message: `is ${bytes.toLocaleString('en')} bytes, over this server's limit of ${maxDocumentBytes.toLocaleString('en')} (TOOLSET_MAX_DOCUMENT_BYTES)`,
    });
  const given = new Map<string, string>();
  for (const [tool, override] of Object.entries(spec.tools ?? {})) {
    if (override.name === undefined) continue;
    const other = given.get(override.name);
    if (other !== undefined)
      errors.push({
        path: `/spec/tools/${tool}/name`,
        message: `gives the name "${override.name}", which the override of "${other}" gives too`,
      });
    given.set(override.name, tool);
  }
  if (errors.length > 0) throw validationFailed(errors);
}

/**
 * A toolset's `connectionId` must name a shared connection of its workspace (a person's own connection is used
 * only in their own calls, through per-user `credentials`); `credentials` must name a connector of the workspace
 * with an oauth2-code auth scheme. One or the other, for an OpenAPI toolset.
 */
async function checkConnectionOf(db: Executor, workspaceId: string, spec: ToolsetSpec): Promise<void> {
  const id = spec.connectionId;
  const perUser = spec.credentials;
  if ((id === undefined || id === null) && (perUser === undefined || perUser === null)) return;
  const path = id === undefined || id === null ? '/spec/credentials' : '/spec/connectionId';
  if (spec.schema.type !== 'OpenAPI') throw validationFailed([{ path, message: 'is for OpenAPI toolsets only' }]);
  if (id !== undefined && id !== null && perUser !== undefined && perUser !== null)
    throw validationFailed([
      {
        path: '/spec/credentials',
        message: "cannot be given with spec.connectionId: calls use either one shared connection or each caller's own",
      },
    ]);
  if (perUser) {
    const connector = await findConnector(db, workspaceId, perUser.connectorId);
    if (!connector)
      throw validationFailed([
        {
          path: '/spec/credentials/connectorId',
          message: `names no connector in this workspace: ${perUser.connectorId}`,
        },
      ]);
    if (!connector.authSchemeConfigs.some((c) => c.schemeType === 'oauth2-code'))
      throw validationFailed([
        {
          path: '/spec/credentials/connectorId',
          message: `names connector "${connector.id}", which has no oauth2-code auth scheme: per-user mode connects each person with the authorization code flow`,
        },
      ]);
    return;
  }
  const connection = await findConnection(db, workspaceId, id!);
  if (!connection)
    throw validationFailed([{ path: '/spec/connectionId', message: `names no connection in this workspace: ${id}` }]);
  if (connection.ownerUserId !== null)
    throw validationFailed([
      {
        path: '/spec/connectionId',
        message: `names connection ${id}, which belongs to a person: its tokens go only into that person's own calls (use spec.credentials in per-user mode)`,
      },
    ]);
}

/** A random numeric uid, as DevS gives its toolsets. */
const newUid = () => `${randomInt(1, 10_000_000)}${String(randomInt(0, 100_000_000)).padStart(8, '0')}`;

/**
 * Toolsets: callers write `description`, `labels` and `spec`; the reconciler turns each new `generation`
 * (one per change of spec) into `status`. `onSpecChange` wakes the reconciler after a committed change.
 */
export function createToolsetService(deps: {
  db: Db;
  writer: Writer;
  vault: Vault;
  clock: Clock;
  urls: GatewayUrls;
  onSpecChange: (key: { workspaceId: string; name: string; generation: number }) => void;
  catalog: ServingBudget & { readonly maxDocumentBytes: number };
}) {
  const { db, writer, vault, clock, urls, onSpecChange } = deps;
  const { maxDocumentBytes } = deps.catalog;
  const checkToolsetSecretsStay = createToolsetSecretsCheck();
  const rows = toolsets.toolsetRows(db.engine);

  /** The read view for this caller: secrets masked, and where the gateway serves the toolset as this caller reaches it. */
  const viewToolset = (actor: Actor, toolset: Toolset): ToolsetView =>
    withEndpoints(maskToolset(toolset), urls.mcpUrlOf(toolset.workspaceId, toolset.name, actor.requestOrigin));

  async function mutate(
    actor: Actor,
    workspaceId: string,
    name: string,
    precondition: Precondition | undefined,
    toInput: (current: Toolset) => unknown,
    options: { readonly changesSpec: boolean },
  ) {
    authorize(actor, 'toolset:update', workspaceId);
    // A change of the spec is checked once before the transaction too: a document that must be parsed for its
    // servers is parsed here, not while the writer holds every other write back (the check inside then finds the
    // parse remembered). A change that leaves the spec as it is has nothing to parse.
    if (options.changesSpec) {
      const before = await toolsets.findToolset(db.kysely, workspaceId, name);
      if (before) {
        const spec = checkInput(toInput(before)).spec;
        checkSpec(spec, maxDocumentBytes);
        checkToolsetSecretsStay(before.spec, spec);
        await checkConnectionOf(db.kysely, workspaceId, spec);
      }
    }
    const result = await withRetry(() =>
      writer.change(rows, {
        key: toolsets.toolsetKey(workspaceId, name),
        apply: (current) => {
          if (!current) throw notFound(`Toolset "${name}"`);
          if (!checkPrecondition(versionOf(current), precondition)) throw preconditionFailed();
          // Sealing binds secrets to the workspace's uid, read with the row (row-workspaces.ts).
          const workspaceUid = workspaceUidOf(current);
          if (workspaceUid === undefined) throw new Error(`Toolset "${name}" was read without its workspace's uid.`);
          const input = checkInput(toInput(current));
          checkSpec(input.spec, maxDocumentBytes);
          checkToolsetSecretsStay(current.spec, input.spec);
          const spec = sealSpec(vault, input.spec, current.spec, { workspaceUid, resourceUid: current.uid });
          const specChanged = !sameJson(spec, current.spec);
          // An unchanged spec stays the very object read, which the store then leaves as it is (no document sent).
          const fields = {
            description: input.description ?? null,
            labels: input.labels ?? {},
            spec: specChanged ? spec : current.spec,
          };
          if (
            !specChanged &&
            sameJson(fields, { description: current.description, labels: current.labels, spec: current.spec })
          )
            return { result: { toolset: current, specChanged: false } };
          const now = clock.now();
          const next: Toolset = {
            ...current,
            ...fields,
            generation: current.generation + (specChanged ? 1 : 0),
            updatedAt: now,
            revision: current.revision + 1,
          };
          const audit = changeEvent(
            actor,
            {
              workspaceId,
              action: 'toolset:update',
              resourceType: 'toolset',
              resourceId: name,
              before: current,
              after: next,
              open: ['spec'],
            },
            now,
          );
          const result = { toolset: next, specChanged };
          // The connection a spec names must exist when the change commits: checked in its transaction.
          const connectionChecked =
            (input.spec.connectionId === undefined || input.spec.connectionId === null) && !input.spec.credentials
              ? undefined
              : async (tx: Tx) => {
                  await checkConnectionOf(tx, workspaceId, input.spec);
                  return result;
                };
          return { next, audit, result, ...(connectionChecked ? { after: connectionChecked } : {}) };
        },
      }),
    );
    if (result.specChanged) onSpecChange({ workspaceId, name, generation: result.toolset.generation });
    return viewToolset(actor, result.toolset);
  }

  return {
    async list(
      actor: Actor,
      workspaceId: string,
      request: PageRequest & { nameContains?: string; phase?: ToolsetPhase },
    ): Promise<Page<ToolsetView>> {
      authorize(actor, 'toolset:read', workspaceId);
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, 'string');
      const rows = await toolsets.listToolsets(db.kysely, workspaceId, after, request.limit + 1, {
        nameContains: request.nameContains,
        phase: request.phase === undefined ? undefined : { engine: db.engine, phase: request.phase },
      });
      const items = rows.slice(0, request.limit).map((row) => viewToolset(actor, row));
      return { items, nextCursor: rows.length > request.limit ? encodeCursor(items[items.length - 1]!.name) : null };
    },

    async get(actor: Actor, workspaceId: string, name: string): Promise<ToolsetView> {
      authorize(actor, 'toolset:read', workspaceId);
      const toolset = await toolsets.findToolset(db.kysely, workspaceId, name);
      if (!toolset) throw notFound(`Toolset "${name}"`);
      return viewToolset(actor, toolset);
    },

    /**
     * The tools of the toolset's catalogue (the last spec that converted, curated), each with the input schema the
     * gateway serves for it (within the schema budget) and its size.
     */
    async listTools(
      actor: Actor,
      workspaceId: string,
      name: string,
      request: PageRequest,
    ): Promise<Page<ToolsetToolView>> {
      authorize(actor, 'toolset:read', workspaceId);
      const found = await toolsets.findCatalog(db.kysely, workspaceId, name);
      if (!found) throw notFound(`Toolset "${name}"`);
      const catalog = (found.catalog ?? { definitions: {}, tools: [] }) as ToolCatalog;
      const summary = found.status.outputs.catalog;
      const mode = servedModeOf(found.spec.toolMode, {
        tools: catalog.tools.length,
        staticListBytes: summary?.staticListBytes ?? 0,
      });
      const page = pageOf(catalog.tools, (t) => t.name, request);
      return {
        ...page,
        items: page.items.map((tool) => {
          const view = {
            name: tool.name,
            description: tool.description,
            inputSchema: servedInputSchema(tool, catalog.definitions, deps.catalog, mode),
            ...(tool.method === null ? {} : { method: tool.method }),
            ...(tool.path === null ? {} : { path: tool.path }),
          };
          return {
            ...view,
            bytes: Buffer.byteLength(
              JSON.stringify({ name: view.name, description: view.description, inputSchema: view.inputSchema }),
            ),
          };
        }),
      };
    },

    async create(actor: Actor, workspaceId: string, body: unknown): Promise<ToolsetView> {
      authorize(actor, 'toolset:create', workspaceId);
      const input = checkCreate(body);
      refuseSealedInput(input);
      checkSpec(input.spec, maxDocumentBytes);
      await checkConnectionOf(db.kysely, workspaceId, input.spec);
      const now = clock.now();
      const uid = newUid();
      const owner = await sealOwnerIn(db.kysely, workspaceId, uid);
      const toolset: Toolset = {
        workspaceId,
        name: input.name,
        uid,
        kind: 'Toolset',
        generation: 1,
        description: input.description ?? null,
        labels: input.labels ?? {},
        createdTime: now,
        spec: sealSpec(vault, input.spec, undefined, owner),
        status: PENDING_STATUS,
        revision: 1,
        updatedAt: now,
      };
      await writeWithRetry(
        writer,
        async (tx) => {
          await toolsets.insertToolset(tx, toolset);
          await recordChange(
            tx,
            actor,
            {
              workspaceId,
              action: 'toolset:create',
              resourceType: 'toolset',
              resourceId: toolset.name,
              after: toolset,
              open: ['spec'],
            },
            now,
          );
        },
        () => conflict(`A toolset named "${input.name}" already exists in this workspace.`),
      );
      onSpecChange({ workspaceId, name: toolset.name, generation: 1 });
      return viewToolset(actor, toolset);
    },

    /** PUT: description, labels and spec take the body's values (omitted optional fields are unset). */
    replace(actor: Actor, workspaceId: string, name: string, body: unknown, precondition?: Precondition) {
      authorize(actor, 'toolset:update', workspaceId);
      const input = checkInput(body);
      refuseSealedInput(input);
      return mutate(actor, workspaceId, name, precondition, () => input, { changesSpec: true });
    },

    /** PATCH: a JSON merge patch over the writable fields (spec merges key by key). */
    patch(
      actor: Actor,
      workspaceId: string,
      name: string,
      patch: Record<string, unknown>,
      precondition?: Precondition,
    ) {
      authorize(actor, 'toolset:update', workspaceId);
      refuseSealedInput(patch);
      return mutate(
        actor,
        workspaceId,
        name,
        precondition,
        (current) => {
          const view = maskToolset(current);
          return applyMergePatch({ description: view.description, labels: view.labels, spec: view.spec }, patch);
        },
        { changesSpec: 'spec' in patch },
      );
    },

    async remove(actor: Actor, workspaceId: string, name: string, precondition?: Precondition): Promise<void> {
      authorize(actor, 'toolset:delete', workspaceId);
      await writeWithRetry(writer, async (tx) => {
        const current = await toolsets.findToolset(tx, workspaceId, name, { forUpdate: db.engine === 'postgres' });
        if (!current) throw notFound(`Toolset "${name}"`);
        if (!checkPrecondition(versionOf(current), precondition)) throw preconditionFailed();
        if (!(await toolsets.deleteToolset(tx, workspaceId, name, current.revision))) throw new StaleWrite();
        await recordChange(
          tx,
          actor,
          { workspaceId, action: 'toolset:delete', resourceType: 'toolset', resourceId: name, before: current },
          clock.now(),
        );
      });
    },
  };
}

export type ToolsetService = ReturnType<typeof createToolsetService>;
