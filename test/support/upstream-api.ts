// A small HTTP API for the gateway to call, with its OpenAPI document: records what it receives.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface UpstreamApi {
  readonly url: string;
  readonly seen: SeenRequest[];
  /** The API's OpenAPI 3.0 document, its server URL pointing at `serverUrl` (this server by default). */
  document(serverUrl?: string): string;
  close(): Promise<void>;
}

const json = (status: number, body: unknown) => ({ status, body: JSON.stringify(body) });

/** Routes: GET /items/{id}, POST /items, GET /status/{code}, GET /slow?ms=, POST /echo, GET /list. */
export async function startUpstreamApi(): Promise<UpstreamApi> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((request, response) => {
    void (async () => {
      let body = '';
      for await (const chunk of request) body += chunk;
      seen.push({ method: request.method!, url: request.url!, headers: request.headers, body });
      const url = new URL(request.url!, 'http://upstream');
      let answer: { status: number; body: string };
      const item = /^\/items\/([^/]+)$/.exec(url.pathname);
      const status = /^\/status\/(\d{3})$/.exec(url.pathname);
      if (request.method === 'GET' && item) {
        answer = json(200, {
          id: decodeURIComponent(item[1]!),
          verbose: url.searchParams.get('verbose'),
          tags: url.searchParams.getAll('tag'),
        });
      } else if (request.method === 'POST' && url.pathname === '/items') {
        answer = json(201, { created: JSON.parse(body || 'null') });
      } else if (request.method === 'GET' && status) {
        answer = json(Number(status[1]), { error: `status ${status[1]} as asked` });
      } else if (request.method === 'GET' && url.pathname === '/slow') {
        await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get('ms') ?? 1000)));
        answer = json(200, { slept: true });
      } else if (request.method === 'POST' && url.pathname === '/echo') {
        answer = json(200, JSON.parse(body || 'null'));
      } else if (request.method === 'GET' && url.pathname === '/list') {
        answer = json(200, [1, 2, 3]);
      } else {
        answer = json(404, { error: 'no such route' });
      }
      if (!response.destroyed)
        response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    })().catch((error: unknown) => response.destroy(error as Error));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    document: (serverUrl = url) =>
      JSON.stringify({
        openapi: '3.0.3',
        info: { title: 'Shop', version: '1.0.0' },
        servers: [{ url: serverUrl }],
        paths: {
          '/items/{id}': {
            get: {
              operationId: 'getItem',
              summary: 'Reads one item',
              parameters: [
                { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
                { name: 'verbose', in: 'query', schema: { type: 'boolean' } },
                { name: 'tag', in: 'query', schema: { type: 'array', items: { type: 'string' } } },
              ],
              responses: { '200': { description: 'ok' } },
            },
          },
          '/items': {
            post: {
              operationId: 'createItem',
              requestBody: {
                required: true,
                content: {
                  'application/json': {
                    schema: {
                      type: 'object',
                      required: ['name'],
                      properties: { name: { type: 'string' }, qty: { type: 'integer', minimum: 1 } },
                      additionalProperties: false,
                    },
                  },
                },
              },
              responses: { '201': { description: 'created' } },
            },
          },
          '/status/{code}': {
            get: {
              operationId: 'status',
              parameters: [{ name: 'code', in: 'path', required: true, schema: { type: 'integer' } }],
              responses: { default: { description: 'any' } },
            },
          },
          '/slow': {
            get: {
              operationId: 'slow',
              parameters: [{ name: 'ms', in: 'query', schema: { type: 'integer' } }],
              responses: { '200': { description: 'ok' } },
            },
          },
          '/echo': {
            post: {
              operationId: 'echo',
              requestBody: {
                content: {
                  'application/json': { schema: { type: 'object', properties: { value: { type: 'string' } } } },
                },
              },
              responses: { '200': { description: 'ok' } },
            },
          },
          '/list': { get: { operationId: 'list', responses: { '200': { description: 'ok' } } } },
        },
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
