import { Pool, type Dispatcher } from 'undici';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ToolOperation } from '../openapi/convert-openapi.js';

/** An API key as a toolset's authConfig places it into every upstream request. */
export interface UpstreamCredential {
  readonly in: 'header' | 'query';
  readonly key: string;
  readonly value: string;
}

export interface UpstreamCall {
  readonly operation: ToolOperation;
  /** Replaces the document's server URL when set (the toolset's `spec.baseUrl`). */
  readonly baseUrl: string | null;
  readonly credential: UpstreamCredential | null;
  readonly arguments: Readonly<Record<string, unknown>>;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
}

const MAX_POOLS = 512;

const failure = (text: string): CallToolResult => ({ content: [{ type: 'text', text }], isError: true });

/** A query or header value as text: scalars as they are, arrays and objects as JSON. */
const asText = (value: unknown) => (typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value));

/** The URL and body of one call: path parameters substituted, query parameters appended, the body assembled. */
function buildRequest(call: UpstreamCall): { url: URL; headers: Record<string, string>; body: Buffer | null } | string {
  const { operation, arguments: args } = call;
  const base = call.baseUrl ?? operation.serverUrl;
  if (base === null || !/^https?:\/\//i.test(base)) {
    return `The toolset has no absolute server URL for ${operation.method.toUpperCase()} ${operation.path}: set spec.baseUrl, or a server URL in the document.`;
  }
  let path = operation.path;
  const headers: Record<string, string> = { accept: 'application/json, */*;q=0.5' };
  const query: [string, string][] = [];
  const used = new Set<string>();
  for (const parameter of operation.parameters) {
    used.add(parameter.name);
    const value = args[parameter.name];
    if (value === undefined || value === null) continue;
    if (parameter.in === 'path') path = path.split(`{${parameter.name}}`).join(encodeURIComponent(asText(value)));
    else if (parameter.in === 'query') {
      for (const item of Array.isArray(value) ? value : [value]) query.push([parameter.name, asText(item)]);
    } else headers[parameter.name.toLowerCase()] = asText(value);
  }
  const url = new URL(base.replace(/\/+$/, '') + path);
  for (const [name, value] of query) url.searchParams.append(name, value);
  if (call.credential?.in === 'query') url.searchParams.set(call.credential.key, call.credential.value);
  if (call.credential?.in === 'header') headers[call.credential.key.toLowerCase()] = call.credential.value;

  let body: Buffer | null = null;
  if (operation.body) {
    const value = operation.body.property === null ? Object.fromEntries(Object.entries(args).filter(([name]) => !used.has(name))) : args[operation.body.property];
    if (value !== undefined) {
      const type = operation.body.contentType;
      headers['content-type'] = type;
      if (/json/i.test(type)) body = Buffer.from(JSON.stringify(value));
      else if (type === 'application/x-www-form-urlencoded' && typeof value === 'object' && value !== null) {
        body = Buffer.from(new URLSearchParams(Object.entries(value).map(([k, v]): [string, string] => [k, asText(v)])).toString());
      } else body = Buffer.from(asText(value));
    }
  }
  return { url, headers, body };
}

/**
 * Calls the upstream operation behind a tool and turns its answer into a tool result: the body as text,
 * plus `structuredContent` when it is a JSON object. Every failure (a 4xx or 5xx, a refused connection, a
 * timeout) comes back as an `isError` result. Messages name the operation, never the URL: with a query
 * credential the URL holds the secret.
 */
export interface UpstreamClient {
  call(call: UpstreamCall): Promise<CallToolResult>;
  /** Closes every kept-alive upstream connection. */
  close(): Promise<void>;
}

/**
 * Keep-alive connection pools to upstreams, one per origin. undici's client costs a fraction of node:http's
 * per request, which matters on a path that adds one upstream call to each of its own.
 */
export function createUpstreamClient(): UpstreamClient {
  const pools = new Map<string, Pool>();
  const poolOf = (origin: string): Pool => {
    let pool = pools.get(origin);
    if (!pool) {
      if (pools.size >= MAX_POOLS) {
        const [oldest, idle] = pools.entries().next().value!;
        pools.delete(oldest);
        void idle.close();
      }
      pool = new Pool(origin, { connections: 256, keepAliveTimeout: 30_000 });
      pools.set(origin, pool);
    }
    return pool;
  };
  return {
    call: (call) => callOpenApiTool(poolOf, call),
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((pool) => pool.close()));
    },
  };
}

async function callOpenApiTool(poolOf: (origin: string) => Pool, call: UpstreamCall): Promise<CallToolResult> {
  const built = buildRequest(call);
  if (typeof built === 'string') return failure(built);
  const { url, headers, body } = built;
  const what = `${call.operation.method.toUpperCase()} ${call.operation.path}`;
  try {
    const response = await poolOf(url.origin).request({
      path: `${url.pathname}${url.search}`,
      method: call.operation.method.toUpperCase() as Dispatcher.HttpMethod,
      headers,
      body,
      // Timers of undici's own (no AbortSignal per call): the answer must start, and then keep coming, in time.
      headersTimeout: call.timeoutMs,
      bodyTimeout: call.timeoutMs,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > call.maxResponseBytes) {
        response.body.destroy();
        return failure(`The upstream answer to ${what} is larger than ${call.maxResponseBytes} bytes.`);
      }
      chunks.push(chunk);
    }
    return resultOf(response.statusCode, response.headers['content-type'], Buffer.concat(chunks).toString('utf8'), what);
  } catch (error) {
    const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string } };
    if (e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') return failure(`The upstream did not answer ${what} within ${call.timeoutMs} ms.`);
    return failure(`The upstream could not be reached for ${what}: ${e.code ?? e.cause?.code ?? e.message ?? 'unknown error'}.`);
  }
}

function resultOf(status: number, contentType: string | string[] | undefined, text: string, what: string): CallToolResult {
  if (status < 200 || status >= 300) {
    return failure(`The upstream answered ${what} with ${status}${text === '' ? '.' : `: ${text}`}`);
  }
  const type = Array.isArray(contentType) ? contentType.join(',') : (contentType ?? '');
  let structured: unknown;
  if (/json/i.test(type) && text !== '') {
    try {
      structured = JSON.parse(text);
    } catch {
      structured = undefined;
    }
  }
  const result: CallToolResult = { content: [{ type: 'text', text }] };
  // structuredContent must be an object; an array or a scalar stays in the text only.
  if (structured !== null && typeof structured === 'object' && !Array.isArray(structured)) result.structuredContent = structured as Record<string, unknown>;
  return result;
}
