import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import { DomainError } from '../domain/errors.js';
import { createAjv } from '../domain/validate.js';
import type { Services } from '../app.js';
import { registerIdempotency } from './idempotency.js';
import { countingRejections, registerMetrics, type Metrics } from './metrics.js';
import { registerRateLimit, type RateLimits } from './rate-limit.js';
import type { RateLimit, RateLimiter } from '../rate-limit/rate-limiter.js';
import { createGatewayExchanges, gatewayRoutes, type GatewayLimits } from '../gateway/index.js';
import { createFastPath } from '../gateway/fast-path.js';
import { isFrontPage, webConsole } from './console.js';
import { alibabaDialects } from '../dialects/alibaba/index.js';
import { authenticateRequest } from './authenticate.js';
import { MAX_JSON_DEPTH, nestsDeeperThan, tooDeep } from './json-input.js';
import { nulCharacterAt, nulCharacterFound } from './nul-character.js';
import { sendProblem } from './problem.js';
import { ProblemSchema } from './schemas.js';
import { accessRoutes } from './routes/access.js';
import { accessClientRoutes } from './routes/access-clients.js';
import { accessKeyRoutes } from './routes/access-keys.js';
import { auditRoutes } from './routes/audit.js';
import { toolsetRoutes } from './routes/toolsets.js';
import { requestOriginOf } from '../http/request-origin.js';
import { connectionRoutes } from './routes/connections.js';
import { connectorPartRoutes } from './routes/connector-parts.js';
import { connectorRoutes } from './routes/connectors.js';
import { tokenRoutes } from './routes/tokens.js';
import { workspaceRoutes } from './routes/workspaces.js';
import { versoriDialect } from '../dialects/versori/index.js';
import { huaweiFabricDialect } from '../dialects/huawei-fabric/index.js';

export interface ServerOptions {
  readonly logger: Logger;
  readonly bodyLimit: number;
  readonly requireIfMatch: boolean;
  /** 'ready', or why not. */
  readonly isReady: () => Promise<string>;
  /** True once the server is stopping. */
  readonly isDraining: () => boolean;
  readonly version: string;
  readonly metrics: Metrics;
  readonly rateLimiter: RateLimiter;
  readonly rateLimits: RateLimits;
  /** Calls per second of an access client without a limit of its own; undefined for none. */
  readonly gatewayRateLimit: RateLimit | undefined;
  /** Batches, answer sizes, SSE streams per client and allowed origins of the MCP gateway. */
  readonly gatewayLimits: GatewayLimits;
  /** Sent as X-Plugboard-Node on every answer. */
  readonly nodeId: string;
  /** The socket cap and the timeouts against slow and idle clients (Config['connections']). */
  readonly connections: ServerConnections;
  /** When set, GET /metrics needs it as a bearer token. */
  readonly metricsToken: string | undefined;
  /** Model Studio (Bailian) calls per principal and operation; undefined for none. */
  readonly bailianRateLimit?: RateLimit;
  /** How long a Huawei DataArts Fabric call may take before it is answered with 408. */
  readonly huaweiFabricTimeoutMs: number;
}

