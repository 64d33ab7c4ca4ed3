import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Dialect } from '../dialect.js';
import type { Services } from '../../services/services.js';
import { registerIdempotency } from '../../http/idempotency.js';
import { MAX_JSON_DEPTH, nestsDeeperThan, tooDeep } from '../../domain/json-input.js';
import { registerRateLimit, type RateLimits } from '../../http/rate-limit.js';
import { DomainError } from '../../domain/errors.js';
import type { RateLimiter } from '../../rate-limit/rate-limiter.js';
import { authenticateVersori } from './auth.js';
import { sendVersoriError } from './errors.js';
import { connectionRoutes } from './connection-routes.js';
import { connectorRoutes } from './connector-routes.js';
import { createReader } from './reader.js';
import { versionRoutes } from './version-routes.js';
import { registerInputChecks } from '../../http/input-checks.js';
import { JSON_ONLY } from '../../http/media-type.js';

/** What the Versori dialect takes from the composition root. */
export interface VersoriDeps {
  readonly services: Pick<Services, 'access' | 'idempotency' | 'connectors' | 'connectorParts' | 'connections'>;
  readonly rateLimiter: RateLimiter;
  readonly rateLimits: RateLimits;
}

/**
 * Versori Connect API v1 (connectors, their auth-scheme configs, connections and versions) under
 * `/o/{organisationId}`, where the organisation is a plugboard workspace. Encapsulated: its error body and
 * 404s never leak into other routes.
 */
export const versoriDialect: FastifyPluginAsync<VersoriDeps> = async (app: FastifyInstance, options) => {
  const { services } = options;
  app.setErrorHandler((error, request, reply) => sendVersoriError(error as Error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendVersoriError(
      new DomainError('not-found', `No route ${request.method} ${request.url.split('?')[0]}.`),
      request,
      reply,
    ),
  );
  // Versori clients send Content-Type: application/json on bodiless POSTs (publish, unpublish) too.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    if (nestsDeeperThan(body as string, MAX_JSON_DEPTH)) return done(tooDeep(''), undefined);
    void parseJson(request, body as string, done); // the default parser answers through `done`
  });

  app.addHook('onRequest', async (request) => {
    request.actor = { ...(await authenticateVersori(request.headers, services.access)), requestId: request.id };
  });
  registerRateLimit(app, options.rateLimiter, options.rateLimits);
  registerInputChecks(app, {
    accepted: (method) => (method === 'PUT' || method === 'POST' ? JSON_ONLY : []),
    refuseMediaType: (_method, _accepted, type) =>
      new DomainError('unsupported-media-type', `Send JSON: Content-Type application/json, not ${type}.`),
  });
  registerIdempotency(app, services.idempotency);
  const reader = createReader(services);
  await app.register(connectorRoutes, { services, reader });
  await app.register(connectionRoutes, { services, reader });
  await app.register(versionRoutes, { services, reader });
};

/** Versori's routes under `/o`. */
export const versori: Dialect<VersoriDeps> = {
  name: 'versori',
  register: async (app, deps) => {
    await app.register(versoriDialect, { ...deps, prefix: '/o' });
  },
};
