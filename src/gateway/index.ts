import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { ErrorCode, SUPPORTED_PROTOCOL_VERSIONS, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { DomainError, notFound } from '../domain/errors.js';
import { takeOrRefuse, type RateLimit, type RateLimiter } from '../rate-limit/rate-limiter.js';
import type { GatewayClient, GatewayService, ServedToolset } from '../services/gateway-service.js';
import { TransportError, toGatewayFailure } from './errors.js';
import { answerRequest, initializeResult, isRequest, negotiateVersion, readMessages, type RpcAnswer } from './protocol.js';

export interface GatewayOptions {
  readonly gateway: GatewayService;
  readonly rateLimiter: RateLimiter;
  /** Calls per second for clients without a rate limit of their own; undefined for none. */
  readonly defaultRateLimit: RateLimit | undefined;
}

export interface GatewayRouteOptions extends GatewayOptions {
  /** What the Streamable HTTP POST does, shared with the server's fast path (see createGatewayExchanges). */
  readonly exchanges: GatewayExchanges;
  /** Seconds between keep-alive comments on an SSE stream. */
  readonly sseKeepAliveSeconds: number;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;
/** The gateway speaks MCP, not the native API: its routes stay out of /openapi.json. */
const hidden = { schema: { hide: true } };
const SESSION_HEADER = 'mcp-session-id';
const VERSION_HEADER = 'mcp-protocol-version';
/** The protocol version of the legacy HTTP+SSE transport. */
const SSE_PROTOCOL_VERSION = '2024-11-05';

export interface Params {
  workspaceId: string;
  toolset: string;
}

/** Who is calling, which toolset, and what it costs: what every gateway request establishes first. */
interface Admitted {
  readonly client: GatewayClient;
  readonly toolset: ServedToolset;
}

/** One HTTP request to the gateway, whichever server carried it. */
export interface GatewayRequest {
  readonly params: Params;
  readonly headers: IncomingHttpHeaders;
  /** The body as received (JSON-RPC text), '' when there is none. */
  readonly body: string;
  readonly requestId: string;
  /** The request's logger (bound to its id), made when first needed: most requests log nothing here. */
  log(): FastifyBaseLogger;
}

/** The gateway's answer: status, headers of its own (content-type included when there is a body) and body. */
export interface GatewayAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

const json = (status: number, body: unknown, headers: Record<string, string> = {}): GatewayAnswer => ({
  status,
  headers: { ...headers, ...JSON_HEADERS },
  body: JSON.stringify(body),
});

/**
 * The Streamable HTTP exchange of the gateway, independent of the HTTP server: the Fastify route and the
 * server's fast path for `POST /mcp/…` (src/gateway/fast-path.ts) both answer through these, so that the
 * protocol, its checks and its error mapping exist once.
 */
export function createGatewayExchanges(options: GatewayOptions) {
  const { gateway, rateLimiter, defaultRateLimit } = options;

  /**
   * Authenticates the bearer token, checks the toolset is the client's to call, and spends one unit of its
   * budget. Headers the answer must carry whatever happens next (Retry-After) are added to `headers`.
   */
  async function admit(request: Pick<GatewayRequest, 'params' | 'headers' | 'log'>, headers: Record<string, string>): Promise<Admitted> {
    const { workspaceId, toolset: name } = request.params;
    const match = BEARER.exec(request.headers.authorization ?? '');
    const client = match ? await gateway.authenticate(match[1]!) : undefined;
    if (!client) throw new DomainError('unauthenticated', 'A valid access-client token is required: send "Authorization: Bearer pbac_…".');
    if (!gateway.allows(client, workspaceId, name)) throw new DomainError('forbidden', `Access client "${client.id}" may not use toolset "${name}" of workspace "${workspaceId}".`);
    const limit = client.rateLimit === null ? defaultRateLimit : { perSecond: client.rateLimit, burst: client.rateLimit };
    if (limit) {
      const decision = await takeOrRefuse(rateLimiter, `gateway:${workspaceId}:${client.id}`, limit, 'gateway', { error: (details, message) => request.log().error(details, message) });
      if (!decision.allowed) {
        headers['retry-after'] = String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000)));
        throw new DomainError('rate-limited', `Too many calls for access client "${client.id}": at most ${limit.perSecond} per second.`);
      }
    }
    const toolset = await gateway.toolset(workspaceId, name);
    if (!toolset) throw notFound(`Toolset "${name}" in workspace "${workspaceId}"`);
    return { client, toolset };
  }

  /** The gateway's one way of answering a failure that is not a single request's JSON-RPC error. */
  function failure(error: unknown, request: Pick<GatewayRequest, 'requestId' | 'log'>, headers: Record<string, string> = {}): GatewayAnswer {
    const failed = toGatewayFailure(error, request.requestId);
    if (failed.status >= 500) request.log().error({ err: error }, 'gateway failure');
    return json(failed.status, { jsonrpc: '2.0', error: failed.error, id: null }, { ...headers, ...failed.headers });
  }

  async function answerAll(toolset: ServedToolset, messages: JSONRPCMessage[], requestId: string): Promise<RpcAnswer[]> {
    if (messages.length === 1) return isRequest(messages[0]!) ? [await answerRequest(gateway, toolset, messages[0], requestId)] : [];
    return Promise.all(messages.filter(isRequest).map((message) => answerRequest(gateway, toolset, message, requestId)));
  }

  /** POST: initialize opens a session; anything else needs one. Never throws. */
  async function post(request: GatewayRequest): Promise<GatewayAnswer> {
    const headers: Record<string, string> = {};
    try {
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json') throw new TransportError(415, ErrorCode.InvalidRequest, 'Unsupported Media Type: Content-Type must be application/json.');
      const { client, toolset } = await admit(request, headers);
      const accept = request.headers.accept ?? '*/*';
      if (!/application\/json|\*\/\*|application\/\*/i.test(accept)) {
        throw new TransportError(406, ErrorCode.ConnectionClosed, 'Not Acceptable: this server answers with application/json.');
      }
      const { messages, batch } = readMessages(request.body);
      const initialize = messages.find((m) => isRequest(m) && m.method === 'initialize') as (JSONRPCMessage & { id: string | number; params?: { protocolVersion?: unknown } }) | undefined;
      if (initialize) {
        if (messages.length > 1) throw new TransportError(400, ErrorCode.InvalidRequest, 'Invalid Request: initialize must be sent on its own.');
        const version = negotiateVersion(initialize.params?.protocolVersion);
        headers[SESSION_HEADER] = gateway.sessions.open(client, toolset, version);
        const answer = { jsonrpc: '2.0', id: initialize.id, result: initializeResult(version, toolset) };
        return json(200, batch ? [answer] : answer, headers);
      }
      const sessionId = request.headers[SESSION_HEADER];
      if (typeof sessionId !== 'string' || sessionId === '') {
        throw new TransportError(400, ErrorCode.ConnectionClosed, 'Bad Request: Mcp-Session-Id header is required (send initialize first).');
      }
      if (!(await gateway.sessions.check(sessionId, client, toolset))) throw new TransportError(404, ErrorCode.RequestTimeout, 'Session not found.');
      const version = request.headers[VERSION_HEADER];
      if (typeof version === 'string' && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
        throw new TransportError(400, ErrorCode.ConnectionClosed, `Bad Request: unsupported protocol version ${version} (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}).`);
      }
      const answers = await answerAll(toolset, messages, request.requestId);
      if (answers.length === 0) return { status: 202, headers };
      return json(200, batch ? answers : answers[0], headers);
    } catch (error) {
      return failure(error, request, headers);
    }
  }

  return { admit, failure, post };
}

