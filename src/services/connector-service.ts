import {
  checkConfigIds,
  checkVariables,
  connectorFieldsFrom,
  reorderConfigs,
  validationMessagesFor,
  ConnectorCreateInput,
  ConnectorInput,
  type AuthSchemeConfig,
  type AuthSchemeConfigInput,
  type Connector,
} from '../domain/connector.js';
import { changedFields, type NewAuditEvent } from '../domain/audit.js';
import { canonicalVariables, sameJson, sharingUnchanged } from '../domain/common.js';
import { checkPrecondition, type Precondition } from '../domain/etag.js';
import { conflict, notFound, preconditionFailed, validationFailed, type FieldError } from '../domain/errors.js';
import { newId, newUid } from '../domain/ids.js';
import { authSchemeConfigPath } from '../domain/sealed-places.js';
import { applyMergePatch } from '../domain/merge-patch.js';
import {
  checkWindowRequest,
  decodeCursor,
  encodeCursor,
  windowFrom,
  type Page,
  type PageRequest,
  type Window,
  type WindowRequest,
} from '../domain/page.js';
import { checkSecretsStay, destinationsOf, keptSecretsOf } from '../domain/secret-destinations.js';
import { refuseSealedInput } from '../domain/secrets.js';
import { viewConnector } from '../domain/views.js';
import { compileCheck } from '../domain/validate.js';
import * as connectors from '../storage/connector-repo.js';
import type { ConnectorFilter } from '../storage/connector-repo.js';
import * as connections from '../storage/connection-repo.js';
import type { Db } from '../storage/database.js';
import type { Writer } from '../storage/writer.js';
import type { Tx } from '../storage/engine.js';
import { insertConnectorConnectionEvents } from '../storage/audit-repo.js';
import { connectionRows } from '../storage/connection-rows.js';
import { changeMany } from '../storage/row-change.js';
import { connectionChange } from './connection-service.js';
import { changeEvent, recordChange } from './audit-service.js';
import { StaleWrite } from '../storage/write-conflicts.js';
import { authorize } from './authorize.js';
import { withRetry, writeWithRetry } from './write-retry.js';
import type { Actor } from './actor.js';
import type { Clock } from './clock.js';
import { sealOwnerIn, sealSettings, type SealOwner } from './secret-fields.js';
import type { Vault } from './vault.js';

export interface ConnectorServiceDeps {
  readonly db: Db;
  readonly writer: Writer;
  readonly vault: Vault;
  readonly clock: Clock;
}

/** A connector write's outcome: the new state, and how many connections took the connector's variables. */
export interface ConnectorWrite {
  readonly connector: Connector;
  readonly connectionsUpdated: number;
}

/** The next state of a connector, and whether the write sets its connection variables (and so propagates them). */
export interface ConnectorChange {
  readonly next: Connector;
  readonly setsVariables: boolean;
  /**
   * A rule over other rows, checked in the change's transaction after the connector row is written (and locked):
   * throwing refuses the change. Only for a rule the connector row alone cannot decide (a config that
   * connections still use).
   */
  readonly check?: (tx: Tx) => Promise<void>;
}

/** Collections shown by GET but managed through their own endpoints; a PUT may echo them back unchanged. */
export interface ReadOnlyEcho {
  readonly authSchemeConfigs?: unknown;
  readonly versions?: unknown;
}

/** Connector fields a replacement can be told to leave as they are. */
export type KeptField = 'description' | 'status' | 'protocolType';

const checkCreate = compileCheck(ConnectorCreateInput);
const checkInput = compileCheck(ConnectorInput);

/**
 * Builds a stored auth-scheme config from input: secrets sealed for the connector (`owner`) under the config's
 * id, validation messages computed.
 */
export function buildAuthSchemeConfig(
  vault: Vault,
  input: AuthSchemeConfigInput,
  previous: AuthSchemeConfig | undefined,
  path: string,
  owner: SealOwner,
): AuthSchemeConfig {
  refuseSealedInput(input, path);
  if (previous) {
    const at = `${path}/config`;
    checkSecretsStay(
      () => destinationsOf(previous.config, at),
      () => destinationsOf(input.config, at),
      keptSecretsOf(input.config, at),
    );
  }
  const id = input.id ?? previous?.id ?? newId('asc');
  const config = sealSettings(vault, input.config ?? {}, previous?.config, `${path}/config`, undefined, {
    owner,
    base: authSchemeConfigPath(id),
  });
  return {
    id,
    schemeType: input.schemeType,
    description: input.description ?? null,
    config,
    validationMessages: validationMessagesFor(input.schemeType, config),
  };
}

