import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MAX_CONNECTION_ID, type Connection, type ConnectionInput } from '../../../domain/connection.js';
import { DomainError } from '../../../domain/errors.js';
import { can } from '../../../domain/permissions.js';
import type { RateLimit, RateLimiter } from '../../../rate-limit/rate-limiter.js';
import type { ConnectionService } from '../../../services/connection-service.js';
import type { WorkspaceService } from '../../../services/workspace-service.js';
import { AlibabaError } from '../errors.js';
import { formOf, queryOf, signerOf } from '../signed-requests.js';
import { throttled } from '../throttle.js';
import { takePrincipalBudget } from '../../../http/rate-limit.js';
import { connectionNotExists, projectNotExists, unknownAction, userNotInProject } from './errors.js';
import {
  DATAWORKS_ACTIONS,
  DATAWORKS_VERSION,
  connectionItem,
  contentOf,
  dataworksSuccess,
  envTypeOf,
  filterOf,
  longOf,
  matches,
  pageParameterOf,
  regionIdOf,
  required,
  statusOf,
  type DataWorksAction,
} from './wire.js';
import { mediaTypeOf } from '../../../http/media-type.js';

export interface DataWorksRouteOptions {
  readonly connections: ConnectionService;
  readonly workspaces: WorkspaceService;
  readonly rateLimiter: RateLimiter;
  /** The native API's per-principal budgets: ListConnections spends from `read`, every other action from `write`. */
  readonly rateLimits: { read: RateLimit | undefined; write: RateLimit | undefined };
}

type Parameters = Readonly<Record<string, string>>;

const PAGE = 100;

const headerOf = (request: FastifyRequest, name: string) => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * DataWorks' connection actions (RPC, 2020-05-18) at `/`, on the connection service. The action comes from
 * the `Action` parameter (legacy signature) or `x-acs-action` (ACS3); parameters from query and form body.
 * A project is a workspace, found by its numeric project id.
 */
