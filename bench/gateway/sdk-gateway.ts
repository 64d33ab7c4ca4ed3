/**
 * The baselines of `bench:gateway`: a minimal MCP gateway built on the official SDK, run as its own child
 * process. `McpServer` + `StreamableHTTPServerTransport` with stateful sessions (one transport and one server per
 * session, kept in a map by session id) and JSON answers, one tool `echo` whose handler POSTs its arguments to
 * the upstream and returns the JSON answer as text and structuredContent. Two builds (SDK_GATEWAY_STYLE):
 *
 * - `documented` (the default): as the SDK's JSON-response example server is written — the SDK's
 *   `createMcpExpressApp()` (Express with its JSON body parser and localhost Host-header check) and `fetch`
 *   for the upstream call. This is the baseline issue 7 means.
 * - `lean`: the same SDK objects on plain node:http, reading the body itself, and the upstream called through
 *   node:http with a keep-alive agent: less work around the SDK than its documentation shows.
 *
 * PORT and UPSTREAM (the upstream's origin) from the environment; `GET /healthz` says it is up.
 */
import { randomUUID } from 'node:crypto';
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';

const STYLE = process.env.SDK_GATEWAY_STYLE === 'lean' ? 'lean' : 'documented';
const upstream = new URL('/echo', process.env.UPSTREAM);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** POSTs a JSON body to the upstream and resolves with its answer's status and text. */
const callUpstream = STYLE === 'lean' ? callUpstreamOverAgent : callUpstreamWithFetch;

async function callUpstreamWithFetch(body: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(upstream, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, text: await response.text() };
}

function callUpstreamOverAgent(body: unknown): Promise<{ status: number; text: string }> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      upstream,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': payload.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('upstream timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

function createMcpServer(): McpServer {
  const server = new McpServer({ name: 'bench-sdk-gateway', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Echoes its arguments through the upstream', inputSchema: { value: z.string() } },
    async (args): Promise<CallToolResult> => {
      try {
        const { status, text } = await callUpstream(args);
        if (status < 200 || status >= 300)
          return { content: [{ type: 'text', text: `upstream answered ${status}: ${text}` }], isError: true };
        return { content: [{ type: 'text', text }], structuredContent: JSON.parse(text) as Record<string, unknown> };
      } catch (error) {
        return { content: [{ type: 'text', text: `upstream failed: ${(error as Error).message}` }], isError: true };
      }
    },
  );
  return server;
}

const transports = new Map<string, StreamableHTTPServerTransport>();

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** A new session's transport, connected to a new server, registered once the SDK has given it its id. */
async function openSession(): Promise<StreamableHTTPServerTransport> {
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: true,
    onsessioninitialized: (id) => {
      transports.set(id, transport);
    },
  });
  transport.onclose = () => {
    if (transport.sessionId) transports.delete(transport.sessionId);
  };
  await createMcpServer().connect(transport);
  return transport;
}

/** The lean build's request handler, on node:http. */
async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  if (req.method === 'GET' && url === '/healthz') return sendJson(res, 200, { status: 'ok' });
  if (url !== '/mcp') return sendJson(res, 404, { error: 'no such route' });
  const sessionId = req.headers['mcp-session-id'];
  const existing = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
  if (req.method === 'POST') {
    let body: unknown;
    try {
      body = await readJson(req);
    } catch {
      return sendJson(res, 400, { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
    }
    if (existing) return existing.handleRequest(req, res, body);
    if (sessionId === undefined && isInitializeRequest(body))
      return (await openSession()).handleRequest(req, res, body);
    return sendJson(res, 400, {
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Bad Request: No valid session ID provided' },
      id: null,
    });
  }
  if ((req.method === 'GET' || req.method === 'DELETE') && existing) return existing.handleRequest(req, res);
  return sendJson(res, 400, {
    jsonrpc: '2.0',
    error: { code: -32000, message: 'Bad Request: No valid session ID provided' },
    id: null,
  });
}

/** The documented build: the SDK's Express app, routes as in its JSON-response example server. */
function documentedApp() {
  type Request = IncomingMessage & { body?: unknown };
  type Handler = (req: Request, res: ServerResponse) => unknown;
  // The SDK types its app with Express's types, which this package does not install: name the part used here.
  const app = createMcpExpressApp() as unknown as RequestListener & {
    get(path: string, handler: Handler): void;
    post(path: string, handler: Handler): void;
    delete(path: string, handler: Handler): void;
  };
  app.get('/healthz', (_req: Request, res: ServerResponse) => sendJson(res, 200, { status: 'ok' }));
  app.post('/mcp', async (req: Request, res: ServerResponse) => {
    try {
      const sessionId = req.headers['mcp-session-id'];
      const existing = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
      if (existing) return await existing.handleRequest(req, res, req.body);
      if (sessionId === undefined && isInitializeRequest(req.body))
        return await (await openSession()).handleRequest(req, res, req.body);
      sendJson(res, sessionId ? 404 : 400, {
        jsonrpc: '2.0',
        error: { code: -32000, message: 'Bad Request: No valid session ID provided' },
        id: null,
      });
    } catch (error) {
      if (!res.headersSent)
        sendJson(res, 500, { jsonrpc: '2.0', error: { code: -32603, message: (error as Error).message }, id: null });
    }
  });
  const other = async (req: Request, res: ServerResponse) => {
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
    if (existing) return await existing.handleRequest(req, res);
    sendJson(res, 400, {
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Bad Request: No valid session ID provided' },
      id: null,
    });
  };
  app.get('/mcp', other);
  app.delete('/mcp', other);
  return app;
}

const http: Server =
  STYLE === 'lean'
    ? createServer((req, res) => {
        handle(req, res).catch((error: unknown) => {
          if (!res.headersSent)
            sendJson(res, 500, {
              jsonrpc: '2.0',
              error: { code: -32603, message: (error as Error).message },
              id: null,
            });
          else res.end();
        });
      })
    : createServer(documentedApp());
http.keepAliveTimeout = 120_000;
http.headersTimeout = 121_000;
http.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  http.close(() => process.exit(0));
  http.closeAllConnections();
});
