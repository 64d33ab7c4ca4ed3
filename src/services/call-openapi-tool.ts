import { Pool } from 'undici';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { credentialSpellings, redactSpellings } from '../domain/redact-credential.js';
import { egressConnector } from '../egress/egress-connect.js';
import { EgressRefused, type EgressPolicy } from '../egress/egress-policy.js';
import type { ToolOperation } from '../openapi/tool-operation.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../domain/json-input.js';

/** An API key as a toolset's authConfig places it into every upstream request. */
export interface UpstreamCredential {
  readonly in: 'header' | 'query';
  readonly key: string;
  readonly value: string;
  /** The only origin the credential may go to (a connection's OAuth token: its connector's baseUrl). */
  readonly onlyTo?: string;
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

const spellingsOf = new WeakMap<UpstreamCredential, readonly string[]>();

/**
 * Text from the upstream (its body, its error) without the credential the call injected: an upstream that
 * reflects the request (headers in an error page, the URL with its query) would otherwise hand it to the client.
 */
export function redactCredential(text: string, credential: UpstreamCredential | null): string {
  if (credential === null) return text;
  let spellings = spellingsOf.get(credential);
  if (!spellings) spellingsOf.set(credential, (spellings = credentialSpellings(credential.value)));
  return redactSpellings(text, spellings);
}

const failure = (text: string): CallToolResult => ({ content: [{ type: 'text', text }], isError: true });

/** The HTTP status an upstream answered a call with, kept beside its result (the refresh engine retries a 401). */
const statusOf = new WeakMap<CallToolResult, number>();
export const upstreamStatusOf = (result: CallToolResult): number | undefined => statusOf.get(result);

/** A query or header value as text: scalars as they are, arrays and objects as JSON. */
const asText = (value: unknown): string => {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  // Arguments are parsed JSON, so what is left is null, an array or an object.
  return JSON.stringify(value) ?? '';
};

/** Characters a path may hold as they are; a template with anything else is normalised by the URL parser. */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9\-_~!$&'()*+,;=:@%]*(?:\.[A-Za-z0-9\-_~!$&'()*+,;=:@%]+)*)*$/;

/** A path parameter's value: percent-encoded, and never a `.` or `..` segment that would move up the path. */
const pathValue = (value: unknown) => {
  const text = asText(value);
  return text === '.' || text === '..' ? text.replace(/\./g, '%2E') : encodeURIComponent(text);
};

interface Origin {
  /** scheme://host[:port] */
  readonly origin: string;
  /** The base URL's path without its trailing slashes; '' for the root. */
  readonly path: string;
}

const ORIGIN_LIMIT = 1024;
const origins = new Map<string, Origin | null>();

/** A server URL taken apart once (the same few serve every call); null when it is not absolute http(s) or has a query. */
function originOf(base: string): Origin | null {
  let known = origins.get(base);
  if (known !== undefined) return known;
  known = null;
  if (/^https?:\/\//i.test(base)) {
    try {
      const url = new URL(base.replace(/\/+$/, ''));
      if (url.search === '' && url.hash === '' && url.username === '' && url.password === '')
        known = { origin: url.origin, path: url.pathname.replace(/\/+$/, '') };
    } catch {
      known = null;
    }
  }
  if (origins.size >= ORIGIN_LIMIT) origins.delete(origins.keys().next().value!);
  origins.set(base, known);
  return known;
}

const namesOf = new WeakMap<ToolOperation, ReadonlySet<string>>();

/** The names of an operation's parameters: the arguments that are not part of a body made of the rest. */
function parameterNames(operation: ToolOperation): ReadonlySet<string> {
  let names = namesOf.get(operation);
  if (!names) namesOf.set(operation, (names = new Set(operation.parameters.map((p) => p.name))));
  return names;
}

