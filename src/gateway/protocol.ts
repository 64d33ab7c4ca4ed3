import {
  ErrorCode,
  JSONRPCMessageSchema,
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  type CallToolResult,
  type JSONRPCMessage,
  type JSONRPCRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { parseJsonInput } from '../domain/json-input.js';
import { VERSION_INFO } from '../services/version-info.js';
import {
  connectUrlOf,
  type GatewayClient,
  type GatewayService,
  type ServedToolset,
} from '../services/gateway-service.js';
import { TransportError, toGatewayFailure } from './errors.js';

/** A JSON-RPC answer to one request: a result or an error, with the request's id. */
export type RpcAnswer =
  | { jsonrpc: '2.0'; id: string | number; result: Record<string, unknown> }
  | { jsonrpc: '2.0'; id: string | number; error: { code: number; message: string; data?: unknown } };

export const isRequest = (message: JSONRPCMessage): message is JSONRPCRequest => 'method' in message && 'id' in message;

/** The protocol version a server answers `initialize` with: the client's when supported, else the latest. */
export function negotiateVersion(requested: unknown): string {
  return typeof requested === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(requested)
    ? requested
    : LATEST_PROTOCOL_VERSION;
}

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);

/**
 * Whether a parsed value is a JSON-RPC request the SDK's schema certainly accepts as it is: the shape of nearly
 * every message a client sends. Checking it by hand costs a fraction of the schema; anything else (params
 * with `_meta`, notifications, responses, mistakes) goes through the schema for its verdict.
 */
export function isPlainRequest(value: unknown): value is JSONRPCRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const message = value as Record<string, unknown>;
  for (const key in message) if (!REQUEST_KEYS.has(key)) return false;
  const { id, params } = message;
  return (
    message.jsonrpc === '2.0' &&
    typeof message.method === 'string' &&
    (typeof id === 'string' || Number.isSafeInteger(id)) &&
    (params === undefined ||
      (typeof params === 'object' && params !== null && !Array.isArray(params) && !('_meta' in params)))
  );
}

/** The first protocol version without JSON-RPC batches: its revision of the transports removed them. */
const BATCHES_REMOVED_IN = '2025-06-18';

/** Refuses a batch on a protocol version that has none (versions are dates, so they compare as text). */
export function checkBatchAllowed(batch: boolean, protocolVersion: string): void {
  if (batch && protocolVersion >= BATCHES_REMOVED_IN) {
    throw new TransportError(
      400,
      ErrorCode.InvalidRequest,
      `Invalid Request: JSON-RPC batches are not part of protocol version ${protocolVersion} (removed in ${BATCHES_REMOVED_IN}); send one message per request.`,
    );
  }
}

/**
 * Reads a POSTed body into JSON-RPC messages (one, or a batch of at most `maxBatchItems`), each checked
 * against the SDK's schema. Throws a TransportError with the JSON-RPC code a parse or shape failure gets; JSON
 * nested too deep or holding U+0000 is the validation failure every edge gives it.
 */
export function readMessages(text: string, maxBatchItems: number): { messages: JSONRPCMessage[]; batch: boolean } {
  let parsed: unknown;
  try {
    parsed = parseJsonInput(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new TransportError(400, ErrorCode.ParseError, 'Parse error: the body is not valid JSON.');
  }
  const batch = Array.isArray(parsed);
  const items = batch ? (parsed as unknown[]) : [parsed];
  if (items.length === 0) throw new TransportError(400, ErrorCode.InvalidRequest, 'Invalid Request: an empty batch.');
  // Refused whole and before any item is looked at: each item is work the gateway would do.
  if (items.length > maxBatchItems) {
    throw new TransportError(
      413,
      ErrorCode.InvalidRequest,
      `Invalid Request: a batch of ${items.length} messages; this server takes at most ${maxBatchItems} in one.`,
    );
  }
  const messages = items.map((item) => {
    if (isPlainRequest(item)) return item;
    const checked = JSONRPCMessageSchema.safeParse(item);
    if (!checked.success)
      throw new TransportError(400, ErrorCode.InvalidRequest, 'Invalid Request: not a JSON-RPC 2.0 message.');
    return checked.data;
  });
  return { messages, batch };
}

/** The `initialize` result: tools only, no resources or prompts. */
export function initializeResult(protocolVersion: string, toolset: ServedToolset): Record<string, unknown> {
  return {
    protocolVersion,
    capabilities: { tools: { listChanged: false } },
    serverInfo: { name: `plugboard/${toolset.name}`, version: VERSION_INFO.version },
    instructions: `Tools of the "${toolset.name}" toolset, served by plugboard; each calls its upstream API with credentials kept on the server.`,
  };
}

const ok = (id: string | number, result: Record<string, unknown>): RpcAnswer => ({ jsonrpc: '2.0', id, result });

/**
 * A tool call that needs the person to open a connect link first, for a client that declared URL-mode elicitation:
 * the URLElicitationRequiredError of MCP 2025-11-25 (-32042), carrying the link and the tool error's words. The
 * client shows the link, and calls the tool again once the person has connected.
 */
function urlElicitationRequired(id: string | number, result: CallToolResult, url: string): RpcAnswer {
  const message = (result.content[0] as { text?: string } | undefined)?.text ?? 'Connect your account first.';
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: ErrorCode.UrlElicitationRequired,
      message,
      data: { elicitations: [{ mode: 'url', elicitationId: randomUUID(), url, message }] },
    },
  };
}

