import http from 'node:http';
import https from 'node:https';
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

/** Keep-alive connections to upstreams, shared by every call of the process. */
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' }),
  https: new https.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' }),
};

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
export function callOpenApiTool(call: UpstreamCall): Promise<CallToolResult> {
  const built = buildRequest(call);
  if (typeof built === 'string') return Promise.resolve(failure(built));
  const { url, headers, body } = built;
  const what = `${call.operation.method.toUpperCase()} ${call.operation.path}`;
  if (body !== null) headers['content-length'] = String(body.length);
  const secure = url.protocol === 'https:';
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: CallToolResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = (secure ? https : http).request(
      url,
      { method: call.operation.method.toUpperCase(), headers, agent: secure ? agents.https : agents.http },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > call.maxResponseBytes) {
            request.destroy();
            settle(failure(`The upstream answer to ${what} is larger than ${call.maxResponseBytes} bytes.`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', () => settle(failure(`The upstream connection for ${what} broke while reading the answer.`)));
        response.on('end', () => settle(resultOf(response, Buffer.concat(chunks).toString('utf8'), what)));
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      settle(failure(`The upstream did not answer ${what} within ${call.timeoutMs} ms.`));
    }, call.timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => settle(failure(`The upstream could not be reached for ${what}: ${error.code ?? error.message}.`)));
    request.end(body ?? undefined);
  });
}

function resultOf(response: http.IncomingMessage, text: string, what: string): CallToolResult {
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    return failure(`The upstream answered ${what} with ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}${text === '' ? '.' : `: ${text}`}`);
  }
  const type = response.headers['content-type'] ?? '';
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
