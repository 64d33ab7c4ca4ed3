import {
  AuthSchemeConfigInput,
  VersionInput,
  checkVersionName,
  ensureOneLatest,
  placeVersion,
  type AuthSchemeConfig,
  type Connector,
  type ConnectorVersion,
} from '../domain/connector.js';
import type { Precondition } from '../domain/etag.js';
import { conflict, notFound, validationFailed } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { applyMergePatch } from '../domain/merge-patch.js';
import { pageOf, type Page, type PageRequest } from '../domain/page.js';
import { viewAuthSchemeConfig } from '../domain/views.js';
import { compileCheck } from '../domain/validate.js';
import { countConnectionsUsingConfig } from '../storage/connection-repo.js';
import type { Db } from '../storage/database.js';
import { findWorkspaceUid } from '../storage/workspace-repo.js';
import type { Actor } from './actor.js';
import { authorize } from './authorize.js';
import type { Clock } from './clock.js';
import { buildAuthSchemeConfig, type ConnectorService } from './connector-service.js';
import type { Vault } from './vault.js';

const checkConfig = compileCheck(AuthSchemeConfigInput);
const checkVersion = compileCheck(VersionInput);

/** A child of a connector together with the connector state it belongs to (whose ETag it shares). */
export interface Part<T> {
  readonly item: T;
  readonly connector: Connector;
}

function findConfig(connector: Connector, configId: string): AuthSchemeConfig {
  const config = connector.authSchemeConfigs.find((c) => c.id === configId);
  if (!config) throw notFound(`Auth-scheme config "${configId}" of connector "${connector.id}"`);
  return config;
}

function findVersion(connector: Connector, versionId: string): ConnectorVersion {
  const version = connector.versions.find((v) => v.id === versionId);
  if (!version) throw notFound(`Version "${versionId}" of connector "${connector.id}"`);
  return version;
}

/**
 * Auth-scheme configs and versions live inside the connector aggregate: every change here is a connector
 * write (one revision, one audit row) through the connector service's one write path, a row change
 * (`update`): computed from the current connector alone, so concurrent ones commit together.
 */