/**
 * Answers one request of an established session. Never throws: a failure becomes the JSON-RPC error of this
 * request (an unknown tool or bad arguments are the caller's -32602), so one bad call never breaks a session.
 */
export async function answerRequest(
  gateway: GatewayService,
  {
    client,
    toolset,
    elicitsUrl,
  }: { readonly client: GatewayClient; readonly toolset: ServedToolset; readonly elicitsUrl?: boolean },
  request: JSONRPCRequest,
  requestId: string,
): Promise<RpcAnswer> {
  try {
    switch (request.method) {
      case 'ping':
        return ok(request.id, {});
      case 'initialize':
        // A second initialize inside a session: answered again, the session stays as it is.
        return ok(
          request.id,
          initializeResult(
            negotiateVersion((request.params as { protocolVersion?: unknown } | undefined)?.protocolVersion),
            toolset,
          ),
        );
      case 'tools/list': {
        const cursor = (request.params as { cursor?: unknown } | undefined)?.cursor;
        if (cursor !== undefined && typeof cursor !== 'string')
          throw new TransportError(200, ErrorCode.InvalidParams, 'Invalid params: "cursor" must be a string.');
        return ok(request.id, { ...gateway.listTools(toolset, client, cursor) });
      }
      case 'tools/call': {
        const params = (request.params ?? {}) as { name?: unknown; arguments?: unknown };
        if (typeof params.name !== 'string')
          throw new TransportError(200, ErrorCode.InvalidParams, 'Invalid params: "name" must be a string.');
        const args = params.arguments ?? {};
        if (typeof args !== 'object' || args === null || Array.isArray(args)) {
          throw new TransportError(200, ErrorCode.InvalidParams, 'Invalid params: "arguments" must be an object.');
        }
        const result = await gateway.callTool(toolset, client, params.name, args as Record<string, unknown>, requestId);
        const connectUrl = elicitsUrl ? connectUrlOf(result) : undefined;
        if (connectUrl !== undefined) return urlElicitationRequired(request.id, result, connectUrl);
        return ok(request.id, result);
      }
      default:
        return {
          jsonrpc: '2.0',
          id: request.id,
          error: { code: ErrorCode.MethodNotFound, message: `Method not found: ${request.method}` },
        };
    }
  } catch (error) {
    return { jsonrpc: '2.0', id: request.id, error: toGatewayFailure(error, requestId, true).error };
  }
}

/**
 * Serialises the answers of one HTTP answer (or one SSE POST) within `maxBytes`: each answer as soon as it is
 * ready, so that no more than the budget plus one answer is ever built. An answer that would not fit is
 * replaced by a short error of its own id; the client can ask again with fewer requests at once.
 */
export function createAnswerBudget(maxBytes: number) {
  let used = 0;
  return (answer: RpcAnswer): string => {
    const text = JSON.stringify(answer);
    const size = Buffer.byteLength(text);
    if (used + size <= maxBytes) {
      used += size;
      return text;
    }
    const refused = JSON.stringify({
      jsonrpc: '2.0',
      id: answer.id,
      error: {
        code: ErrorCode.InternalError,
        message: `The answer to this request would make the gateway's answer larger than ${maxBytes} bytes; send it on its own or ask for less.`,
      },
    });
    used += Buffer.byteLength(refused);
    return refused;
  };
}
