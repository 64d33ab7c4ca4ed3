import type { FastifyInstance, FastifyRequest } from 'fastify';
import { can, type Action } from '../../../domain/permissions.js';
import type { ConnectorService } from '../../../services/connector-service.js';
import type { RateLimit, RateLimiter } from '../../../rate-limit/rate-limiter.js';
import { DomainError } from '../../../domain/errors.js';
import { AlibabaError } from '../errors.js';
import { throttled } from '../throttle.js';
import { takeBudget } from '../../../http/rate-limit.js';
import { formOf, queryOf } from '../signed-requests.js';
import {
  BAILIAN_VERSION,
  FILE_CONFIG_TAG,
  TYPE_TAG,
  bailianSuccess,
  connectorData,
  fileConnectorConfigOf,
  requiredParameter,
} from './wire.js';

export interface BailianRouteOptions {
  readonly connectors: ConnectorService;
  readonly rateLimiter: RateLimiter;
  /** Calls per principal and operation; undefined for none. */
  readonly rateLimit: RateLimit | undefined;
}

interface Params {
  WorkspaceId: string;
  ConnectorId: string;
}

const PAGE = 100;

/**
 * Model Studio's connector operations (ROA, 2023-12-29) on the connector service. A workspace the caller is
 * not a member of is Model Studio's 403, not the native API's 404: Alibaba's clients expect the former.
 */
export async function bailianRoutes(app: FastifyInstance, options: BailianRouteOptions): Promise<void> {
  const { connectors, rateLimiter, rateLimit } = options;

  /** Version, membership and throttling: what every operation checks before it reaches the core. */
  async function admit(request: FastifyRequest, operation: string, action: Action): Promise<string> {
    const version = request.headers['x-acs-version'];
    if (version !== undefined && version !== BAILIAN_VERSION) {
      throw new AlibabaError(
        400,
        'InvalidVersion',
        `Specified parameter Version is not valid: this endpoint serves ${BAILIAN_VERSION}.`,
      );
    }
    const workspaceId = (request.params as Params).WorkspaceId;
    if (can(request.actor.principal, action, workspaceId) === 'not-member') {
      throw new AlibabaError(
        403,
        'NoPermission',
        `You are not authorized to access workspace "${workspaceId}": the AccessKey's principal is not a member of it.`,
      );
    }
    if (rateLimit)
      await takeBudget(
        request,
        rateLimiter,
        {
          key: `bailian:${operation}:${request.actor.principal.id}`,
          limit: rateLimit,
          name: 'bailian',
          what: `${operation} calls`,
        },
        throttled,
      );
    return workspaceId;
  }

  app.put<{ Params: Params }>('/:WorkspaceId/datacenter/connector/:ConnectorId', async (request) => {
    const workspaceId = await admit(request, 'UpdateConnector', 'connector:update');
    const form = formOf(request);
    const name = requiredParameter(form, 'ConnectorName');
    const description = requiredParameter(form, 'Description');
    const { connector } = await connectors.patch(request.actor, workspaceId, request.params.ConnectorId, {
      name,
      description,
    });
    return bailianSuccess(request.id, { ConnectorId: connector.id });
  });

  app.post<{ Params: Params }>('/:WorkspaceId/datacenter/connector', async (request) => {
    const workspaceId = await admit(request, 'AddConnector', 'connector:create');
    const form = formOf(request);
    const name = requiredParameter(form, 'ConnectorName');
    const type = requiredParameter(form, 'ConnectorType');
    const description = requiredParameter(form, 'Description');
    const fileConfig = fileConnectorConfigOf(form.FileConnectorConfig);
    const tags = { [TYPE_TAG]: [type], ...(fileConfig.length > 0 ? { [FILE_CONFIG_TAG]: fileConfig } : {}) };
    const connector = await connectors.create(request.actor, workspaceId, { name, description, tags });
    return bailianSuccess(request.id, { ConnectorId: connector.id });
  });

  app.get<{ Params: Params }>('/:WorkspaceId/datacenter/connector', async (request) => {
    const workspaceId = await admit(request, 'GetConnector', 'connector:read');
    const query = queryOf(request);
    if (query.ConnectorId) {
      const connector = await connectors.get(request.actor, workspaceId, query.ConnectorId);
      if (query.ConnectorName && connector.name !== query.ConnectorName)
        throw new DomainError('not-found', `Connector "${query.ConnectorId}" is not named "${query.ConnectorName}".`);
      return bailianSuccess(request.id, connectorData(connector));
    }
    const name = query.ConnectorName;
    if (!name) requiredParameter(query, 'ConnectorId');
    let cursor: string | undefined;
    do {
      const page = await connectors.list(request.actor, workspaceId, { limit: PAGE, cursor, nameContains: name! });
      const found = page.items.find((c) => c.name === name);
      if (found) return bailianSuccess(request.id, connectorData(found));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    throw new DomainError('not-found', `No connector is named "${name}" in workspace "${workspaceId}".`);
  });

  app.delete<{ Params: Params }>('/:WorkspaceId/datacenter/connector/:ConnectorId', async (request) => {
    const workspaceId = await admit(request, 'DeleteConnector', 'connector:delete');
    await connectors.remove(request.actor, workspaceId, request.params.ConnectorId, { force: false });
    return bailianSuccess(request.id, { ConnectorId: request.params.ConnectorId });
  });
}