export function createConnectorService(deps: ConnectorServiceDeps) {
  const { db, writer, vault, clock } = deps;
  const rows = connectors.connectorRows(db.engine);
  const connectionRowStore = connectionRows(db.engine);

  async function load(tx: Tx, workspaceId: string, id: string, precondition?: Precondition): Promise<Connector> {
    const current = await connectors.findConnector(tx, workspaceId, id, { forUpdate: db.engine === 'postgres' });
    if (!current) throw notFound(`Connector "${id}"`);
    if (!checkPrecondition(current, precondition)) throw preconditionFailed();
    return current;
  }

  /**
   * Writes the connector's variables into its connections, with their audit rows; returns how many changed. Each
   * connection takes the one connection write path (its row change, {@link connectionChange}), all of them in one
   * set-based step of the connector's transaction ({@link changeMany}): a few statements however many there are.
   */
  async function propagate(
    tx: Tx,
    actor: Actor,
    workspaceId: string,
    id: string,
    variables: Connector['connectionVariables'],
    now: string,
  ): Promise<number> {
    const ids = await connections.idsOfConnectorWithOtherVariables(tx, workspaceId, id, variables);
    const at = { now: () => now };
    const { written } = await changeMany(
      tx,
      db.engine,
      connectionRowStore,
      ids.map((connectionId) =>
        connectionChange(actor, workspaceId, connectionId, at, undefined, (current) => ({ ...current, variables }), {
          touches: ['variables'],
          answer: () => undefined,
        }),
      ),
    );
    return written;
  }

  /**
   * The state a change leaves and its audit row: the current connector untouched (and no audit row) when `next`
   * differs from it only in bookkeeping, else `next` at the following revision.
   */
  function revise(
    actor: Actor,
    workspaceId: string,
    id: string,
    current: Connector,
    next: Connector,
    now: string,
  ): { connector: Connector; audit?: NewAuditEvent } {
    const fields = changedFields(current, next);
    if (fields.length === 0) return { connector: current };
    const connector = { ...sharingUnchanged(current, next, fields), updatedAt: now, revision: current.revision + 1 };
    const audit = changeEvent(
      actor,
      {
        workspaceId,
        action: 'connector:update',
        resourceType: 'connector',
        resourceId: id,
        before: current,
        after: connector,
        fields,
      },
      now,
    );
    return { connector, audit };
  }

  /**
   * The one write path of a connector and of its parts (auth-scheme configs, versions): `change` computes the
   * next state from the current connector alone, a row change of the writer, so that concurrent ones commit
   * together. The precondition is checked on the current row, nothing is stored (nor audited) when nothing
   * changed, and variables that were set reach the connector's connections in the same transaction.
   */
  function update(
    actor: Actor,
    workspaceId: string,
    id: string,
    precondition: Precondition | undefined,
    change: (current: Connector) => ConnectorChange,
  ): Promise<ConnectorWrite> {
    authorize(actor, 'connector:update', workspaceId);
    return withRetry(() =>
      writer.change(rows, {
        key: connectors.connectorKey(workspaceId, id),
        apply: (current) => {
          if (!current) throw notFound(`Connector "${id}"`);
          if (!checkPrecondition(current, precondition)) throw preconditionFailed();
          const { next, setsVariables, check } = change(current);
          const now = clock.now();
          const { connector, audit } = revise(actor, workspaceId, id, current, next, now);
          const result: ConnectorWrite = { connector: viewConnector(connector), connectionsUpdated: 0 };
          const after =
            setsVariables || check
              ? async (tx: Tx): Promise<ConnectorWrite> => {
                  await check?.(tx);
                  const connectionsUpdated = setsVariables
                    ? await propagate(tx, actor, workspaceId, id, connector.connectionVariables, now)
                    : 0;
                  return { ...result, connectionsUpdated };
                }
              : undefined;
          return { next: audit ? connector : undefined, audit, result, after };
        },
      }),
    );
  }

  function checkEcho(current: Connector, echo: ReadOnlyEcho): FieldError[] {
    if (echo.authSchemeConfigs === undefined && echo.versions === undefined) return [];
    const view = viewConnector(current);
    const errors: FieldError[] = [];
    if (echo.authSchemeConfigs !== undefined && !sameJson(echo.authSchemeConfigs, view.authSchemeConfigs)) {
      errors.push({
        path: '/authSchemeConfigs',
        message: 'is managed through …/auth-scheme-configs; send authSchemeConfigIds to reorder, or leave it out',
      });
    }
    if (echo.versions !== undefined && !sameJson(echo.versions, view.versions)) {
      errors.push({ path: '/versions', message: 'is managed through …/versions; leave it out or send it unchanged' });
    }
    return errors;
  }

  /**
   * `resync` says whether variables that equal the connector's current list still overwrite its connections:
   * yes for a PATCH, which names the field on purpose; no for a PUT, whose body is often a GET body sent back.
   */
  function applyInput(
    current: Connector,
    input: ConnectorInput,
    echo: ReadOnlyEcho,
    resync: boolean,
    keep: readonly KeptField[] = [],
  ) {
    const errors = [
      ...checkEcho(current, echo),
      ...checkVariables(input.connectionVariables ?? [], '/connectionVariables'),
    ];
    if (errors.length > 0) throw validationFailed(errors);
    const variables =
      input.connectionVariables === undefined ? undefined : canonicalVariables(input.connectionVariables ?? []);
    const kept = Object.fromEntries(keep.map((field) => [field, current[field]]));
    const next: Connector = {
      ...current,
      ...connectorFieldsFrom(input),
      ...kept,
      authSchemeConfigs: input.authSchemeConfigIds
        ? reorderConfigs(current.authSchemeConfigs, input.authSchemeConfigIds)
        : current.authSchemeConfigs,
      connectionVariables: variables ?? current.connectionVariables,
    };
    return {
      next,
      setsVariables: variables !== undefined && (resync || !sameJson(variables, current.connectionVariables)),
    };
  }

  return {
    async list(
      actor: Actor,
      workspaceId: string,
      request: PageRequest & { nameContains?: string; status?: Connector['status'] },
    ): Promise<Page<Connector>> {
      authorize(actor, 'connector:read', workspaceId);
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, 'string');
      const rows = await connectors.listConnectors(db.kysely, workspaceId, {
        after,
        limit: request.limit + 1,
        nameContains: request.nameContains,
        status: request.status,
      });
      const items = rows.slice(0, request.limit).map(viewConnector);
      return { items, nextCursor: rows.length > request.limit ? encodeCursor(items[items.length - 1]!.id) : null };
    },

    /** A window of the workspace's connectors in id order, walkable both ways, with the filtered total. */
    async window(
      actor: Actor,
      workspaceId: string,
      request: WindowRequest & ConnectorFilter,
    ): Promise<Window<Connector>> {
      authorize(actor, 'connector:read', workspaceId);
      checkWindowRequest(request);
      const after = request.after === undefined ? undefined : decodeCursor(request.after, 'string', 'query/after');
      const before = request.before === undefined ? undefined : decodeCursor(request.before, 'string', 'query/before');
      const filter: ConnectorFilter = { nameContains: request.nameContains, protocolTypes: request.protocolTypes };
      const rows = await connectors.listConnectorsNear(db.kysely, workspaceId, {
        ...filter,
        after,
        before,
        limit: request.first + 1,
      });
      const [totalCount, below, above] = await Promise.all([
        connectors.countConnectors(db.kysely, workspaceId, filter),
        rows.length > 0
          ? connectors.countConnectors(db.kysely, workspaceId, filter, {
              below: (before === undefined ? rows[0] : rows[Math.min(rows.length, request.first) - 1])!.id,
            })
          : 0,
        rows.length > 0
          ? connectors.countConnectors(db.kysely, workspaceId, filter, {
              above: (before === undefined ? rows[Math.min(rows.length, request.first) - 1] : rows[0])!.id,
            })
          : 0,
      ]);
      const window = windowFrom(rows, (c) => c.id, request, {
        totalCount,
        hasBefore: () => below > 0,
        hasAfter: () => above > 0,
      });
      return { ...window, items: window.items.map(viewConnector) };
    },

    async get(actor: Actor, workspaceId: string, id: string): Promise<Connector> {
      authorize(actor, 'connector:read', workspaceId);
      const connector = await connectors.findConnector(db.kysely, workspaceId, id);
      if (!connector) throw notFound(`Connector "${id}"`);
      return viewConnector(connector);
    },

    /** How many connections a change of the connector's variables would rewrite (for a confirmation). */
    async countConnections(actor: Actor, workspaceId: string, id: string): Promise<number> {
      authorize(actor, 'connector:read', workspaceId);
      if (!(await connectors.findConnector(db.kysely, workspaceId, id))) throw notFound(`Connector "${id}"`);
      return connections.countConnectionsOfConnector(db.kysely, workspaceId, id);
    },

    async create(actor: Actor, workspaceId: string, body: unknown): Promise<Connector> {
      authorize(actor, 'connector:create', workspaceId);
      const input = checkCreate(body);
      refuseSealedInput(input);
      const configs = input.authSchemeConfigs ?? [];
      const errors = [
        ...checkVariables(input.connectionVariables ?? [], '/connectionVariables'),
        ...checkConfigIds(configs, '/authSchemeConfigs'),
      ];
      if (errors.length > 0) throw validationFailed(errors);
      const now = clock.now();
      const id = input.id ?? newId('conn');
      const uid = newUid('connector');
      // The workspace's uid is read only when there is something to seal: most connectors are created without configs.
      const owner =
        configs.length > 0 ? await sealOwnerIn(db.kysely, workspaceId, uid) : { workspaceUid: '', resourceUid: uid };
      const connector: Connector = {
        workspaceId,
        id,
        uid,
        ...connectorFieldsFrom(input),
        authSchemeConfigs: configs.map((c, i) =>
          buildAuthSchemeConfig(vault, c, undefined, `/authSchemeConfigs/${i}`, owner),
        ),
        connectionVariables: canonicalVariables(input.connectionVariables ?? []),
        versions: [],
        createdAt: now,
        updatedAt: now,
        revision: 1,
      };
      return writeWithRetry(
        writer,
        async (tx) => {
          await connectors.insertConnector(tx, connector);
          await recordChange(
            tx,
            actor,
            { workspaceId, action: 'connector:create', resourceType: 'connector', resourceId: id, after: connector },
            now,
          );
          return viewConnector(connector);
        },
        () => conflict(`A connector with id "${id}" already exists in this workspace.`),
      );
    },

    /**
     * PUT: every field takes the body's value; omitted optional fields are unset (docs/api.md). `keep` names fields
     * a wire format does not carry (a dialect's full replacement cannot mean to unset what it cannot express).
     */
    replace(
      actor: Actor,
      workspaceId: string,
      id: string,
      body: unknown,
      echo: ReadOnlyEcho,
      precondition?: Precondition,
      keep: readonly KeptField[] = [],
    ) {
      authorize(actor, 'connector:update', workspaceId);
      const input = checkInput(body);
      refuseSealedInput(input);
      return update(actor, workspaceId, id, precondition, (current) => applyInput(current, input, echo, false, keep));
    },

    /** PATCH: a JSON merge patch (RFC 7396) over the current fields, then validated as a whole. */
    patch(actor: Actor, workspaceId: string, id: string, patch: Record<string, unknown>, precondition?: Precondition) {
      authorize(actor, 'connector:update', workspaceId);
      refuseSealedInput(patch);
      return update(actor, workspaceId, id, precondition, (current) => {
        const { connectionVariables: _v, authSchemeConfigIds: _o, ...fields } = patch;
        const base = {
          name: current.name,
          description: current.description,
          protocolType: current.protocolType,
          documentationUrl: current.documentationUrl,
          iconUrl: current.iconUrl,
          baseUrl: current.baseUrl,
          datasetId: current.datasetId,
          isPublic: current.isPublic,
          tags: current.tags,
          status: current.status,
        };
        const merged = applyMergePatch(base, fields) as Record<string, unknown>;
        if ('connectionVariables' in patch) merged.connectionVariables = patch.connectionVariables ?? [];
        if ('authSchemeConfigIds' in patch) merged.authSchemeConfigIds = patch.authSchemeConfigIds;
        return applyInput(current, checkInput(merged), {}, true);
      });
    },

    async remove(
      actor: Actor,
      workspaceId: string,
      id: string,
      options: { force: boolean },
      precondition?: Precondition,
    ): Promise<void> {
      authorize(actor, 'connector:delete', workspaceId);
      await writeWithRetry(writer, async (tx) => {
        const current = await load(tx, workspaceId, id, precondition);
        const inUse = await connections.countConnectionsOfConnector(tx, workspaceId, id);
        if (inUse > 0 && !options.force) {
          throw conflict(
            `Connector "${id}" has ${inUse} connection(s); delete them first, or pass force=true to delete them with it.`,
          );
        }
        const now = clock.now();
        if (inUse > 0) {
          const meta = { at: now, principalId: actor.principal.id, requestId: actor.requestId };
          await insertConnectorConnectionEvents(tx, { workspaceId, connectorId: id }, meta);
          await connections.deleteConnectionsOfConnector(tx, workspaceId, id);
        }
        if (!(await connectors.deleteConnector(tx, workspaceId, id, current.revision))) throw new StaleWrite();
        await recordChange(
          tx,
          actor,
          { workspaceId, action: 'connector:delete', resourceType: 'connector', resourceId: id, before: current },
          now,
        );
      });
    },

    /** The one write path, for changes the connector's parts make (connector-parts-service.ts). */
    update,
  };
}

export type ConnectorService = ReturnType<typeof createConnectorService>;
