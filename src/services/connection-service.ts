import { changedFields } from '../domain/audit.js';
import { canonicalVariables, sameJson, sharingUnchanged } from '../domain/common.js';
import {
  ConnectionInput,
  MAX_CONNECTION_ID,
  checkConnectionRules,
  inheritVariables,
  type Connection,
  type Credential,
  type Health,
} from '../domain/connection.js';
import { seesEveryConnection, standingOf } from '../domain/connection-owner.js';
import type { Connector } from '../domain/connector.js';
import { checkPrecondition, type Precondition } from '../domain/etag.js';
import {
  DomainError,
  conflict,
  notFound,
  preconditionFailed,
  validationFailed,
  type FieldError,
} from '../domain/errors.js';
import { newUid } from '../domain/ids.js';
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
import { credentialSecretPath } from '../domain/sealed-places.js';
import { checkSecretsStay, destinationsOf, keptSecretsOf } from '../domain/secret-destinations.js';
import { MASK, refuseSealedInput } from '../domain/secrets.js';
import { compileCheck } from '../domain/validate.js';
import { viewConnection } from '../domain/views.js';
import * as connections from '../storage/connection-repo.js';
import { connectionKey, connectionRows } from '../storage/connection-rows.js';
import type { RowChange } from '../storage/row-change.js';
import { rememberWorkspaceUid, workspaceUidOf } from '../storage/row-workspaces.js';
import { findConnector } from '../storage/connector-repo.js';
import { findUserById } from '../storage/user-repo.js';
import type { Db } from '../storage/database.js';
import type { Writer } from '../storage/writer.js';
import type { Executor, Tx } from '../storage/engine.js';
import type { ConnectionTester } from './connection-tester.js';
import { changeEvent, recordChange } from './audit-service.js';
import { StaleWrite } from '../storage/write-conflicts.js';
import { authorize } from './authorize.js';
import { withRetry, writeWithRetry } from './write-retry.js';
import type { Actor } from './actor.js';
import type { Clock } from './clock.js';
import { sealOwnerIn, sealSettings, sealValue, type SealOwner } from './secret-fields.js';
import type { Vault } from './vault.js';

const checkInput = compileCheck(ConnectionInput);
/** Settings named key by key in audit events, so a changed secret shows up by its name. */
const OPEN = ['content'];

/** `test`: try the new settings against the real system first, and write nothing if that fails. */
export interface WriteOptions {
  readonly test?: boolean;
}

/** How a connection change is recorded and answered; see {@link connectionChange}. */
export interface ConnectionChangeOptions<T> {
  /** The audit action (`connection:update` unless given). */
  readonly action?: string;
  /**
   * The only fields `revise` may change, when the caller knows them (a connector's variables): then only they are
   * compared and named in the audit event, instead of the whole connection.
   */
  readonly touches?: readonly (keyof Connection)[];
  /** The answer made of the connection as the change leaves it (as clients see it, secrets masked, unless given). */
  readonly answer?: (connection: Connection) => T;
  /**
   * What must still hold when the change commits, given the state it stores and the one it replaces: checked in its
   * transaction after the row is written (a throw undoes the write); undefined when nothing needs checking.
   */
  readonly atCommit?: (next: Connection, current: Connection) => ((tx: Tx) => Promise<void>) | undefined;
}

/**
 * A connection's change as a row change of the writer: the precondition checked against the current row, the
 * next state built by `revise` (pure: it may run more than once, and throwing leaves everything as it was), stored
 * at the next revision with its audit event unless it equals the current one. The one path of every connection
 * write, a connector's variables included.
 */
export function connectionChange<T = Connection>(
  actor: Actor,
  workspaceId: string,
  id: number,
  clock: Clock,
  precondition: Precondition | undefined,
  revise: (current: Connection) => Connection,
  options: ConnectionChangeOptions<T> = {},
): RowChange<Connection, T> {
  const answer = options.answer ?? (viewConnection as (connection: Connection) => T);
  const { touches } = options;
  return {
    key: connectionKey(workspaceId, id),
    apply: (current) => {
      if (!current) throw notFound(`Connection ${id}`);
      if (!checkPrecondition(current, precondition)) throw preconditionFailed();
      const next = revise(current);
      const fields = touches
        ? touches.filter((field) => !sameJson(next[field], current[field]))
        : changedFields(current, next, OPEN);
      if (fields.length === 0) return { result: answer(current) };
      const now = clock.now();
      const stored = { ...sharingUnchanged(current, next, fields), updatedAt: now, revision: current.revision + 1 };
      const audit = changeEvent(
        actor,
        {
          workspaceId,
          action: options.action ?? 'connection:update',
          resourceType: 'connection',
          resourceId: id,
          before: current,
          after: stored,
          fields,
        },
        now,
      );
      const result = answer(stored);
      const check = options.atCommit?.(stored, current);
      if (!check) return { next: stored, audit, result };
      return {
        next: stored,
        audit,
        result,
        after: async (tx: Tx) => {
          await check(tx);
          return result;
        },
      };
    },
  };
}

