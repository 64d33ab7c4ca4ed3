import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { ErrorCode, SUPPORTED_PROTOCOL_VERSIONS, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { DomainError, notFound } from '../domain/errors.js';
import type { RateLimit, RateLimiter } from '../rate-limit/rate-limiter.js';
import type { GatewayClient, GatewayService, ServedToolset } from '../services/gateway-service.js';
import { TransportError, toGatewayFailure } from './errors.js';
import { answerRequest, initializeResult, isRequest, negotiateVersion, readMessages, type RpcAnswer } from './protocol.js';

export interface GatewayRouteOptions {
  readonly gateway: GatewayService;
  readonly rateLimiter: RateLimiter;
  /** Calls per second for clients without a rate limit of their own; undefined for none. */
  readonly defaultRateLimit: RateLimit | undefined;
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

interface Params {
  workspaceId: string;
  toolset: string;
}

/** Who is calling, which toolset, and what it costs: what every gateway request establishes first. */
interface Admitted {
  readonly client: GatewayClient;
  readonly toolset: ServedToolset;
}

function send(reply: FastifyReply, status: number, body: unknown) {
  return reply.code(status).header('content-type', 'application/json').send(JSON.stringify(body));
}

function sendFailure(reply: FastifyReply, error: unknown) {
  const failure = toGatewayFailure(error, reply.request.id);
  if (failure.status >= 500) reply.request.log.error({ err: error }, 'gateway failure');
  reply.headers(failure.headers);
  return send(reply, failure.status, { jsonrpc: '2.0', error: failure.error, id: null });
}

/**
 * The MCP gateway: every toolset at `/mcp/{workspaceId}/{toolset}` (Streamable HTTP, JSON answers) and at
 * `/sse/{workspaceId}/{toolset}` (the legacy HTTP+SSE transport). Session ids are signed, so any node can
 * serve any request of a Streamable HTTP session; only an SSE stream lives on the node that holds it.
 */
export async function gatewayRoutes(app: FastifyInstance, options: GatewayRouteOptions): Promise<void> {
  const { gateway, rateLimiter, defaultRateLimit } = options;
  const streams = new Map<string, { response: ServerResponse; keepAlive: NodeJS.Timeout }>();

  // Bodies arrive as text: a malformed one is a JSON-RPC parse error, not a Fastify 400.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.setErrorHandler((error, _request, reply) => sendFailure(reply, error));
  app.addHook('preClose', async () => {
    for (const { response, keepAlive } of streams.values()) {
      clearInterval(keepAlive);
      response.end();
    }
    streams.clear();
  });

  /** Authenticates the bearer token, checks the toolset is the client's to call, and spends one unit of its budget. */
  async function admit(request: FastifyRequest, reply: FastifyReply): Promise<Admitted> {
    const { workspaceId, toolset: name } = request.params as Params;
    const match = BEARER.exec(request.headers.authorization ?? '');
    const client = match ? await gateway.authenticate(match[1]!) : undefined;
    if (!client) throw new DomainError('unauthenticated', 'A valid access-client token is required: send "Authorization: Bearer pbac_…".');
    if (!gateway.allows(client, workspaceId, name)) throw new DomainError('forbidden', `Access client "${client.id}" may not use toolset "${name}" of workspace "${workspaceId}".`);
    const limit = client.rateLimit === null ? defaultRateLimit : { perSecond: client.rateLimit, burst: client.rateLimit };
    if (limit) {
      let decision;
      try {
        decision = await rateLimiter.take(`gateway:${workspaceId}:${client.id}`, limit);
      } catch (error) {
        request.log.error({ err: error }, 'rate limiter unavailable');
        throw new DomainError('service-unavailable', 'The rate limiter is unavailable; retry shortly.');
      }
      if (!decision.allowed) {
        reply.header('retry-after', String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))));
        throw new DomainError('rate-limited', `Too many calls for access client "${client.id}": at most ${limit.perSecond} per second.`);
      }
    }
    const toolset = await gateway.toolset(workspaceId, name);
    if (!toolset) throw notFound(`Toolset "${name}" in workspace "${workspaceId}"`);
    return { client, toolset };
  }

  async function answerAll(toolset: ServedToolset, messages: JSONRPCMessage[], requestId: string): Promise<RpcAnswer[]> {
    return Promise.all(messages.filter(isRequest).map((message) => answerRequest(gateway, toolset, message, requestId)));
  }

  // ---- Streamable HTTP ----------------------------------------------------------------------------------

  app.post('/mcp/:workspaceId/:toolset', hidden, async (request, reply) => {
    const { client, toolset } = await admit(request, reply);
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') throw new TransportError(415, ErrorCode.InvalidRequest, 'Unsupported Media Type: Content-Type must be application/json.');
    const accept = request.headers.accept ?? '*/*';
    if (!/application\/json|\*\/\*|application\/\*/i.test(accept)) {
      throw new TransportError(406, ErrorCode.ConnectionClosed, 'Not Acceptable: this server answers with application/json.');
    }
    const { messages, batch } = readMessages(typeof request.body === 'string' ? request.body : '');
    const initialize = messages.find((m) => isRequest(m) && m.method === 'initialize') as (JSONRPCMessage & { id: string | number; params?: { protocolVersion?: unknown } }) | undefined;
    if (initialize) {
      if (messages.length > 1) throw new TransportError(400, ErrorCode.InvalidRequest, 'Invalid Request: initialize must be sent on its own.');
      const version = negotiateVersion(initialize.params?.protocolVersion);
      reply.header(SESSION_HEADER, gateway.sessions.open(client, toolset.name, version));
      const answer = { jsonrpc: '2.0', id: initialize.id, result: initializeResult(version, toolset) };
      return send(reply, 200, batch ? [answer] : answer);
    }
    const sessionId = request.headers[SESSION_HEADER];
    if (typeof sessionId !== 'string' || sessionId === '') {
      throw new TransportError(400, ErrorCode.ConnectionClosed, 'Bad Request: Mcp-Session-Id header is required (send initialize first).');
    }
    if (!(await gateway.sessions.check(sessionId, client, toolset.name))) throw new TransportError(404, ErrorCode.RequestTimeout, 'Session not found.');
    const version = request.headers[VERSION_HEADER];
    if (typeof version === 'string' && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      throw new TransportError(400, ErrorCode.ConnectionClosed, `Bad Request: unsupported protocol version ${version} (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}).`);
    }
    const answers = await answerAll(toolset, messages, request.id);
    if (answers.length === 0) return reply.code(202).send();
    return send(reply, 200, batch ? answers : answers[0]);
  });

  // No server-initiated messages: the standalone SSE stream is not offered, which MCP allows with 405.
  app.get('/mcp/:workspaceId/:toolset', hidden, async (_request, reply) =>
    reply.header('allow', 'POST, DELETE').code(405).header('content-type', 'application/json').send(
      JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method Not Allowed: this server sends no messages of its own.' }, id: null }),
    ),
  );

  app.delete('/mcp/:workspaceId/:toolset', hidden, async (request, reply) => {
    const { client, toolset } = await admit(request, reply);
    const sessionId = request.headers[SESSION_HEADER];
    if (typeof sessionId !== 'string' || sessionId === '') throw new TransportError(400, ErrorCode.ConnectionClosed, 'Bad Request: Mcp-Session-Id header is required.');
    const claims = await gateway.sessions.check(sessionId, client, toolset.name);
    if (!claims) throw new TransportError(404, ErrorCode.RequestTimeout, 'Session not found.');
    await gateway.sessions.end(sessionId, claims);
    return reply.code(200).send();
  });

  // ---- Legacy HTTP+SSE (protocol 2024-11-05) -----------------------------------------------------------

  app.get('/sse/:workspaceId/:toolset', hidden, async (request, reply) => {
    const { client, toolset } = await admit(request, reply);
    const sessionId = gateway.sessions.open(client, toolset.name, SSE_PROTOCOL_VERSION);
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
    if (!stream || !(await gateway.sessions.check(sessionId, client, toolset.name))) {
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
