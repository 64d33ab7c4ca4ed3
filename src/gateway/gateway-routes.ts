import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import {
  ErrorCode,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type JSONRPCRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { DomainError, isDomainError, notFound } from '../domain/errors.js';
import { takeOrRefuse, type RateLimit, type RateLimiter } from '../rate-limit/rate-limiter.js';
import type { GatewayClient, GatewayService, ServedToolset } from '../services/gateway-service.js';
import { InsufficientScope, TransportError, toGatewayFailure } from './errors.js';
import { resourceMetadataUrlOf, type McpTransport } from '../domain/oauth.js';
import { ACCESS_CLIENT_TOKEN_PREFIX } from '../services/access-client-service.js';
import { createOriginCheck } from './origin.js';
import { createSseStreams } from './sse-streams.js';
import {
  answerRequest,
  checkBatchAllowed,
  createAnswerBudget,
  initializeResult,
  isRequest,
  negotiateVersion,
  readMessages,
} from './protocol.js';
import { JSON_ONLY, unacceptedMediaType } from '../http/media-type.js';

/** What the gateway bounds on every transport (see the GATEWAY_* settings and ALLOWED_ORIGINS). */
export interface GatewayLimits {
  /** Messages in one JSON-RPC batch, on the protocol versions that have batches. */
  readonly maxBatchItems: number;
  /** Bytes of the answers to one HTTP request. */
  readonly maxAnswerBytes: number;
  /** Open SSE streams per access client on this node. */
  readonly maxStreamsPerClient: number;
  /** Origins browsers may call from, each `scheme://host[:port]`. */
  readonly allowedOrigins: readonly string[];
}

export interface GatewayExchangeOptions {
  readonly gateway: GatewayService;
  readonly rateLimiter: RateLimiter;
  /** Calls per second for clients without a rate limit of their own; undefined for none. */
  readonly defaultRateLimit: RateLimit | undefined;
  readonly limits: GatewayLimits;
  /** The origin MCP endpoints are known by (PUBLIC_URL), for their protected resource metadata URLs. */
  readonly publicUrl: string;
}

export interface GatewayRouteOptions extends GatewayExchangeOptions {
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
/** How often the holders of open SSE streams are checked: a disabled client's stream ends within about this long. */
const STREAM_CHECK_MS = 1000;
/** The code the SDK's own server transport gives its HTTP-level refusals. */
const SERVER_ERROR = -32000;

export interface Params {
  workspaceId: string;
  toolset: string;
  /** Which endpoint of the toolset: Streamable HTTP (`/mcp/…`, when absent) or legacy SSE (`/sse/…`). */
  transport?: McpTransport;
}

/** Who is calling, which toolset, and what it costs: what every gateway request establishes first. */
interface Admitted {
  readonly client: GatewayClient;
  readonly toolset: ServedToolset;
  /** The session's client can be sent to a URL (URL-mode elicitation). */
  readonly elicitsUrl?: boolean;
}

const isObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);

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
export function createGatewayExchanges(options: GatewayExchangeOptions) {
  const { gateway, rateLimiter, defaultRateLimit, limits } = options;
  const originAllowed = createOriginCheck(limits.allowedOrigins);

  /** The 403 of a request sent by a page of an origin not allowed (see createOriginCheck); undefined for any other. */
  function refusedOrigin(headers: IncomingHttpHeaders): TransportError | undefined {
    if (originAllowed(headers.origin)) return undefined;
    return new TransportError(
      403,
      SERVER_ERROR,
      "Forbidden: this gateway takes no requests from pages of this origin (allowed: PUBLIC_URL's origin and ALLOWED_ORIGINS).",
    );
  }

  /**
   * The caller of a bearer token, if it may use the toolset: an access client (a static `pbac_` token) or a
   * user through an OAuth client (an access token issued for this endpoint); throws unauthenticated or forbidden.
   */
  async function identify(params: Params, authorization: string | undefined): Promise<GatewayClient> {
    const { workspaceId, toolset: name, transport } = params;
    const token = BEARER.exec(authorization ?? '')?.[1];
    const client =
      token === undefined
        ? undefined
        : token.startsWith(ACCESS_CLIENT_TOKEN_PREFIX)
          ? await gateway.authenticate(token)
          : await gateway.authenticateOAuth(token, workspaceId, name, transport);
    if (!client)
      throw new DomainError(
        'unauthenticated',
        'A valid token is required: an access-client token ("Authorization: Bearer pbac_…"), or an OAuth access token for this endpoint (see the WWW-Authenticate header).',
      );
    if (!gateway.allows(client, workspaceId, name))
      throw new DomainError(
        'forbidden',
        `Access client "${client.id}" may not use toolset "${name}" of workspace "${workspaceId}".`,
      );
    return client;
  }

  /** Spends one unit of the client's budget: undefined when spent, else the refusal and its Retry-After seconds. */
  async function charge(
    client: GatewayClient,
    log: GatewayRequest['log'],
  ): Promise<{ error: DomainError; retryAfter: string } | undefined> {
    const limit =
      client.rateLimit === null ? defaultRateLimit : { perSecond: client.rateLimit, burst: client.rateLimit };
    if (!limit) return undefined;
    const decision = await takeOrRefuse(rateLimiter, `gateway:${client.rateKey}`, limit, 'gateway', {
      error: (details, message) => log().error(details, message),
    });
    if (decision.allowed) return undefined;
    return {
      error: new DomainError(
        'rate-limited',
        `Too many calls ${client.user ? `by this user through OAuth client "${client.id}"` : `for access client "${client.id}"`}: at most ${limit.perSecond} per second.`,
      ),
      retryAfter: String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))),
    };
  }

  /**
   * Authenticates the bearer token, checks the toolset is the client's to call, and spends one unit of its
   * budget. Headers the answer must carry whatever happens next (Retry-After) are added to `headers`.
   */
  async function admit(
    request: Pick<GatewayRequest, 'params' | 'headers' | 'log'>,
    headers: Record<string, string>,
  ): Promise<Admitted> {
    const client = await identify(request.params, request.headers.authorization);
    const refused = await charge(client, request.log);
    if (refused) {
      headers['retry-after'] = refused.retryAfter;
      throw refused.error;
    }
    const { workspaceId, toolset: name } = request.params;
    const toolset = await gateway.toolset(workspaceId, name);
    if (!toolset) throw notFound(`Toolset "${name}" in workspace "${workspaceId}"`);
    return { client, toolset };
  }

  /**
   * Whether whoever opened a stream would still be let in: the token still names the same active client, which
   * may use the toolset, and the same toolset still exists (a client or toolset deleted and created again under
   * its names is another one). A failure of the store is no verdict: the stream stays.
   */
  async function stillAdmitted(params: Params, authorization: string | undefined, opened: Admitted): Promise<boolean> {
    try {
      const client = await identify(params, authorization);
      const toolset = await gateway.toolset(params.workspaceId, params.toolset);
      return client.uid === opened.client.uid && toolset?.uid === opened.toolset.uid;
    } catch (error) {
      return !isDomainError(error);
    }
  }

  /** The gateway's one way of answering a failure that is not a single request's JSON-RPC error. */
  function failure(
    error: unknown,
    request: Pick<GatewayRequest, 'requestId' | 'log'> & { params?: Params },
    headers: Record<string, string> = {},
  ): GatewayAnswer {
    const metadata = request.params
      ? resourceMetadataUrlOf(
          options.publicUrl,
          request.params.workspaceId,
          request.params.toolset,
          request.params.transport,
        )
      : undefined;
    const failed = toGatewayFailure(error, request.requestId, false, metadata);
    if (failed.status >= 500) request.log().error({ err: error }, 'gateway failure');
    return json(failed.status, { jsonrpc: '2.0', error: failed.error, id: null }, { ...headers, ...failed.headers });
  }

  /**
   * A user's token reaches only what its scopes and their role allow: `tools/call` needs `mcp:call`, anything
   * else `mcp:read` or `mcp:call`. Checked for the whole HTTP request before any of it runs: its 403 says which
   * scope to ask for (RFC 6750 §3.1, MCP's step-up authorization).
   */
  function checkScopes(client: GatewayClient, messages: readonly JSONRPCMessage[]): void {
    const caller = client.user;
    if (!caller) return;
    const calls = messages.some((m) => isRequest(m) && m.method === 'tools/call');
    if (calls && !caller.scopes.includes('mcp:call')) throw new InsufficientScope('mcp:call', caller.role);
    if (caller.scopes.length === 0) throw new InsufficientScope('mcp:read', caller.role);
  }

  /** The log line of each tool a user called through an OAuth client: who, with which client, which tool. */
  function logCalls(
    admitted: Admitted,
    messages: readonly JSONRPCMessage[],
    log: GatewayRequest['log'],
    requestId: string,
  ): void {
    const caller = admitted.client.user;
    if (!caller) return;
    for (const m of messages) {
      if (!isRequest(m) || m.method !== 'tools/call') continue;
      const tool = (m.params as { name?: unknown } | undefined)?.name;
      log().info(
        {
          userId: caller.userId,
          clientId: caller.clientId,
          grantId: caller.grantId,
          workspaceId: admitted.toolset.workspaceId,
          toolset: admitted.toolset.name,
          tool: typeof tool === 'string' ? tool : null,
        },
        'tool call by an OAuth client',
      );
      if (typeof tool === 'string')
        gateway
          .recordCall(admitted.client, admitted.toolset, tool, requestId)
          .catch((error: unknown) => log().warn({ err: error }, 'could not audit a tool call by an OAuth client'));
    }
  }

  /**
   * The serialised answers to the requests among `messages`, within one answer budget (GATEWAY_MAX_ANSWER_BYTES).
   * The HTTP request's admission paid for the first request; each further one of a batch pays a unit of its
   * own, in order, and those the client's budget does not cover are answered with the rate limit's error
   * instead of running. Never throws.
   */
  async function answerAll(
    admitted: Admitted,
    messages: JSONRPCMessage[],
    request: Pick<GatewayRequest, 'requestId' | 'log'>,
  ): Promise<string[]> {
    const fit = createAnswerBudget(limits.maxAnswerBytes);
    const { client } = admitted;
    if (messages.length === 1)
      return isRequest(messages[0]!)
        ? [fit(await answerRequest(gateway, admitted, messages[0], request.requestId))]
        : [];
    const requests = messages.filter(isRequest);
    let paid = Math.min(1, requests.length);
    let refusal: unknown;
    while (paid < requests.length && refusal === undefined) {
      try {
        refusal = (await charge(client, request.log))?.error;
      } catch (error) {
        refusal = error;
      }
      if (refusal === undefined) paid++;
    }
    const refused = (message: JSONRPCRequest) =>
      fit({ jsonrpc: '2.0', id: message.id, error: toGatewayFailure(refusal, request.requestId, true).error });
    return Promise.all(
      requests.map((message, i) =>
        i < paid
          ? answerRequest(gateway, admitted, message, request.requestId).then(fit)
          : Promise.resolve(refused(message)),
      ),
    );
  }

  /** POST: initialize opens a session; anything else needs one. Never throws. */
  async function post(request: GatewayRequest): Promise<GatewayAnswer> {
    const headers: Record<string, string> = {};
    try {
      const origin = refusedOrigin(request.headers);
      if (origin) throw origin;
      if (unacceptedMediaType(request.headers, JSON_ONLY, { required: true }) !== undefined)
        throw new TransportError(
          415,
          ErrorCode.InvalidRequest,
          'Unsupported Media Type: Content-Type must be application/json.',
        );
      const admitted = await admit(request, headers);
      const accept = request.headers.accept ?? '*/*';
      if (!/application\/json|\*\/\*|application\/\*/i.test(accept)) {
        throw new TransportError(
          406,
          ErrorCode.ConnectionClosed,
          'Not Acceptable: this server answers with application/json.',
        );
      }
      const { messages, batch } = readMessages(request.body, limits.maxBatchItems);
      checkScopes(admitted.client, messages);
      const initialize = messages.find((m) => isRequest(m) && m.method === 'initialize') as
        | (JSONRPCMessage & {
            id: string | number;
            params?: { protocolVersion?: unknown; capabilities?: { elicitation?: { url?: unknown } } };
          })
        | undefined;
      if (initialize) {
        if (messages.length > 1)
          throw new TransportError(
            400,
            ErrorCode.InvalidRequest,
            'Invalid Request: initialize must be sent on its own.',
          );
        const version = negotiateVersion(initialize.params?.protocolVersion);
        checkBatchAllowed(batch, version);
        const elicitsUrl = isObject(initialize.params?.capabilities?.elicitation?.url);
        headers[SESSION_HEADER] = gateway.sessions.open(admitted.client, admitted.toolset, version, elicitsUrl);
        const answer = { jsonrpc: '2.0', id: initialize.id, result: initializeResult(version, admitted.toolset) };
        return json(200, batch ? [answer] : answer, headers);
      }
      const sessionId = request.headers[SESSION_HEADER];
      if (typeof sessionId !== 'string' || sessionId === '') {
        throw new TransportError(
          400,
          ErrorCode.ConnectionClosed,
          'Bad Request: Mcp-Session-Id header is required (send initialize first).',
        );
      }
      const claims = await gateway.sessions.check(sessionId, admitted.client, admitted.toolset);
      if (!claims) throw new TransportError(404, ErrorCode.RequestTimeout, 'Session not found.');
      const version = request.headers[VERSION_HEADER];
      if (typeof version === 'string' && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
        throw new TransportError(
          400,
          ErrorCode.ConnectionClosed,
          `Bad Request: unsupported protocol version ${version} (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}).`,
        );
      }
      // Without the header, the version the session was opened with: leaving it out does not bring batches back.
      checkBatchAllowed(batch, typeof version === 'string' ? version : claims.protocolVersion);
      logCalls(admitted, messages, () => request.log(), request.requestId);
      const answers = await answerAll({ ...admitted, elicitsUrl: claims.elicitsUrl === true }, messages, request);
      if (answers.length === 0) return { status: 202, headers };
      return {
        status: 200,
        headers: { ...headers, ...JSON_HEADERS },
        body: batch ? `[${answers.join(',')}]` : answers[0],
      };
    } catch (error) {
      return failure(error, request, headers);
    }
  }

  return { admit, answerAll, checkScopes, failure, logCalls, post, refusedOrigin, stillAdmitted };
}

