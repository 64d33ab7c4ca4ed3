import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../http/metrics.js';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { TransportError } from './errors.js';
import type { GatewayAnswer, GatewayExchanges, Params } from './gateway-routes.js';

export interface FastPathOptions {
  readonly exchanges: GatewayExchanges;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly bodyLimit: number;
  readonly nodeId: string;
  /** The request id of a request: the caller's X-Request-Id when well-formed, else a new one (as Fastify's genReqId). */
  readonly requestIdOf: (request: IncomingMessage) => string;
  readonly isDraining: () => boolean;
  /** True once the server closes: requests then go to Fastify, which answers 503. */
  readonly isClosing: () => boolean;
}

/** The route template the fast path serves, as Fastify's metrics and request log name it. */
const ROUTE = '/mcp/:workspaceId/:toolset';
/** Fastify's router refuses longer path parameters; such requests are left to it, so they get its answer. */
const MAX_PARAM_LENGTH = 100;

/** `{workspaceId, toolset}` of `/mcp/{workspaceId}/{toolset}[?…]`, or undefined for any other path. */
function paramsOf(url: string): Params | undefined {
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  const slash = path.indexOf('/', 5);
  if (slash < 0 || path.indexOf('/', slash + 1) >= 0) return undefined;
  const workspaceId = path.slice(5, slash);
  const toolset = path.slice(slash + 1);
  if (
    workspaceId === '' ||
    toolset === '' ||
    workspaceId.length > MAX_PARAM_LENGTH ||
    toolset.length > MAX_PARAM_LENGTH
  )
    return undefined;
  if (workspaceId.includes('%') || toolset.includes('%')) {
    try {
      return { workspaceId: decodeURIComponent(workspaceId), toolset: decodeURIComponent(toolset) };
    } catch {
      return undefined;
    }
  }
  return { workspaceId, toolset };
}

/**
 * `POST /mcp/{workspaceId}/{toolset}` straight on node:http, ahead of Fastify: the one route that carries every
 * tool call, where Fastify's routing, hooks and reply machinery cost more CPU than the gateway's own work. It
 * answers through the same {@link GatewayExchanges} as the Fastify route, and keeps what the server's global
 * hooks do for every other request: X-Request-Id and X-Plugboard-Node, `Connection: close` while draining,
 * the body limit, the request log line and the request metrics. Returns false for any request it does not
 * take (every other route, a malformed path, a closing server), which then goes to Fastify.
 */
export function createFastPath(
  options: FastPathOptions,
): (request: IncomingMessage, response: ServerResponse) => boolean {
  const { exchanges, logger, metrics, nodeId } = options;
  // Metric children by status: resolving labels on every request costs more than the observation itself.
  const counters = new Map<
    number,
    { requests: ReturnType<Metrics['requests']['labels']>; duration: ReturnType<Metrics['duration']['labels']> }
  >();
  const metricsOf = (status: number) => {
    let children = counters.get(status);
    if (!children) {
      const labels = { method: 'POST', route: ROUTE, status: String(status) };
      children = { requests: metrics.requests.labels(labels), duration: metrics.duration.labels(labels) };
      counters.set(status, children);
    }
    return children;
  };

  function answer(response: ServerResponse, requestId: string, started: number, reply: GatewayAnswer) {
    const headers: Record<string, string> = { ...reply.headers, 'x-request-id': requestId, 'x-plugboard-node': nodeId };
    if (options.isDraining()) headers.connection = 'close';
    if (reply.body === undefined) headers['content-length'] = '0';
    response.writeHead(reply.status, headers);
    // One string: node:http sends it in the same write as the headers.
    response.end(reply.body);
    const ms = performance.now() - started;
    const children = metricsOf(reply.status);
    children.requests.inc();
    children.duration.observe(ms / 1000);
    if (logger.isLevelEnabled('info'))
      logger.info(
        { requestId, method: 'POST', route: ROUTE, status: reply.status, ms: Math.round(ms * 100) / 100 },
        'request',
      );
  }

  return (request, response) => {
    if (request.method !== 'POST' || !request.url!.startsWith('/mcp/') || options.isClosing()) return false;
    const params = paramsOf(request.url!);
    if (!params) return false;
    const started = performance.now();
    const requestId = options.requestIdOf(request);
    // Bound as Fastify binds its request loggers, so that a failure's line carries the request's id.
    let child: Logger | undefined;
    const log = () => (child ??= logger.child({ reqId: requestId }));
    const declared = Number(request.headers['content-length'] ?? 0);
    // The rest of the body is not read: the connection closes after the answer.
    const tooLarge = () => {
      const refused = exchanges.failure(
        new TransportError(413, ErrorCode.InvalidRequest, 'The request body is too large.'),
        { requestId, log },
      );
      return { ...refused, headers: { ...refused.headers, connection: 'close' } };
    };
    if (declared > options.bodyLimit) {
      answer(response, requestId, started, tooLarge());
      request.resume();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > options.bodyLimit) {
        refused = true;
        answer(response, requestId, started, tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (refused) return;
      const body = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      exchanges.post({ params, headers: request.headers, body, requestId, log }).then(
        (reply) => answer(response, requestId, started, reply),
        (error: unknown) => answer(response, requestId, started, exchanges.failure(error, { requestId, log })),
      );
    });
    request.on('error', () => response.destroy());
    return true;
  };
}
