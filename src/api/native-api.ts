import type { FastifyInstance } from 'fastify';
import { DomainError } from '../domain/errors.js';
import { registerIdempotency } from '../http/idempotency.js';
import { requestOriginOf } from '../http/request-origin.js';
import { registerInputChecks } from '../http/input-checks.js';
import { JSON_ONLY, JSON_TYPES } from '../http/media-type.js';
import { registerRateLimit, type RateLimits } from '../http/rate-limit.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import type { Services } from '../services/services.js';
import { authenticateRequest } from './authenticate.js';
import { ProblemSchema } from './schemas.js';
import { accessRoutes } from './routes/access.js';
import { accessClientRoutes } from './routes/access-clients.js';
import { accessKeyRoutes } from './routes/access-keys.js';
import { webhookRoutes } from './routes/webhooks.js';
import { auditRoutes } from './routes/audit.js';
import { oauthGrantRoutes } from './routes/oauth-grants.js';
import { invitationRoutes } from './routes/invitations.js';
import { toolsetRoutes } from './routes/toolsets.js';
import { connectionRoutes } from './routes/connections.js';
import { connectorPartRoutes } from './routes/connector-parts.js';
import { connectorRoutes } from './routes/connectors.js';
import { tokenRoutes } from './routes/tokens.js';
import { workspaceRoutes } from './routes/workspaces.js';

export interface NativeApiDeps {
  readonly services: Services;
  readonly rateLimiter: RateLimiter;
  readonly rateLimits: RateLimits;
  readonly requireIfMatch: boolean;
  /** The body limit of the routes that take an OpenAPI document: the larger of BODY_LIMIT and TOOLSET_MAX_DOCUMENT_BYTES. */
  readonly documentBodyLimit: number;
  /** PUBLIC_URL's origin: where a browser's cookie-authenticated request may come from (besides the one addressed). */
  readonly publicOrigin: string;
}

/** The native API under /api/v1: API-key authentication, rate budgets, JSON only, idempotent writes, every resource's routes. */
export async function registerNativeApi(app: FastifyInstance, deps: NativeApiDeps): Promise<void> {
  app.addSchema(ProblemSchema);
  await app.register(
    async (api) => {
      // Authentication comes first, before the body is read or anything is validated: a caller without a
      // valid key learns nothing but 401.
      api.addHook('onRequest', async (request) => {
        request.actor = {
          ...(await authenticateRequest(request, deps.services, deps.publicOrigin)),
          requestId: request.id,
          requestOrigin: requestOriginOf(request),
        };
      });
      registerRateLimit(api, deps.rateLimiter, deps.rateLimits);
      // POST and PUT take JSON; PATCH takes a merge patch (or plain JSON, read as one).
      registerInputChecks(api, {
        accepted: (method) =>
          method === 'PATCH' ? JSON_TYPES : method === 'POST' || method === 'PUT' ? JSON_ONLY : [],
        refuseMediaType: (method, accepted, type) =>
          new DomainError(
            'unsupported-media-type',
            `${method} takes Content-Type ${accepted.join(' or ')}, not ${type}.`,
          ),
      });
      registerIdempotency(api, deps.services.idempotency);
      const routeOptions = { requireIfMatch: deps.requireIfMatch };
      await api.register(accessRoutes, { ...routeOptions, access: deps.services.access });
      await api.register(accessKeyRoutes, { ...routeOptions, accessKeys: deps.services.accessKeys });
      await api.register(invitationRoutes, { invitations: deps.services.invitations });
      await api.register(tokenRoutes, { tokens: deps.services.tokens });
      await api.register(workspaceRoutes, { ...routeOptions, workspaces: deps.services.workspaces });
      await api.register(connectorRoutes, { ...routeOptions, connectors: deps.services.connectors });
      await api.register(connectorPartRoutes, { ...routeOptions, parts: deps.services.connectorParts });
      await api.register(connectionRoutes, {
        ...routeOptions,
        connections: deps.services.connections,
        upstreamOAuth: deps.services.upstreamOAuth,
      });
      await api.register(accessClientRoutes, { ...routeOptions, accessClients: deps.services.accessClients });
      await api.register(toolsetRoutes, {
        ...routeOptions,
        toolsets: deps.services.toolsets,
        toolTrials: deps.services.toolTrials,
        documentBodyLimit: deps.documentBodyLimit,
      });
      await api.register(webhookRoutes, { ...routeOptions, webhooks: deps.services.webhooks });
      await api.register(auditRoutes, { audit: deps.services.audit });
      await api.register(oauthGrantRoutes, { oauth: deps.services.oauth });
    },
    { prefix: '/api/v1' },
  );
}