export type GatewayExchanges = ReturnType<typeof createGatewayExchanges>;

/** The endpoint a request reached: the legacy SSE routes are under /sse, Streamable HTTP under /mcp. */
const paramsOf = (request: FastifyRequest): Params => {
  const { workspaceId, toolset } = request.params as Params;
  return { workspaceId, toolset, transport: request.routeOptions.url?.startsWith('/sse/') ? 'sse' : 'mcp' };
};

const fromFastify = (request: FastifyRequest): GatewayRequest => ({
  params: paramsOf(request),
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
  const { gateway, exchanges, limits } = options;
  const streams = createSseStreams({
    maxPerClient: limits.maxStreamsPerClient,
    checkMs: STREAM_CHECK_MS,
    keepAliveSeconds: options.sseKeepAliveSeconds,
  });

  // Bodies arrive as text: a malformed one is a JSON-RPC parse error, not a Fastify 400.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.setErrorHandler((error, request, reply) => send(reply, exchanges.failure(error, fromFastify(request))));
  // Before anything else on every route of the gateway, the 405 included (the fast path checks in exchanges.post).
  app.addHook('onRequest', (request, _reply, done) => done(exchanges.refusedOrigin(request.headers)));
  app.addHook('preClose', async () => streams.closeAll());

  async function admit(request: FastifyRequest, reply: FastifyReply): Promise<Admitted> {
    const headers: Record<string, string> = {};
    try {
      return await exchanges.admit(fromFastify(request), headers);
    } finally {
      reply.headers(headers);
    }
  }

  // ---- Streamable HTTP ----------------------------------------------------------------------------------

  app.post('/mcp/:workspaceId/:toolset', hidden, async (request, reply) =>
    send(reply, await exchanges.post(fromFastify(request))),
  );

  // No server-initiated messages: the standalone SSE stream is not offered, which MCP allows with 405.
  app.get('/mcp/:workspaceId/:toolset', hidden, async (_request, reply) =>
    send(
      reply,
      json(
        405,
        {
          jsonrpc: '2.0',
          error: { code: -32000, message: 'Method Not Allowed: this server sends no messages of its own.' },
          id: null,
        },
        { allow: 'POST, DELETE' },
      ),
    ),
  );

  app.delete('/mcp/:workspaceId/:toolset', hidden, async (request, reply) => {
    const { client, toolset } = await admit(request, reply);
    const sessionId = request.headers[SESSION_HEADER];
    if (typeof sessionId !== 'string' || sessionId === '')
      throw new TransportError(400, ErrorCode.ConnectionClosed, 'Bad Request: Mcp-Session-Id header is required.');
    const claims = await gateway.sessions.check(sessionId, client, toolset);
    if (!claims) throw new TransportError(404, ErrorCode.RequestTimeout, 'Session not found.');
    await gateway.sessions.end(sessionId, claims);
    return reply.code(200).send();
  });

  // ---- Legacy HTTP+SSE (protocol 2024-11-05) -----------------------------------------------------------

  app.get('/sse/:workspaceId/:toolset', hidden, async (request, reply) => {
    const { client, toolset } = await admit(request, reply);
    const params = paramsOf(request);
    const { authorization } = request.headers;
    const clientKey = `${client.workspaceId}\u0000${client.id}`;
    if (!streams.hasRoom(clientKey)) {
      throw new TransportError(
        429,
        SERVER_ERROR,
        `Too many streams: access client "${client.id}" may have at most ${limits.maxStreamsPerClient} open SSE streams on this server; close one first.`,
      );
    }
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
    streams.add(sessionId, response, {
      clientKey,
      grantKey: `${authorization}\u0000${client.uid}\u0000${toolset.uid}`,
      stillAdmitted: () => exchanges.stillAdmitted(params, authorization, { client, toolset }),
    });
  });

  app.post('/sse/:workspaceId/:toolset/messages', hidden, async (request, reply) => {
    const admitted = await admit(request, reply);
    const sessionId = (request.query as { sessionId?: unknown }).sessionId;
    if (typeof sessionId !== 'string' || sessionId === '')
      throw new TransportError(
        400,
        ErrorCode.ConnectionClosed,
        'Bad Request: the sessionId query parameter is required.',
      );
    const stream = streams.responseOf(sessionId);
    const claims = stream ? await gateway.sessions.check(sessionId, admitted.client, admitted.toolset) : undefined;
    if (!stream || !claims) {
      throw new TransportError(
        404,
        ErrorCode.RequestTimeout,
        'Session not found: the SSE stream of this session is not open on this server.',
      );
    }
    const { messages, batch } = readMessages(
      typeof request.body === 'string' ? request.body : '',
      limits.maxBatchItems,
    );
    checkBatchAllowed(batch, claims.protocolVersion);
    exchanges.checkScopes(admitted.client, messages);
    exchanges.logCalls(admitted, messages, () => request.log, request.id);
    reply.code(202).send('Accepted');
    for (const answer of await exchanges.answerAll(admitted, messages, fromFastify(request))) {
      if (!stream.writableEnded) stream.write(`event: message\ndata: ${answer}\n\n`);
    }
    return reply;
  });
}
