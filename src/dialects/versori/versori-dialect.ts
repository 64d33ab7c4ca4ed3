import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Dialect } from '../dialect.js';
import type { Services } from '../../services/services.js';
import { registerIdempotency } from '../../http/idempotency.js';
import { MAX_JSON_DEPTH, nestsDeeperThan, tooDeep } from '../../domain/json-input.js';
import { nulCharacterAt, nulCharacterFound } from '../../domain/nul-character.js';
import { registerRateLimit, type RateLimits } from '../../http/rate-limit.js';
import { DomainError } from '../../domain/errors.js';
import type { RateLimiter } from '../../rate-limit/rate-limiter.js';
import { authenticateVersori } from './auth.js';
import { sendVersoriError } from './errors.js';
import { versoriRoutes } from './routes.js';
import { mediaTypeOf } from '../../http/media-type.js';

export interface VersoriOptions {
  readonly services: Services;
  readonly rateLimiter: RateLimiter;
  readonly rateLimits: RateLimits;
}

/**
 * Versori Connect API v1 (connectors, their auth-scheme configs, connections and versions) under
 * `/o/{organisationId}`, where the organisation is a plugboard workspace. Encapsulated: its error body and
 * 404s never leak into other routes.
 */
export const versoriDialect: FastifyPluginAsync<VersoriOptions> = async (app: FastifyInstance, options) => {
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
    void parseJson(request, body as string, done);
  });

  app.addHook('onRequest', async (request) => {
    request.actor = { ...(await authenticateVersori(request.headers, services.access)), requestId: request.id };
  });
  registerRateLimit(app, options.rateLimiter, options.rateLimits);
  app.addHook('preValidation', async (request) => {
    const type = mediaTypeOf(request.headers);
    if ((request.method === 'PUT' || request.method === 'POST') && type !== '' && type !== 'application/json') {
      throw new DomainError('unsupported-media-type', `Send JSON: Content-Type application/json, not ${type}.`);
    }
    const path =
      nulCharacterAt(request.params, 'path') ??
      nulCharacterAt(request.query, 'query') ??
      nulCharacterAt(request.body, '');
    if (path !== undefined) throw nulCharacterFound(path);
  });
  registerIdempotency(app, services.idempotency);
  await app.register(versoriRoutes, { services });
};

/** Versori's routes under `/o`. */
export const versori: Dialect<VersoriOptions> = {
  name: 'versori',
  register: async (app, deps) => {
    await app.register(versoriDialect, { ...deps, prefix: '/o' });
  },
};
