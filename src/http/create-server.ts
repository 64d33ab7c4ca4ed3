import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import { DomainError } from '../domain/errors.js';
import { MAX_JSON_DEPTH, nestsDeeperThan, tooDeep } from '../domain/json-input.js';
import { createAjv } from '../domain/validate.js';
import { registerMetrics, type Metrics } from './metrics.js';
import { createJsonBodyParser } from './json-body-parser.js';
import { JSON_TYPES } from './media-type.js';
import { requestIdOf } from './request-id.js';

/** What the Fastify server needs, whatever edges are mounted on it. */
export interface ServerSetup {
  readonly logger: Logger;
  readonly bodyLimit: number;
  /** 'ready', or why not. */
  readonly isReady: () => Promise<string>;
  /** True once the server is stopping. */
  readonly isDraining: () => boolean;
  readonly version: string;
  readonly metrics: Metrics;
  /** Sent as X-Plugboard-Node on every answer. */
  readonly nodeId: string;
  /** The socket cap and the timeouts against slow and idle clients (Config['connections']). */
  readonly connections: ServerConnections;
  /** When set, GET /metrics needs it as a bearer token. */
  readonly metricsToken: string | undefined;
  /** Answers every failure no edge answered itself (unmatched routes, the router's own refusals). */
  readonly sendError: (
    error: FastifyError | DomainError | Error,
    request: FastifyRequest,
    reply: FastifyReply,
  ) => FastifyReply;
  /** Where an unmatched request is sent instead of a 404 (a person opening `/` goes to the console); undefined for a 404. */
  readonly redirectOf?: (request: FastifyRequest) => string | undefined;
  /**
   * A handler in front of Fastify for the hottest route (the gateway's tool calls): it returns false for every
   * request it does not take. `isClosing` turns true once the server closes.
   */
  readonly frontHandler?: (isClosing: () => boolean) => (request: IncomingMessage, response: ServerResponse) => boolean;
}

/** How many sockets the server holds, and how long a client may take or idle (milliseconds). */
export interface ServerConnections {
  readonly max: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

/**
 * The Fastify server every edge is mounted on: sockets and timeouts, request ids, the node header, JSON parsing
 * with a depth bound, validation, the request log line, the OpenAPI document and docs, and the operational
 * endpoints (/metrics, /healthz, /readyz). The caller registers the edges on it.
 */
export async function createServer(options: ServerSetup): Promise<FastifyInstance> {
  let closing = false;
  const unused = new Set<Socket>();
  const app = Fastify({
    loggerInstance: options.logger,
    // One line per request, written by the onResponse hook below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit,
    requestIdHeader: false,
    genReqId: requestIdOf,
    // A front handler (the gateway's tool calls) may take a request before Fastify does; the rest is Fastify's.
    serverFactory: (handler) => {
      const front = options.frontHandler?.(() => closing);
      const { connections } = options;
      const server = createHttpServer(
        {
          headersTimeout: connections.headersTimeoutMs,
          requestTimeout: connections.requestTimeoutMs,
          // Node checks both timeouts on this interval (30 s by default), which would let a slow client stay that much longer.
          connectionsCheckingInterval: Math.min(1000, Math.ceil(connections.headersTimeoutMs / 2)),
        },
        front === undefined
          ? handler
          : (request, response) => {
              if (!front(request, response)) handler(request, response);
            },
      );
      // Connections that have not sent a request yet (a browser's preconnect): Node counts them as busy, so a
      // close would wait out their headers timeout. They are ended when the server closes (see onClose below).
      server.on('connection', (socket: Socket) => {
        // Accepted while the server closes: it would be refused a moment later anyway.
        if (closing) return socket.destroy();
        unused.add(socket);
        socket.once('close', () => unused.delete(socket));
      });
      server.on('request', (request: IncomingMessage) => unused.delete(request.socket));
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
      options.sendError(error, request, reply);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const jsonBodies = createJsonBodyParser();
  // Bodies are checked strictly (no coercion: "1" is not 1); query strings and paths arrive as text.
  const bodyAjv = createAjv();
  const textAjv = createAjv({ coerceTypes: true });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema));
  // JSON bodies are parsed with Fastify's prototype-poisoning guard, once their depth is known to be bounded; a
  // DELETE or GET from a client that always sends Content-Type: application/json but no body is not malformed.
  // Large bodies (a toolset's OpenAPI document) are checked and parsed on a worker thread, off the event loop.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  for (const type of JSON_TYPES) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (request, body, done) => {
      if (body === '' && (request.method === 'DELETE' || request.method === 'GET')) return done(null, undefined);
      jsonBodies.parse(
        body as string,
        (text, inline) => {
          if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return inline(tooDeep(''), undefined);
          void parseJson(request, text, inline);
        },
        done,
      );
    });
  }
  app.addHook('onClose', async () => jsonBodies.close());
  app.setErrorHandler((error, request, reply) => options.sendError(error as Error, request, reply));
  app.setNotFoundHandler((request, reply) => {
    const location = options.redirectOf?.(request);
    if (location !== undefined) return reply.redirect(location);
    return options.sendError(
      new DomainError('not-found', `No route ${request.method} ${request.url.split('?')[0]}.`),
      request,
      reply,
    );
  });

  app.addHook('preClose', async () => {
    closing = true;
    // No request can come on them any more (the server stops accepting now): they would hold the close up.
    for (const socket of unused) socket.destroy();
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
      {
        requestId: request.id,
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
      },
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
          authToken: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Auth-Token',
            description: 'A short-lived token from POST /api/v1/tokens: pbt_…',
          },
        },
      },
      security: [{ apiKey: [] }, { authToken: [] }],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  registerMetrics(app as unknown as FastifyInstance, options.metrics, options.metricsToken);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const state = await options.isReady();
    return state === 'ready' ? { status: 'ready' } : reply.code(503).send({ status: 'not-ready', reason: state });
  });
  return app as unknown as FastifyInstance;
}