interface BuiltRequest {
  readonly origin: string;
  /** Path and query, as sent. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | null;
}

/** The URL and body of one call: path parameters substituted, query parameters appended, the body assembled. */
function buildRequest(call: UpstreamCall): BuiltRequest | string {
  const { operation, arguments: args } = call;
  const base = call.baseUrl ?? operation.serverUrl;
  const origin = base === null ? null : originOf(base);
  if (origin === null) {
    return `The toolset has no absolute server URL for ${operation.method.toUpperCase()} ${operation.path}: set spec.baseUrl (absolute http or https, without a query), or a server URL in the document.`;
  }
  if (call.credential?.onlyTo !== undefined && call.credential.onlyTo !== origin.origin)
    return `The toolset's upstream ${origin.origin} is not where its connection's token may go (${call.credential.onlyTo}, the connector's baseUrl): no call was made.`;
  let path = operation.path;
  const headers: Record<string, string> = { accept: 'application/json, */*;q=0.5' };
  let query: URLSearchParams | undefined;
  for (const parameter of operation.parameters) {
    const value = args[parameter.name];
    if (value === undefined || value === null) continue;
    if (parameter.in === 'path') path = path.split(`{${parameter.name}}`).join(pathValue(value));
    else if (parameter.in === 'query') {
      query ??= new URLSearchParams();
      for (const item of Array.isArray(value) ? value : [value]) query.append(parameter.name, asText(item));
    } else headers[parameter.name.toLowerCase()] = asText(value);
  }
  path = origin.path + path;
  // Templates are nearly always plain; anything else is percent-encoded and normalised as a URL would be.
  if (!PLAIN_PATH.test(path)) path = new URL(origin.origin + path).pathname;
  if (call.credential?.in === 'query')
    (query ??= new URLSearchParams()).set(call.credential.key, call.credential.value);
  if (call.credential?.in === 'header') headers[call.credential.key.toLowerCase()] = call.credential.value;

  let body: string | null = null;
  if (operation.body) {
    let value: unknown;
    if (operation.body.property !== null) value = args[operation.body.property];
    else {
      const rest: Record<string, unknown> = {};
      const used = parameterNames(operation);
      for (const name in args) if (!used.has(name)) rest[name] = args[name];
      value = rest;
    }
    if (value !== undefined) {
      const type = operation.body.contentType;
      headers['content-type'] = type;
      if (/json/i.test(type)) body = JSON.stringify(value);
      else if (type === 'application/x-www-form-urlencoded' && typeof value === 'object' && value !== null) {
        body = new URLSearchParams(Object.entries(value).map(([k, v]): [string, string] => [k, asText(v)])).toString();
      } else body = asText(value);
    }
  }
  return { origin: origin.origin, path: query ? `${path}?${query.toString()}` : path, headers, body };
}

/**
 * Calls the upstream operation behind a tool and turns its answer into a tool result: the body as text,
 * plus `structuredContent` when it is a JSON object. Every failure (a 4xx or 5xx, a refused connection, a
 * timeout) comes back as an `isError` result. Messages name the operation, never the URL: with a query
 * credential the URL holds the secret. Whatever the upstream sends back has the injected credential redacted.
 */
export interface UpstreamClient {
  call(call: UpstreamCall): Promise<CallToolResult>;
  /** Closes every kept-alive upstream connection. */
  close(): Promise<void>;
}

/**
 * Keep-alive connection pools to upstreams, one per origin. undici's client costs a fraction of node:http's
 * per request, which matters on a path that adds one upstream call to each of its own. Every connection a
 * pool opens goes through the egress policy, to the address it checked.
 */
export function createUpstreamClient(egress: EgressPolicy): UpstreamClient {
  const pools = new Map<string, Pool>();
  const connect = egressConnector(egress);
  const poolOf = (origin: string): Pool => {
    let pool = pools.get(origin);
    if (!pool) {
      if (pools.size >= MAX_POOLS) {
        const [oldest, idle] = pools.entries().next().value!;
        pools.delete(oldest);
        void idle.close();
      }
      pool = new Pool(origin, { connections: 256, keepAliveTimeout: 30_000, connect });
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

/** The value of a header in undici's raw list (name, value, name, value, …), or undefined. */
function rawHeader(raw: Buffer[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === name.length && key.toString('latin1').toLowerCase() === name)
      return raw[i + 1]!.toString('latin1');
  }
  return undefined;
}

/**
 * One upstream request on undici's dispatcher interface: callbacks instead of a body stream and an async
 * iterator, which cost more than the rest of the call on a 30-byte answer.
 */
function callOpenApiTool(poolOf: (origin: string) => Pool, call: UpstreamCall): Promise<CallToolResult> {
  const built = buildRequest(call);
  if (typeof built === 'string') return Promise.resolve(failure(built));
  const what = `${call.operation.method.toUpperCase()} ${call.operation.path}`;
  return new Promise((resolve) => {
    let status = 0;
    let contentType: string | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let abort: ((reason?: Error) => void) | undefined;
    let done = false;
    const finish = (result: CallToolResult) => {
      if (done) return;
      done = true;
      resolve(result);
    };
    poolOf(built.origin).dispatch(
      {
        path: built.path,
        method: call.operation.method.toUpperCase(),
        headers: built.headers,
        body: built.body,
        // Timers of undici's own (no AbortSignal per call): the answer must start, and then keep coming, in time.
        headersTimeout: call.timeoutMs,
        bodyTimeout: call.timeoutMs,
      },
      {
        onConnect(abortRequest: (reason?: Error) => void) {
          abort = abortRequest;
        },
        onHeaders(statusCode: number, rawHeaders: Buffer[]) {
          status = statusCode;
          contentType = rawHeader(rawHeaders, 'content-type');
          return true;
        },
        onData(chunk: Buffer) {
          size += chunk.length;
          if (size > call.maxResponseBytes) {
            finish(failure(`The upstream answer to ${what} is larger than ${call.maxResponseBytes} bytes.`));
            abort?.();
            return false;
          }
          chunks.push(chunk);
          return true;
        },
        onComplete() {
          const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
          finish(resultOf(status, contentType, redactCredential(text, call.credential), what));
        },
        onError(error: Error) {
          const e = error as { code?: string; message?: string; cause?: { code?: string } };
          if (e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT')
            return finish(failure(`The upstream did not answer ${what} within ${call.timeoutMs} ms.`));
          if (error instanceof EgressRefused) return finish(failure(`The upstream of ${what} was ${error.message}.`));
          finish(
            failure(
              redactCredential(
                `The upstream could not be reached for ${what}: ${e.code ?? e.cause?.code ?? e.message ?? 'unknown error'}.`,
                call.credential,
              ),
            ),
          );
        },
      },
    );
  });
}

function resultOf(status: number, contentType: string | undefined, text: string, what: string): CallToolResult {
  if (status < 200 || status >= 300) {
    const result = failure(`The upstream answered ${what} with ${status}${text === '' ? '.' : `: ${text}`}`);
    statusOf.set(result, status);
    return result;
  }
  const type = contentType ?? '';
  let structured: unknown;
  // An answer nested deeper than any client may send stays text: the MCP answer is walked and serialised again.
  if (/json/i.test(type) && text !== '' && !nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    try {
      structured = JSON.parse(text);
    } catch {
      structured = undefined;
    }
  }
  const result: CallToolResult = { content: [{ type: 'text', text }] };
  // structuredContent must be an object; an array or a scalar stays in the text only.
  if (structured !== null && typeof structured === 'object' && !Array.isArray(structured))
    result.structuredContent = structured as Record<string, unknown>;
  return result;
}