/** How many sockets the server holds, and how long a client may take or idle (milliseconds). */
export interface ServerConnections {
  readonly max: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const JSON_TYPES = ['application/json', 'application/merge-patch+json'];

/** The caller's X-Request-Id when it is well-formed, else a new one. */
function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** The HTTP server: native API under /api/v1, its OpenAPI document and docs, and the operational endpoints. */
export async function buildServer(services: Services, given: ServerOptions): Promise<FastifyInstance> {
  // Every edge spends from the same limiter, which counts the 429s of all of them.
  const options = { ...given, rateLimiter: countingRejections(given.rateLimiter, given.metrics.rateLimitRejections) };
  const exchanges = createGatewayExchanges({ gateway: services.gateway, rateLimiter: options.rateLimiter, defaultRateLimit: options.gatewayRateLimit, limits: options.gatewayLimits });
  let closing = false;
  const app = Fastify({
    loggerInstance: options.logger,
    // One line per request, written by the onResponse hook below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit,
    requestIdHeader: false,
    genReqId: requestIdOf,
    // MCP tool calls take a path of their own in front of Fastify (src/gateway/fast-path.ts); the rest is Fastify's.
    serverFactory: (handler) => {
      const fastPath = createFastPath({
        exchanges,
        logger: options.logger,
        metrics: options.metrics,
        bodyLimit: options.bodyLimit,
        nodeId: options.nodeId,
        requestIdOf,
        isDraining: options.isDraining,
        isClosing: () => closing,
      });
      const { connections } = options;
      const server = createServer(
        {
          headersTimeout: connections.headersTimeoutMs,
          requestTimeout: connections.requestTimeoutMs,
          // Node checks both timeouts on this interval (30 s by default), which would let a slow client stay that much longer.
          connectionsCheckingInterval: Math.min(1000, Math.ceil(connections.headersTimeoutMs / 2)),
        },
        (request, response) => {
          if (!fastPath(request, response)) handler(request, response);
        },
      );
      server.keepAliveTimeout = connections.keepAliveTimeoutMs;
      // Above the cap a new socket is closed as soon as it is accepted: idle clients cannot use up the descriptors.
      server.maxConnections = connections.max;
      return server;
    },
    return503OnClosing: true,
    // Requests the router cannot even match (a malformed %-escape, a path segment over 100 characters) get
    // the same problem+json and X-Request-Id as every other failure; the hooks never run for them.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      sendProblem(error, request, reply);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Bodies are checked strictly (no coercion: "1" is not 1); query strings and paths arrive as text.
  const bodyAjv = createAjv();
  const textAjv = createAjv({ coerceTypes: true });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema));
  // JSON bodies are parsed with Fastify's prototype-poisoning guard, once their depth is known to be bounded; a
  // DELETE or GET from a client that always sends Content-Type: application/json but no body is not malformed.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  for (const type of JSON_TYPES) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (request, body, done) => {
      if (body === '' && (request.method === 'DELETE' || request.method === 'GET')) return done(null, undefined);
      if (nestsDeeperThan(body as string, MAX_JSON_DEPTH)) return done(tooDeep(''), undefined);
      parseJson(request, body as string, done);
    });
  }
  app.addSchema(ProblemSchema);
  app.setErrorHandler((error, request, reply) => sendProblem(error as Error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    isFrontPage(request)
      ? reply.redirect('/console/')
      : sendProblem(new DomainError('not-found', `No route ${request.method} ${request.url.split('?')[0]}.`), request, reply),
  );

  app.addHook('preClose', async () => {
    closing = true;
  });
  // The hooks every request passes through are synchronous (callback style): an async hook costs a promise and
  // a trip through the microtask queue per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    reply.header('x-plugboard-node', options.nodeId);
    done();
  });
  // A stopping server closes each connection after its answer (decided at answer time, so requests that began
  // before the stop count too): a kept-alive one would hold the close up until the client's keep-alive timeout.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (options.isDraining()) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      { requestId: request.id, method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 },
      'request',
    );
    done();
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'plugboard native API',
        version: options.version,
        description: 'Workspaces, connectors, connections and who may use them. Errors are RFC 9457 problem+json.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'A plugboard API key: pbk_…' },
          authToken: { type: 'apiKey', in: 'header', name: 'X-Auth-Token', description: 'A short-lived token from POST /api/v1/tokens: pbt_…' },
        },
      },
      security: [{ apiKey: [] }, { authToken: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  registerMetrics(app as unknown as FastifyInstance, options.metrics, options.metricsToken);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const state = await options.isReady();
    return state === 'ready' ? { status: 'ready' } : reply.code(503).send({ status: 'not-ready', reason: state });
  });

  await app.register(
    async (api) => {
      // Authentication comes first, before the body is read or anything is validated: a caller without a
      // valid key learns nothing but 401.
      api.addHook('onRequest', async (request) => {
        request.actor = { ...(await authenticateRequest(request.headers, services)), requestId: request.id, requestOrigin: requestOriginOf(request) };
      });
      registerRateLimit(api, options.rateLimiter, options.rateLimits);
      // POST and PUT take JSON; PATCH takes a merge patch (or plain JSON, read as one).
      api.addHook('preValidation', (request, _reply, done) => {
        const accepted = request.method === 'PATCH' ? JSON_TYPES : request.method === 'POST' || request.method === 'PUT' ? JSON_TYPES.slice(0, 1) : [];
        if (accepted.length > 0) {
          const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
          if (type !== '' && !accepted.includes(type)) {
            return done(new DomainError('unsupported-media-type', `${request.method} takes Content-Type ${accepted.join(' or ')}, not ${type}.`));
          }
        }
        const path = nulCharacterAt(request.params, 'path') ?? nulCharacterAt(request.query, 'query') ?? nulCharacterAt(request.body, '');
        if (path !== undefined) return done(nulCharacterFound(path));
        done();
      });
      registerIdempotency(api, services.idempotency);
      const routeOptions = { requireIfMatch: options.requireIfMatch };
      await api.register(accessRoutes, { access: services.access });
      await api.register(accessKeyRoutes, { accessKeys: services.accessKeys });
      await api.register(tokenRoutes, { tokens: services.tokens });
      await api.register(workspaceRoutes, { ...routeOptions, workspaces: services.workspaces });
      await api.register(connectorRoutes, { ...routeOptions, connectors: services.connectors });
      await api.register(connectorPartRoutes, { ...routeOptions, parts: services.connectorParts });
      await api.register(connectionRoutes, { ...routeOptions, connections: services.connections });
      await api.register(accessClientRoutes, { ...routeOptions, accessClients: services.accessClients });
      await api.register(toolsetRoutes, { ...routeOptions, toolsets: services.toolsets });
      await api.register(auditRoutes, { audit: services.audit });
    },
    { prefix: '/api/v1' },
  );
  await app.register(webConsole);
  await app.register(alibabaDialects, { services, rateLimiter: options.rateLimiter, rateLimits: options.rateLimits, bailianRateLimit: options.bailianRateLimit });
  // The MCP gateway: its own authentication (access-client tokens), rate limits and JSON-RPC errors.
  await app.register(gatewayRoutes, {
    gateway: services.gateway,
    rateLimiter: options.rateLimiter,
    defaultRateLimit: options.gatewayRateLimit,
    limits: options.gatewayLimits,
    exchanges,
    sseKeepAliveSeconds: 15,
  });
  // The vendors document their own routes: /openapi.json stays about the native API.
  await app.register(async (dialects) => {
    dialects.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, hide: true };
    });
    await dialects.register(huaweiFabricDialect, { ...services, rateLimiter: options.rateLimiter, rateLimits: options.rateLimits, timeoutMs: options.huaweiFabricTimeoutMs });
    await dialects.register(versoriDialect, { prefix: '/o', services, rateLimiter: options.rateLimiter, rateLimits: options.rateLimits });
  });
  return app as unknown as FastifyInstance;
}