export function createConnectionService(deps: {
  db: Db;
  writer: Writer;
  vault: Vault;
  clock: Clock;
  tester: ConnectionTester;
}) {
  const { db, writer, vault, clock, tester } = deps;
  const rows = connectionRows(db.engine);

  const duplicateName = (input: ConnectionInput) => () =>
    conflict(
      input.connectorId
        ? `Connector "${input.connectorId}" already has a connection named "${input.name}".`
        : `This workspace already has a connection named "${input.name}" without a connector.`,
    );

  /** The connection if the caller may see it: someone else's is not there for a member below admin. */
  const visible = (actor: Actor, workspaceId: string, connection: Connection | undefined) =>
    connection && standingOf(actor.principal, workspaceId, connection) !== 'none' ? connection : undefined;

  const visibleToOf = (actor: Actor, workspaceId: string) =>
    seesEveryConnection(actor.principal, workspaceId) ? undefined : actor.principal.id;

  /** The owner a new connection gets: only the caller, only a person, only for a connector. */
  async function ownerFor(actor: Actor, input: ConnectionInput): Promise<string | null> {
    const owner = input.ownerUserId ?? null;
    if (owner === null) return null;
    const errors: FieldError[] = [];
    if (owner !== actor.principal.id)
      errors.push({
        path: '/ownerUserId',
        message: 'must be your own user id: a person creates only their own connections',
      });
    else if (!(await findUserById(db.kysely, owner)))
      errors.push({ path: '/ownerUserId', message: 'names no person: an API key cannot own a connection' });
    if (!input.connectorId) errors.push({ path: '/connectorId', message: "is required for a person's own connection" });
    if (errors.length > 0) throw validationFailed(errors);
    return owner;
  }

  async function connectorOf(
    db: Executor,
    workspaceId: string,
    connectorId: string | null | undefined,
  ): Promise<Connector | undefined> {
    if (!connectorId) return undefined;
    const connector = await findConnector(db, workspaceId, connectorId);
    if (!connector)
      throw validationFailed([
        { path: '/connectorId', message: `names no connector in this workspace: ${connectorId}` },
      ]);
    return connector;
  }

  function checkCredentials(
    credentials: readonly { authSchemeConfigId: string }[],
    connector: Connector | undefined,
  ): FieldError[] {
    if (!connector) return [];
    const ids = new Set(connector.authSchemeConfigs.map((c) => c.id));
    return credentials.flatMap((c, i) =>
      ids.has(c.authSchemeConfigId)
        ? []
        : [
            {
              path: `/credentials/${i}/authSchemeConfigId`,
              message: `names no auth-scheme config of connector "${connector.id}"`,
            },
          ],
    );
  }

  /** Seals credential secrets, matching each to the stored one of the same kind and scheme config. */
  function sealCredentials(input: ConnectionInput, previous: readonly Credential[], owner: SealOwner): Credential[] {
    const errors: FieldError[] = [];
    const sealed = (input.credentials ?? []).map((c, i): Credential => {
      const stored = previous.find((p) => p.kind === c.kind && p.authSchemeConfigId === c.authSchemeConfigId)?.secret;
      if (c.secret === MASK && !stored) {
        errors.push({
          path: `/credentials/${i}/secret`,
          message: `is the mask "${MASK}" but no secret is stored here to keep`,
        });
      }
      const place = { ...owner, path: credentialSecretPath(c) };
      const secret =
        c.secret === undefined || c.secret === null
          ? null
          : sealValue(vault, c.secret === MASK ? undefined : c.secret, stored, place);
      return { kind: c.kind, authSchemeConfigId: c.authSchemeConfigId, secret };
    });
    if (errors.length > 0) throw validationFailed(errors);
    return sealed;
  }

  /** Checks an input in full and builds the stored fields; nothing is written until this has passed. */
  function build(
    input: ConnectionInput,
    connector: Connector | undefined,
    previous: Connection | undefined,
    owner: SealOwner,
  ) {
    const errors = [...checkConnectionRules(input), ...checkCredentials(input.credentials ?? [], connector)];
    if (errors.length > 0) throw validationFailed(errors);
    if (previous) {
      const kept = [...keptSecretsOf(input.content, '/content'), ...keptSecretsOf(input.credentials, '/credentials')];
      checkSecretsStay(
        () => destinationsOf(previous.content, '/content'),
        () => destinationsOf(input.content, '/content'),
        kept,
      );
    }
    return {
      connectorId: input.connectorId ?? null,
      name: input.name,
      type: input.type,
      envType: input.envType ?? 0,
      description: input.description ?? null,
      status: input.status ?? 'active',
      content: sealSettings(vault, input.content ?? {}, previous?.content, '/content', input.type, {
        owner,
        base: '/content',
      }),
      variables: canonicalVariables(input.variables ?? []),
      credentials: sealCredentials(input, previous?.credentials ?? [], owner),
    } as const;
  }

  /**
   * A connection and its connector as committed now, for a write that tries its settings first (outside any
   * transaction). The change itself reads neither again: see {@link mutate}.
   */
  async function triedContextOf(actor: Actor, workspaceId: string, id: number) {
    const found = visible(
      actor,
      workspaceId,
      id <= MAX_CONNECTION_ID ? await connections.findConnection(db.kysely, workspaceId, id) : undefined,
    );
    if (!found) throw notFound(`Connection ${id}`);
    return { found, connector: await connectorOf(db.kysely, workspaceId, found.connectorId) };
  }

  /** The owner a connection's secrets are sealed for: its workspace's uid, as read with the row, and its own. */
  function ownerOf(connection: Connection): SealOwner {
    const workspaceUid = workspaceUidOf(connection);
    if (workspaceUid === undefined)
      throw new Error(`Connection ${connection.id} was read without its workspace's uid.`);
    return { workspaceUid, resourceUid: connection.uid };
  }

  /**
   * The credentials of a connection's next state must name auth-scheme configs of its connector when the change
   * commits. A config leaves its connector only when no stored connection names it (deleteConfig counts them under
   * the connector's lock), so the configs the stored state already names are there; a config it does not name yet
   * is checked in the change's transaction, against the connector as committed, which FOR SHARE keeps from
   * changing until the commit (a config deleted meanwhile, before or after, refuses one of the two).
   */
  const credentialsAtCommit =
    (workspaceId: string) =>
    (next: Connection, current: Connection): ((tx: Tx) => Promise<void>) | undefined => {
      const connectorId = next.connectorId;
      if (connectorId === null) return undefined;
      const named = new Set(current.credentials.map((c) => c.authSchemeConfigId));
      if (next.credentials.every((c) => named.has(c.authSchemeConfigId))) return undefined;
      return async (tx) => {
        const connector = await findConnector(tx, workspaceId, connectorId, { forShare: db.engine === 'postgres' });
        const errors = connector
          ? checkCredentials(next.credentials, connector)
          : [{ path: '/connectorId', message: `names no connector in this workspace: ${connectorId}` }];
        if (errors.length > 0) throw validationFailed(errors);
      };
    };

  /** The state a write would leave: validated in full and with secrets sealed, but not written. Pure. */
  function nextState(
    current: Connection,
    input: ConnectionInput,
    connector: Connector | undefined,
    owner: SealOwner,
  ): Connection {
    if (input.connectorId !== undefined && (input.connectorId ?? null) !== current.connectorId) {
      throw validationFailed([
        { path: '/connectorId', message: 'cannot change after creation; create a new connection instead' },
      ]);
    }
    if (input.ownerUserId !== undefined && (input.ownerUserId ?? null) !== current.ownerUserId) {
      throw validationFailed([
        { path: '/ownerUserId', message: 'cannot change after creation; create a new connection instead' },
      ]);
    }
    return {
      ...current,
      ...build({ ...input, connectorId: current.connectorId }, connector, current, owner),
    };
  }

  /** Tries settings against the real system; a failure refuses the write that asked for the test. */
  async function healthOf(
    connection: Pick<Connection, 'uid' | 'type' | 'content'>,
    workspaceId: string,
    connector: Connector | undefined,
    refuseFailure: boolean,
  ) {
    const owner = await sealOwnerIn(db.kysely, workspaceId, connection.uid);
    const result = await tester.test(connection, connector, owner.workspaceUid);
    const health: Health = { state: result.ok ? 'ok' : 'failing', checkedAt: clock.now(), message: result.message };
    if (refuseFailure && !result.ok) {
      throw new DomainError(
        'connection-test-failed',
        `The connection test failed, so nothing was saved: ${result.message}`,
      );
    }
    return { health, latencyMs: result.latencyMs };
  }

  /**
   * The one write path of PUT, PATCH and every edge's update (DataWorks `UpdateConnection`, Versori): the new state
   * is built from the current row by a pure row change ({@link connectionChange}: secrets sealed there, for the
   * workspace uid read with the row), batched with the writes that arrive together, with nothing read before it;
   * credentials naming a config the row does not name yet are checked against the connector as it commits.
   * With `test`, the new settings are tried first, outside any transaction (a probe may take seconds); the write
   * then goes ahead only if the connection did not change meanwhile.
   */
  async function mutate(
    actor: Actor,
    workspaceId: string,
    id: number,
    precondition: Precondition | undefined,
    toInput: (current: Connection) => ConnectionInput,
    options: WriteOptions = {},
  ): Promise<Connection> {
    authorize(actor, 'connection:update', workspaceId);
    let tested: { uid: string; revision: number; health: Health } | undefined;
    if (options.test) {
      const { found, connector } = await triedContextOf(actor, workspaceId, id);
      if (!checkPrecondition(found, precondition)) throw preconditionFailed();
      const owner = await sealOwnerIn(db.kysely, workspaceId, found.uid);
      const next = nextState(found, toInput(found), connector, owner);
      const { health } = await healthOf(next, workspaceId, connector, true);
      tested = { uid: found.uid, revision: found.revision, health };
    }
    let input: ConnectionInput | undefined;
    return withRetry(
      () =>
        writer.change(
          rows,
          connectionChange(
            actor,
            workspaceId,
            id,
            clock,
            precondition,
            (current) => {
              if (!visible(actor, workspaceId, current)) throw notFound(`Connection ${id}`);
              if (tested && (tested.uid !== current.uid || tested.revision !== current.revision)) {
                throw conflict(
                  'The connection changed while its new settings were being tested; read it again and retry.',
                );
              }
              input = toInput(current);
              // The connector is not read here: the credentials that need it are checked as the change commits.
              const next = nextState(current, input, undefined, ownerOf(current));
              return tested ? { ...next, health: tested.health } : next;
            },
            { atCommit: credentialsAtCommit(workspaceId) },
          ),
        ),
      () => duplicateName(input!)(),
    );
  }

  /** The writable fields of a connection as a client last saw them (secrets masked): the base of a PATCH. */
  const inputOf = (c: Connection): Record<string, unknown> => {
    const view = viewConnection(c);
    return {
      name: view.name,
      type: view.type,
      envType: view.envType,
      description: view.description,
      status: view.status,
      content: view.content,
      variables: view.variables,
      credentials: view.credentials,
      ownerUserId: view.ownerUserId,
    };
  };

  return {
    async list(
      actor: Actor,
      workspaceId: string,
      request: PageRequest & { connectorId?: string; nameContains?: string; health?: Connection['health']['state'] },
    ): Promise<Page<Connection>> {
      authorize(actor, 'connection:read', workspaceId);
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, 'number');
      const rows = await connections.listConnections(db.kysely, workspaceId, {
        after,
        limit: request.limit + 1,
        connectorId: request.connectorId,
        nameContains: request.nameContains,
        health: request.health === undefined ? undefined : { engine: db.engine, state: request.health },
        visibleTo: visibleToOf(actor, workspaceId),
      });
      const items = rows.slice(0, request.limit).map(viewConnection);
      return { items, nextCursor: rows.length > request.limit ? encodeCursor(items[items.length - 1]!.id) : null };
    },

    /** A window of one connector's connections in id order, walkable both ways, with their total. */
    async windowOfConnector(
      actor: Actor,
      workspaceId: string,
      connectorId: string,
      request: WindowRequest,
    ): Promise<Window<Connection>> {
      authorize(actor, 'connection:read', workspaceId);
      checkWindowRequest(request);
      if (!(await findConnector(db.kysely, workspaceId, connectorId))) throw notFound(`Connector "${connectorId}"`);
      const after = request.after === undefined ? undefined : decodeCursor(request.after, 'number', 'query/after');
      const before = request.before === undefined ? undefined : decodeCursor(request.before, 'number', 'query/before');
      const visibleTo = visibleToOf(actor, workspaceId);
      const rows = await connections.listConnectionsNear(db.kysely, workspaceId, connectorId, {
        after,
        before,
        limit: request.first + 1,
        visibleTo,
      });
      const shown = rows.slice(0, request.first);
      const lowest = before === undefined ? shown[0] : shown[shown.length - 1];
      const highest = before === undefined ? shown[shown.length - 1] : shown[0];
      const [totalCount, below, above] = await Promise.all([
        connections.countConnectionsInRange(db.kysely, workspaceId, connectorId, { visibleTo }),
        lowest
          ? connections.countConnectionsInRange(db.kysely, workspaceId, connectorId, { below: lowest.id, visibleTo })
          : 0,
        highest
          ? connections.countConnectionsInRange(db.kysely, workspaceId, connectorId, { above: highest.id, visibleTo })
          : 0,
      ]);
      const window = windowFrom(rows, (c) => c.id, request, {
        totalCount,
        hasBefore: () => below > 0,
        hasAfter: () => above > 0,
      });
      return { ...window, items: window.items.map(viewConnection) };
    },

    /**
     * The workspace holding a connection, for edges that address connections by id alone (DataWorks). It
     * tells any active caller whether the id exists, never what it holds; reads still go through `get`.
     */
    async workspaceOf(actor: Actor, id: number): Promise<string | undefined> {
      if (actor.principal.status !== 'active' || id > MAX_CONNECTION_ID) return undefined;
      return connections.findWorkspaceOfConnection(db.kysely, id);
    },

    async get(actor: Actor, workspaceId: string, id: number): Promise<Connection> {
      authorize(actor, 'connection:read', workspaceId);
      const connection = visible(
        actor,
        workspaceId,
        id <= MAX_CONNECTION_ID ? await connections.findConnection(db.kysely, workspaceId, id) : undefined,
      );
      if (!connection) throw notFound(`Connection ${id}`);
      return viewConnection(connection);
    },

    async create(actor: Actor, workspaceId: string, body: unknown, options: WriteOptions = {}): Promise<Connection> {
      authorize(actor, 'connection:create', workspaceId);
      const input = checkInput(body);
      refuseSealedInput(input);
      const ownerUserId = await ownerFor(actor, input);
      // Minted before anything is sealed: a connection's id comes from the store, its uid from here.
      const uid = newUid('connection');
      let health: Health = { state: 'unknown', checkedAt: null, message: null };
      if (options.test) {
        const connector = await connectorOf(db.kysely, workspaceId, input.connectorId);
        const owner = await sealOwnerIn(db.kysely, workspaceId, uid);
        health = (await healthOf({ ...build(input, connector, undefined, owner), uid }, workspaceId, connector, true))
          .health;
      }
      const created = await writeWithRetry(
        writer,
        async (tx) => {
          const connector = await connectorOf(tx, workspaceId, input.connectorId);
          const mine =
            ownerUserId && (await connections.findOwnedConnection(tx, workspaceId, connector!.id, ownerUserId));
          if (mine)
            throw conflict(`You already have a connection of connector "${connector!.id}": connection ${mine.id}.`);
          const owner = await sealOwnerIn(tx, workspaceId, uid);
          const fields = build(input, connector, undefined, owner);
          const now = clock.now();
          const inserted = await connections.insertConnection(
            tx,
            {
              workspaceId,
              uid,
              ...fields,
              variables: inheritVariables(connector?.connectionVariables ?? [], fields.variables),
              health,
              ownerUserId,
              createdAt: now,
              updatedAt: now,
              revision: 1,
            },
            { rowVersion: db.engine === 'postgres' },
          );
          const connection = rememberWorkspaceUid(inserted, owner.workspaceUid);
          const change = {
            workspaceId,
            action: 'connection:create',
            resourceType: 'connection',
            resourceId: connection.id,
            after: connection,
            open: OPEN,
          };
          await recordChange(tx, actor, change, now);
          return connection;
        },
        duplicateName(input),
      );
      // Committed: the connection's first change (a script that creates, then configures) need not read it again.
      writer.remember(rows, connectionKey(workspaceId, created.id), created);
      return viewConnection(created);
    },

    /** PUT: every field takes the body's value; omitted optional fields are unset (docs/api.md). */
    replace(
      actor: Actor,
      workspaceId: string,
      id: number,
      body: unknown,
      precondition?: Precondition,
      options: WriteOptions = {},
    ) {
      authorize(actor, 'connection:update', workspaceId);
      const input = checkInput(body);
      refuseSealedInput(input);
      return mutate(actor, workspaceId, id, precondition, () => input, options);
    },

    /** PATCH: a JSON merge patch (RFC 7396) over the current fields; omitted secrets keep their values. */
    patch(
      actor: Actor,
      workspaceId: string,
      id: number,
      patch: Record<string, unknown>,
      precondition?: Precondition,
      options: WriteOptions = {},
    ) {
      authorize(actor, 'connection:update', workspaceId);
      refuseSealedInput(patch);
      return mutate(
        actor,
        workspaceId,
        id,
        precondition,
        (current) => {
          const merged = applyMergePatch(inputOf(current), patch) as Record<string, unknown>;
          // `null` unsets in a merge patch: unsetting connectorId is changing it, which mutate refuses.
          if (patch.connectorId === null) merged.connectorId = null;
          return checkInput(merged);
        },
        options,
      );
    },

    /**
     * An update built from the connection as clients see it (secrets masked), for wire formats whose update sets
     * some fields and keeps the others as they are (DataWorks `UpdateConnection`). `toBody` is part of the row
     * change, so it must be a pure function of the connection it is given: it may run more than once.
     */
    update(
      actor: Actor,
      workspaceId: string,
      id: number,
      toBody: (current: Connection) => unknown,
      precondition?: Precondition,
    ) {
      authorize(actor, 'connection:update', workspaceId);
      return mutate(actor, workspaceId, id, precondition, (current) => {
        const input = checkInput(toBody(viewConnection(current)));
        refuseSealedInput(input);
        return input;
      });
    },

    /**
     * Tries the stored settings against the real system and records the outcome in `health`, unless the
     * connection changed while it was being tried (the outcome then describes settings that are gone).
     */
    async test(
      actor: Actor,
      workspaceId: string,
      id: number,
    ): Promise<{ connection: Connection; health: Health; latencyMs: number }> {
      authorize(actor, 'connection:test', workspaceId);
      const tried = visible(actor, workspaceId, await connections.findConnection(db.kysely, workspaceId, id));
      if (!tried) throw notFound(`Connection ${id}`);
      const { health, latencyMs } = await healthOf(
        tried,
        workspaceId,
        await connectorOf(db.kysely, workspaceId, tried.connectorId),
        false,
      );
      const connection = await withRetry(() =>
        writer.change(
          rows,
          connectionChange(
            actor,
            workspaceId,
            id,
            clock,
            undefined,
            (current) => {
              if (!visible(actor, workspaceId, current)) throw notFound(`Connection ${id}`);
              return current.revision === tried.revision ? { ...current, health } : current;
            },
            { action: 'connection:test', touches: ['health'] },
          ),
        ),
      );
      return { connection, health, latencyMs };
    },

    async remove(actor: Actor, workspaceId: string, id: number, precondition?: Precondition): Promise<void> {
      authorize(actor, 'connection:delete', workspaceId);
      await writeWithRetry(writer, async (tx) => {
        const current = visible(
          actor,
          workspaceId,
          await connections.findConnection(tx, workspaceId, id, { forUpdate: db.engine === 'postgres' }),
        );
        if (!current) throw notFound(`Connection ${id}`);
        if (!checkPrecondition(current, precondition)) throw preconditionFailed();
        if (!(await connections.deleteConnection(tx, workspaceId, id, current.revision))) throw new StaleWrite();
        await recordChange(
          tx,
          actor,
          { workspaceId, action: 'connection:delete', resourceType: 'connection', resourceId: id, before: current },
          clock.now(),
        );
      });
    },
  };
}

export type ConnectionService = ReturnType<typeof createConnectionService>;