export async function dataworksRoutes(app: FastifyInstance, options: DataWorksRouteOptions): Promise<void> {
  const { connections, workspaces, rateLimiter, rateLimits } = options;

  async function workspaceOfProject(
    request: FastifyRequest,
    parameters: Parameters,
  ): Promise<{ workspaceId: string; projectId: number }> {
    const projectId = longOf(required(parameters, 'ProjectId'), 'ProjectId');
    const workspaceId = await workspaces.idOfProject(request.actor, projectId);
    if (!workspaceId) throw projectNotExists(projectId);
    if (can(request.actor.principal, 'connection:read', workspaceId) === 'not-member')
      throw userNotInProject(projectId);
    return { workspaceId, projectId };
  }

  /** A connection's workspace, found from its id alone; a ProjectId, when given, must be that workspace's. */
  async function workspaceOfConnection(request: FastifyRequest, parameters: Parameters, id: number): Promise<string> {
    const named = parameters.ProjectId ? await workspaceOfProject(request, parameters) : undefined;
    const workspaceId = await connections.workspaceOf(request.actor, id);
    if (!workspaceId || (named && named.workspaceId !== workspaceId)) throw connectionNotExists(id);
    if (can(request.actor.principal, 'connection:read', workspaceId) === 'not-member')
      throw userNotInProject(undefined);
    return workspaceId;
  }

  /** Every connection of a workspace that passes `keep`, walking the core's cursor pages. */
  async function connectionsOf(
    request: FastifyRequest,
    workspaceId: string,
    keep: (c: Connection) => boolean,
  ): Promise<Connection[]> {
    const found: Connection[] = [];
    let cursor: string | undefined;
    do {
      const page = await connections.list(request.actor, workspaceId, { limit: PAGE, cursor });
      found.push(...page.items.filter(keep));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return found;
  }

  /**
   * Runs a write of connection `id` in its workspace without reading first where it is, when that can be guessed:
   * the named project's workspace, or else the signing key's own, if the caller may do `action` there. The write reads the
   * row in that workspace anyway; only when the connection is not found there is its workspace read, and the write
   * goes where {@link workspaceOfConnection} says, with its answers (a connection of a project not named, of a
   * workspace the caller is not in). A guess is never the wrong answer: where the caller may not write, there is none.
   */
  async function inWorkspaceOfConnection<T>(
    request: FastifyRequest,
    parameters: Parameters,
    id: number,
    action: 'connection:update' | 'connection:delete',
    write: (workspaceId: string) => Promise<T>,
  ): Promise<T> {
    const named = parameters.ProjectId ? (await workspaceOfProject(request, parameters)).workspaceId : undefined;
    const guess = named ?? signerOf(request).defaultWorkspaceId;
    const mayWrite =
      guess !== null && id <= MAX_CONNECTION_ID && can(request.actor.principal, action, guess) === 'allowed';
    if (!mayWrite) return write(await workspaceOfConnection(request, parameters, id));
    try {
      return await write(guess);
    } catch (error) {
      if (!(error instanceof DomainError && error.code === 'not-found')) throw error;
      const workspaceId = await workspaceOfConnection(request, parameters, id);
      // There, but not to be seen by this caller (another member's own connection): the answer stands.
      if (workspaceId === guess) throw error;
      return write(workspaceId);
    }
  }

  // Content is the whole of the settings, so the update replaces the connection's settings and keeps its other
  // fields as they are, computed from the current state in the core's row change (masked secrets in Content and in
  // the credentials keep their stored values there).
  async function updateConnection(request: FastifyRequest, parameters: Parameters) {
    const id = longOf(required(parameters, 'ConnectionId'), 'ConnectionId');
    const content = contentOf(required(parameters, 'Content'));
    const envType = envTypeOf(required(parameters, 'EnvType'));
    regionIdOf(required(parameters, 'RegionId'));
    const status = parameters.Status ? statusOf(parameters.Status) : undefined;
    const description = parameters.Description;
    await inWorkspaceOfConnection(request, parameters, id, 'connection:update', (workspaceId) =>
      connections.update(request.actor, workspaceId, id, (current): ConnectionInput => ({
        connectorId: current.connectorId,
        name: current.name,
        type: current.type,
        envType,
        description: description === undefined ? current.description : description || null,
        status: status ?? current.status,
        content,
        variables: [...current.variables],
        credentials: [...current.credentials],
      })),
    );
    return dataworksSuccess(request.id, true);
  }

  async function createConnection(request: FastifyRequest, parameters: Parameters) {
    const name = required(parameters, 'Name');
    const type = required(parameters, 'ConnectionType').trim().toLowerCase();
    const content = contentOf(required(parameters, 'Content'));
    const envType = envTypeOf(required(parameters, 'EnvType'));
    const { workspaceId } = await workspaceOfProject(request, parameters);
    const created = await connections.create(request.actor, workspaceId, {
      name,
      type,
      envType,
      content,
      description: parameters.Description || null,
    });
    return dataworksSuccess(request.id, created.id);
  }

  // DataWorks pages by number over a filtered list; the core pages by cursor, so the filter walks every page.
  async function listConnections(request: FastifyRequest, parameters: Parameters) {
    const pageNumber = pageParameterOf(parameters.PageNumber, 'PageNumber', 1, 1_000_000);
    const pageSize = pageParameterOf(parameters.PageSize, 'PageSize', 10, 100);
    const filter = filterOf(parameters);
    const { workspaceId, projectId } = await workspaceOfProject(request, parameters);
    const found = await connectionsOf(request, workspaceId, (c) => matches(c, filter));
    const start = (pageNumber - 1) * pageSize;
    return dataworksSuccess(request.id, {
      PageNumber: pageNumber,
      PageSize: pageSize,
      TotalCount: found.length,
      Connections: found.slice(start, start + pageSize).map((c) => connectionItem(c, projectId)),
    });
  }

  async function deleteConnection(request: FastifyRequest, parameters: Parameters) {
    const id = longOf(required(parameters, 'ConnectionId'), 'ConnectionId');
    await inWorkspaceOfConnection(request, parameters, id, 'connection:delete', (workspaceId) =>
      connections.remove(request.actor, workspaceId, id),
    );
    return dataworksSuccess(request.id, true);
  }

  // The data source is named by name and environment; plugboard tests from itself, so ResourceGroup
  // (where DataWorks would run the test) is required as DataWorks requires it, and otherwise not used.
  async function testNetworkConnection(request: FastifyRequest, parameters: Parameters) {
    const name = required(parameters, 'DatasourceName');
    const envType = envTypeOf(required(parameters, 'EnvType'));
    required(parameters, 'ResourceGroup');
    const { workspaceId, projectId } = await workspaceOfProject(request, parameters);
    const [found] = await connectionsOf(request, workspaceId, (c) => c.name === name && c.envType === envType);
    if (!found)
      throw connectionNotExists(
        `no connection is named ${JSON.stringify(name)} with EnvType ${envType} in project ${projectId}`,
      );
    const { health } = await connections.test(request.actor, workspaceId, found.id);
    return {
      RequestId: request.id,
      HttpStatusCode: 200,
      Success: true,
      TaskList: { ConnectStatus: health.state === 'ok', ConnectMessage: health.message ?? '' },
    };
  }

  const actions: Record<DataWorksAction, (request: FastifyRequest, parameters: Parameters) => Promise<unknown>> = {
    CreateConnection: createConnection,
    ListConnections: listConnections,
    UpdateConnection: updateConnection,
    DeleteConnection: deleteConnection,
    TestNetworkConnection: testNetworkConnection,
  };
  const isAction = (name: string): name is DataWorksAction => (DATAWORKS_ACTIONS as readonly string[]).includes(name);

  /**
   * Whether a request to `/` is an Alibaba RPC call at all: the SDKs always send `x-acs-action`, signed
   * scripts an ACS3 `Authorization` or `Action`/`Signature` parameters, in the query or a form body (the
   * native API never takes a form). Anything else (a browser, a probe, a stray JSON POST) is not
   * DataWorks' to answer and gets the server's own 404.
   */
  function isRpcCall(request: FastifyRequest): boolean {
    const query = queryOf(request);
    const type = mediaTypeOf(request.headers);
    return (
      request.headers['x-acs-action'] !== undefined ||
      (headerOf(request, 'authorization') ?? '').startsWith('ACS3-') ||
      query.Action !== undefined ||
      query.Signature !== undefined ||
      ((request.method === 'POST' || request.method === 'PUT') && type === 'application/x-www-form-urlencoded')
    );
  }

  // An RPC API answers any action on GET and POST alike (PUT too, which some generated SDKs use).
  app.route({
    method: ['GET', 'POST', 'PUT'],
    url: '/',
    onRequest: async (request, reply) => {
      if (isRpcCall(request)) return;
      reply.callNotFound();
      return reply;
    },
    handler: async (request) => {
      // Query over form body on a clash; the SDKs never send a name in both.
      const parameters: Parameters = { ...formOf(request), ...queryOf(request) };
      const version = parameters.Version ?? headerOf(request, 'x-acs-version');
      if (version !== undefined && version !== DATAWORKS_VERSION) {
        throw new AlibabaError(
          400,
          'InvalidVersion',
          `Specified parameter Version is not valid: this endpoint serves DataWorks ${DATAWORKS_VERSION}.`,
        );
      }
      const name = parameters.Action ?? headerOf(request, 'x-acs-action') ?? '';
      if (name === '')
        throw new AlibabaError(
          400,
          'MissingAction',
          'The input parameter "Action" that is mandatory for processing this request is not supplied.',
        );
      if (!isAction(name)) throw unknownAction(name);
      const kind = name === 'ListConnections' ? 'read' : 'write';
      await takePrincipalBudget(request, request.actor.principal.id, rateLimiter, rateLimits, throttled, { kind });
      // RegionId is recorded here, in the request's log line; the audit event of any change carries the same requestId.
      request.log.info(
        { requestId: request.id, dataworksAction: name, regionId: parameters.RegionId ?? null },
        'dataworks action',
      );
      return actions[name](request, parameters);
    },
  });
}