export function createConnectorPartsService(deps: {
  db: Db;
  connectors: ConnectorService;
  vault: Vault;
  clock: Clock;
}) {
  const { db, connectors, vault, clock } = deps;

  async function writeConfig(
    actor: Actor,
    ws: string,
    connectorId: string,
    configId: string | undefined,
    build: (previous: AuthSchemeConfig | undefined) => AuthSchemeConfigInput,
    precondition?: Precondition,
  ): Promise<Part<AuthSchemeConfig>> {
    authorize(actor, 'connector:update', ws);
    // Sealing binds secrets to the workspace's uid, which never changes: read once, before the change. A config
    // created without an id gets one minted here, so that the change is the same each time it is applied.
    const workspaceUid = await findWorkspaceUid(db.kysely, ws);
    const minted = configId === undefined ? newId('asc') : undefined;
    let id = configId;
    const { connector } = await connectors.update(actor, ws, connectorId, precondition, (current) => {
      const previous = configId === undefined ? undefined : findConfig(current, configId);
      const input = checkConfig(build(previous));
      if (previous && input.id !== undefined && input.id !== previous.id) {
        throw validationFailed([{ path: '/id', message: 'cannot change; create a new config instead' }]);
      }
      if (workspaceUid === undefined) throw notFound(`Workspace "${ws}"`);
      const owner = { workspaceUid, resourceUid: current.uid };
      const config = buildAuthSchemeConfig(vault, { ...input, id: input.id ?? minted }, previous, '', owner);
      if (!previous && current.authSchemeConfigs.some((c) => c.id === config.id)) {
        throw conflict(`Connector "${connectorId}" already has an auth-scheme config "${config.id}".`);
      }
      id = config.id;
      const list = previous
        ? current.authSchemeConfigs.map((c) => (c.id === config.id ? config : c))
        : [...current.authSchemeConfigs, config];
      return { next: { ...current, authSchemeConfigs: list }, setsVariables: false };
    });
    return { item: findConfig(connector, id!), connector };
  }

  async function writeVersion(
    actor: Actor,
    ws: string,
    connectorId: string,
    versionId: string | undefined,
    build: (previous: ConnectorVersion | undefined) => unknown,
    precondition?: Precondition,
  ): Promise<Part<ConnectorVersion>> {
    const id = versionId ?? newId('ver');
    const { connector } = await connectors.update(actor, ws, connectorId, precondition, (current) => {
      const previous = versionId === undefined ? undefined : findVersion(current, versionId);
      const input = checkVersion(build(previous));
      const nameErrors = checkVersionName(
        input.name,
        current.versions.filter((v) => v.id !== id),
      );
      if (nameErrors.length > 0) throw validationFailed(nameErrors);
      const now = clock.now();
      const version: ConnectorVersion = {
        id,
        name: input.name,
        description: input.description ?? null,
        isLatest: previous?.isLatest ?? false,
        isDefault: previous?.isDefault ?? false,
        createdAt: previous?.createdAt ?? now,
        updatedAt: now,
        publishedAt: previous?.publishedAt ?? null,
      };
      let versions = placeVersion(current.versions, version, { isLatest: input.isLatest, isDefault: input.isDefault });
      // An edit that changes nothing keeps the version's updatedAt, so the connector write stays a no-op.
      if (previous && sameVersion(versions, current.versions, id)) versions = [...current.versions];
      return { next: { ...current, versions }, setsVariables: false };
    });
    return { item: findVersion(connector, id), connector };
  }

  const sameVersion = (a: readonly ConnectorVersion[], b: readonly ConnectorVersion[], id: string) =>
    JSON.stringify(a.map((v) => (v.id === id ? { ...v, updatedAt: '' } : v))) ===
    JSON.stringify(b.map((v) => (v.id === id ? { ...v, updatedAt: '' } : v)));

  const versionFields = (v: ConnectorVersion) => ({ name: v.name, description: v.description });

  return {
    async listConfigs(
      actor: Actor,
      ws: string,
      connectorId: string,
      request: PageRequest,
    ): Promise<Page<AuthSchemeConfig>> {
      const connector = await connectors.get(actor, ws, connectorId);
      return pageOf(connector.authSchemeConfigs, (c) => c.id, request);
    },
    async getConfig(actor: Actor, ws: string, connectorId: string, configId: string): Promise<Part<AuthSchemeConfig>> {
      const connector = await connectors.get(actor, ws, connectorId);
      return { item: findConfig(connector, configId), connector };
    },
    createConfig: (actor: Actor, ws: string, connectorId: string, body: unknown, precondition?: Precondition) =>
      writeConfig(actor, ws, connectorId, undefined, () => body as AuthSchemeConfigInput, precondition),
    replaceConfig: (
      actor: Actor,
      ws: string,
      connectorId: string,
      configId: string,
      body: unknown,
      precondition?: Precondition,
    ) => writeConfig(actor, ws, connectorId, configId, () => body as AuthSchemeConfigInput, precondition),
    patchConfig: (
      actor: Actor,
      ws: string,
      connectorId: string,
      configId: string,
      patch: unknown,
      precondition?: Precondition,
    ) =>
      writeConfig(
        actor,
        ws,
        connectorId,
        configId,
        (previous) => {
          const { validationMessages: _m, ...base } = viewAuthSchemeConfig(previous!);
          return applyMergePatch(base, patch) as AuthSchemeConfigInput;
        },
        precondition,
      ),
    async deleteConfig(
      actor: Actor,
      ws: string,
      connectorId: string,
      configId: string,
      precondition?: Precondition,
    ): Promise<void> {
      await connectors.update(actor, ws, connectorId, precondition, (current) => {
        findConfig(current, configId);
        return {
          next: { ...current, authSchemeConfigs: current.authSchemeConfigs.filter((c) => c.id !== configId) },
          setsVariables: false,
          // The one rule here that spans resources: no connection may still hold a credential for the config.
          // Connections are other rows, so it is checked in the change's transaction, under the connector's lock.
          check: async (tx) => {
            const inUse = await countConnectionsUsingConfig(tx, ws, connectorId, configId);
            if (inUse > 0) {
              throw conflict(
                `${inUse} connection(s) hold a credential for auth-scheme config "${configId}"; remove those credentials first.`,
              );
            }
          },
        };
      });
    },

    async listVersions(
      actor: Actor,
      ws: string,
      connectorId: string,
      request: PageRequest,
    ): Promise<Page<ConnectorVersion>> {
      const connector = await connectors.get(actor, ws, connectorId);
      return pageOf(connector.versions, (v) => v.id, request);
    },
    async getVersion(
      actor: Actor,
      ws: string,
      connectorId: string,
      versionId: string,
    ): Promise<Part<ConnectorVersion>> {
      const connector = await connectors.get(actor, ws, connectorId);
      return { item: findVersion(connector, versionId), connector };
    },
    createVersion: (actor: Actor, ws: string, connectorId: string, body: unknown, precondition?: Precondition) =>
      writeVersion(actor, ws, connectorId, undefined, () => body, precondition),
    replaceVersion: (
      actor: Actor,
      ws: string,
      connectorId: string,
      versionId: string,
      body: unknown,
      precondition?: Precondition,
    ) => writeVersion(actor, ws, connectorId, versionId, () => body, precondition),
    patchVersion: (
      actor: Actor,
      ws: string,
      connectorId: string,
      versionId: string,
      patch: unknown,
      precondition?: Precondition,
    ) =>
      writeVersion(
        actor,
        ws,
        connectorId,
        versionId,
        (previous) => applyMergePatch(versionFields(previous!), patch),
        precondition,
      ),
    /** Publishes a version (sets publishedAt) or takes it back to draft; asking for the state it is in changes nothing. */
    async setPublished(
      actor: Actor,
      ws: string,
      connectorId: string,
      versionId: string,
      published: boolean,
      precondition?: Precondition,
    ): Promise<Part<ConnectorVersion>> {
      const { connector } = await connectors.update(actor, ws, connectorId, precondition, (current) => {
        const version = findVersion(current, versionId);
        if ((version.publishedAt !== null) === published) return { next: current, setsVariables: false };
        const now = clock.now();
        const changed: ConnectorVersion = { ...version, publishedAt: published ? now : null, updatedAt: now };
        return {
          next: { ...current, versions: current.versions.map((v) => (v.id === versionId ? changed : v)) },
          setsVariables: false,
        };
      });
      return { item: findVersion(connector, versionId), connector };
    },
    async deleteVersion(
      actor: Actor,
      ws: string,
      connectorId: string,
      versionId: string,
      precondition?: Precondition,
    ): Promise<void> {
      await connectors.update(actor, ws, connectorId, precondition, (current) => {
        findVersion(current, versionId);
        return {
          next: { ...current, versions: ensureOneLatest(current.versions.filter((v) => v.id !== versionId)) },
          setsVariables: false,
        };
      });
    },
  };
}
export type ConnectorPartsService = ReturnType<typeof createConnectorPartsService>;