export type GatewayExchanges = ReturnType<typeof createGatewayExchanges>;

const fromFastify = (request: FastifyRequest): GatewayRequest => ({
  params: request.params as Params,
  headers: request.headers,
  body: typeof request.body === 'string' ? request.body : '',
  requestId: request.id,
  log: () => request.log,
});

function send(reply: FastifyReply, answer: GatewayAnswer) {
  reply.code(answer.status).headers(answer.headers);
  return answer.body === undefined ? reply.send() : reply.send(answer.body);
}

/**
 * The MCP gateway: every toolset at `/mcp/{workspaceId}/{toolset}` (Streamable HTTP, JSON answers) and at
 * `/sse/{workspaceId}/{toolset}` (the legacy HTTP+SSE transport). Session ids are signed, so any node can
 * serve any request of a Streamable HTTP session; only an SSE stream lives on the node that holds it.
 */
export async function gatewayRoutes(app: FastifyInstance, options: GatewayRouteOptions): Promise<void> {
  const { gateway, exchanges } = options;
  const streams = new Map<string, { response: ServerResponse; keepAlive: NodeJS.Timeout }>();

  // Bodies arrive as text: a malformed one is a JSON-RPC parse error, not a Fastify 400.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.setErrorHandler((error, request, reply) => send(reply, exchanges.failure(error, fromFastify(request))));
  app.addHook('preClose', async () => {
    for (const { response, keepAlive } of streams.values()) {
      clearInterval(keepAlive);
      response.end();
    }
    streams.clear();
  });

  async function admit(request: FastifyRequest, reply: FastifyReply): Promise<Admitted> {
    const headers: Record<string, string> = {};
    try {
      return await exchanges.admit(fromFastify(request), headers);
    } finally {
      reply.headers(headers);
    }
  }

  // ---- Streamable HTTP ----------------------------------------------------------------------------------

  app.post('/mcp/:workspaceId/:toolset', hidden, async (request, reply) => send(reply, await exchanges.post(fromFastify(request))));

  // No server-initiated messages: the standalone SSE stream is not offered, which MCP allows with 405.
  app.get('/mcp/:workspaceId/:toolset', hidden, async (_request, reply) =>
    send(reply, json(405, { jsonrpc: '2.0', error: { code: -32000, message: 'Method Not Allowed: this server sends no messages of its own.' }, id: null }, { allow: 'POST, DELETE' })),
  );

  app.delete('/mcp/:workspaceId/:toolset', hidden, async (request, reply) => {
    const { client, toolset } = await admit(request, reply);
    const sessionId = request.headers[SESSION_HEADER];
    if (typeof sessionId !== 'string' || sessionId === '') throw new TransportError(400, ErrorCode.ConnectionClosed, 'Bad Request: Mcp-Session-Id header is required.');
    const claims = await gateway.sessions.check(sessionId, client, toolset);
    if (!claims) throw new TransportError(404, ErrorCode.RequestTimeout, 'Session not found.');
    await gateway.sessions.end(sessionId, claims);
    return reply.code(200).send();
  });

  // ---- Legacy HTTP+SSE (protocol 2024-11-05) -----------------------------------------------------------

  app.get('/sse/:workspaceId/:toolset', hidden, async (request, reply) => {
    const { client, toolset } = await admit(request, reply);
    const sessionId = gateway.sessions.open(client, toolset, SSE_PROTOCOL_VERSION);
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-request-id': request.id,
    });
    // Relative to the stream's URL, so that it stays right behind a proxy that mounts plugboard under a path.
    response.write(`event: endpoint\ndata: ${toolset.name}/messages?sessionId=${encodeURIComponent(sessionId)}\n\n`);
    const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), options.sseKeepAliveSeconds * 1000);
    keepAlive.unref();
    streams.set(sessionId, { response, keepAlive });
    response.on('close', () => {
      clearInterval(keepAlive);
      streams.delete(sessionId);
    });
  });

  app.post('/sse/:workspaceId/:toolset/messages', hidden, async (request, reply) => {
    const { client, toolset } = await admit(request, reply);
    const sessionId = (request.query as { sessionId?: unknown }).sessionId;
    if (typeof sessionId !== 'string' || sessionId === '') throw new TransportError(400, ErrorCode.ConnectionClosed, 'Bad Request: the sessionId query parameter is required.');
    const stream = streams.get(sessionId);
    if (!stream || !(await gateway.sessions.check(sessionId, client, toolset))) {
      throw new TransportError(404, ErrorCode.RequestTimeout, 'Session not found: the SSE stream of this session is not open on this server.');
    }
    const { messages } = readMessages(typeof request.body === 'string' ? request.body : '');
    reply.code(202).send('Accepted');
    for (const message of messages.filter(isRequest)) {
      const answer =
        message.method === 'initialize'
          ? { jsonrpc: '2.0', id: message.id, result: initializeResult(negotiateVersion((message.params as { protocolVersion?: unknown } | undefined)?.protocolVersion), toolset) }
          : await answerRequest(gateway, toolset, message, request.id);
      if (!stream.response.writableEnded) stream.response.write(`event: message\ndata: ${JSON.stringify(answer)}\n\n`);
    }
    return reply;
  });
}
