import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, LATEST_PROTOCOL_VERSION, McpError } from '@modelcontextprotocol/sdk/types.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ENGINES, OWNER_KEY, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';
import { startUpstreamApi, type UpstreamApi } from './support/upstream-api.js';
import { startUpstreamMcp, type UpstreamMcp } from './support/mcp-upstream.js';

const WS = '/api/v1/workspaces/default';
const API_KEY = 'upstream-key-3f9a1c';

/** Polls until `read` gives `expected` (a change that reaches another node by a PostgreSQL notification), at most 2 s. */
async function eventually<T>(read: () => Promise<T>, expected: T, message: string): Promise<void> {
  const deadline = Date.now() + 2000;
  let last = await read();
  while (last !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    last = await read();
  }
  assert.equal(last, expected, message);
}

for (const engine of ENGINES) {
  describe(`MCP gateway [${engine}]`, () => {
    let app: TestApp;
    let base: string;
    let upstream: UpstreamApi;
    let upstreamMcp: UpstreamMcp;
    let token: string;
    const clients: Client[] = [];

    async function createClient(body: object): Promise<string> {
      const reply = await app.call('POST', `${WS}/access-clients`, { body: { name: 'agent', ...body } });
      assert.equal(reply.status, 201, reply.text);
      return reply.body.secret;
    }

    async function connect(toolset = 'shop', secret = token): Promise<Client> {
      const client = new Client({ name: 'test-agent', version: '1.0.0' });
      const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/default/${toolset}`), {
        requestInit: { headers: { authorization: `Bearer ${secret}` } },
      });
      await client.connect(transport);
      clients.push(client);
      return client;
    }

    /** One raw JSON-RPC POST, for what the SDK client never sends. */
    async function post(body: unknown, headers: Record<string, string> = {}, toolset = 'shop') {
      const response = await fetch(`${base}/mcp/default/${toolset}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
    }

    const initialize = () =>
      post({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: LATEST_PROTOCOL_VERSION,
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      });

    before(async () => {
      upstream = await startUpstreamApi();
      upstreamMcp = await startUpstreamMcp();
      app = await startTestApp(engine, {
        env: { GATEWAY_UPSTREAM_TIMEOUT_MS: '400', RECONCILE_INTERVAL_MS: '3600000' },
      });
      base = await app.server.listen({ port: 0, host: '127.0.0.1' });
      const authConfig = {
        type: 'APIKey',
        parameters: { apiKeyParameter: { in: 'header', key: 'X-Api-Key', value: API_KEY } },
      };
      for (const [name, detail] of [
        ['shop', upstream.document()],
        ['other', upstream.document()],
      ] as const) {
        const created = await app.call('POST', `${WS}/toolsets`, {
          body: { name, spec: { schema: { type: 'OpenAPI', detail }, authConfig } },
        });
        assert.equal(created.status, 201, created.text);
      }
      const mcp = await app.call('POST', `${WS}/toolsets`, {
        body: { name: 'relay', spec: { schema: { type: 'MCP', detail: upstreamMcp.url } } },
      });
      assert.equal(mcp.status, 201, mcp.text);
      for (const name of ['shop', 'other', 'relay'])
        assert.equal((await settledToolset(app, name)).status.phase, 'Installed');
      token = await createClient({ toolsets: ['shop', 'relay'] });
    });

    after(async () => {
      for (const client of clients) await client.close().catch(() => undefined);
      await app?.stop();
      await upstream?.close();
      await upstreamMcp?.close();
    });

    it("lists the toolset's tools to the official SDK client over Streamable HTTP", async () => {
      const client = await connect();
      assert.equal(client.getServerVersion()?.name, 'plugboard/shop');
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), ['createItem', 'echo', 'getItem', 'list', 'slow', 'status']);
      const getItem = tools.find((t) => t.name === 'getItem')!;
      assert.equal(getItem.description, 'Reads one item');
      assert.deepEqual(getItem.inputSchema.required, ['id']);
      await client.ping();
    });

    it('calls the upstream with path, query and body arguments and the stored API key, returning text and structuredContent', async () => {
      const client = await connect();
      upstream.seen.length = 0;
      const read = await client.callTool({
        name: 'getItem',
        arguments: { id: 'a b/1', verbose: true, tag: ['x', 'y'] },
      });
      assert.equal(read.isError, undefined);
      assert.deepEqual(read.structuredContent, { id: 'a b/1', verbose: 'true', tags: ['x', 'y'] });
      assert.deepEqual(JSON.parse((read.content as any)[0].text), read.structuredContent);
      const created = await client.callTool({ name: 'createItem', arguments: { name: 'lamp', qty: 2 } });
      assert.deepEqual(created.structuredContent, { created: { name: 'lamp', qty: 2 } });
      assert.equal(upstream.seen.length, 2);
      for (const request of upstream.seen) assert.equal(request.headers['x-api-key'], API_KEY);
      assert.equal(upstream.seen[0]!.url, '/items/a%20b%2F1?verbose=true&tag=x&tag=y');
      assert.equal(upstream.seen[1]!.headers['content-type'], 'application/json');
      // A JSON array is not an object: it comes back as text only.
      const list = await client.callTool({ name: 'list', arguments: {} });
      assert.equal(list.structuredContent, undefined);
      assert.equal((list.content as any)[0].text, '[1,2,3]');
      // A path argument cannot climb out of its segment.
      upstream.seen.length = 0;
      await client.callTool({ name: 'getItem', arguments: { id: '..' } });
      assert.equal(upstream.seen[0]!.url, '/items/%2E%2E');
    });

    it('refuses arguments that do not fit the inputSchema, and unknown tools, with -32602, and the session lives on', async () => {
      const client = await connect();
      upstream.seen.length = 0;
      await assert.rejects(
        client.callTool({ name: 'createItem', arguments: { qty: 0, colour: 'red' } }),
        (error: unknown) => {
          assert.ok(error instanceof McpError);
          assert.equal(error.code, ErrorCode.InvalidParams);
          assert.match(error.message, /name is required/);
          assert.match(error.message, /qty must be >= 1/);
          assert.match(error.message, /colour is not a known field/);
          return true;
        },
      );
      await assert.rejects(
        client.callTool({ name: 'nope', arguments: {} }),
        (error: unknown) =>
          error instanceof McpError && error.code === Number(ErrorCode.InvalidParams) && /nope/.test(error.message),
      );
      assert.equal(upstream.seen.length, 0, 'nothing reached the upstream');
      assert.equal((await client.callTool({ name: 'getItem', arguments: { id: 'still-fine' } })).isError, undefined);
    });

    it('turns upstream 4xx, 5xx, timeouts and refused connections into isError results', async () => {
      const client = await connect();
      const notFound = await client.callTool({ name: 'status', arguments: { code: 404 } });
      assert.equal(notFound.isError, true);
      assert.match((notFound.content as any)[0].text, /404/);
      const failed = await client.callTool({ name: 'status', arguments: { code: 503 } });
      assert.equal(failed.isError, true);
      assert.match((failed.content as any)[0].text, /503.*status 503 as asked/);
      const slow = await client.callTool({ name: 'slow', arguments: { ms: 3000 } });
      assert.equal(slow.isError, true);
      assert.match((slow.content as any)[0].text, /within 400 ms/);
      // The same document pointed at a port nobody listens on, through spec.baseUrl.
      // A new destination takes the API key entered again: a kept one would be refused.
      const authConfig = {
        type: 'APIKey',
        parameters: { apiKeyParameter: { in: 'header', key: 'X-Api-Key', value: API_KEY } },
      };
      const patched = await app.call('PATCH', `${WS}/toolsets/other`, {
        body: { spec: { baseUrl: 'http://127.0.0.1:1', authConfig } },
      });
      assert.equal(patched.status, 200, patched.text);
      await settledToolset(app, 'other');
      const other = await connect('other', await createClient({ toolsets: ['other'] }));
      const refused = await other.callTool({ name: 'getItem', arguments: { id: '1' } });
      assert.equal(refused.isError, true);
      assert.match((refused.content as any)[0].text, /could not be reached.*ECONNREFUSED/);
      assert.equal(JSON.stringify(refused).includes(API_KEY), false);
    });

    it('answers every concurrent call to the session and request that asked for it', async () => {
      const sessions = await Promise.all([connect(), connect(), connect(), connect()]);
      const calls = Array.from({ length: 80 }, (_, i) => ({
        session: sessions[i % 4]!,
        value: `v-${i}-${Math.random()}`,
      }));
      const results = await Promise.all(
        calls.map(({ session, value }) => session.callTool({ name: 'echo', arguments: { value } })),
      );
      results.forEach((result, i) => assert.deepEqual(result.structuredContent, { value: calls[i]!.value }));
    });

    it('forwards calls of an MCP toolset to its upstream MCP server', async () => {
      const client = await connect('relay');
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ['add', 'echo']);
      const result = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
      assert.deepEqual(result.content, [{ type: 'text', text: '42' }]);
      await assert.rejects(
        client.callTool({ name: 'add', arguments: { a: 'two' } }),
        (error: unknown) => error instanceof McpError && error.code === Number(ErrorCode.InvalidParams),
      );
    });

    it('serves the legacy SSE transport to the official SDK client', async () => {
      const headers = { authorization: `Bearer ${token}` };
      const transport = new SSEClientTransport(new URL(`${base}/sse/default/shop`), {
        requestInit: { headers },
        eventSourceInit: {
          fetch: (url, init) => fetch(url, { ...init, headers: { ...(init?.headers as object), ...headers } }),
        },
      });
      const client = new Client({ name: 'legacy-agent', version: '1.0.0' });
      await client.connect(transport);
      clients.push(client);
      assert.equal((await client.listTools()).tools.length, 6);
      const values = Array.from({ length: 10 }, (_, i) => `sse-${i}`);
      const results = await Promise.all(values.map((value) => client.callTool({ name: 'echo', arguments: { value } })));
      results.forEach((result, i) => assert.deepEqual(result.structuredContent, { value: values[i] }));
      await assert.rejects(
        client.callTool({ name: 'getItem', arguments: {} }),
        (error: unknown) => error instanceof McpError && error.code === Number(ErrorCode.InvalidParams),
      );
    });

    it('serves a changed document at once: new tools, new validators', async () => {
      const client = await connect();
      const doc = JSON.parse(upstream.document());
      doc.paths['/items'].post.requestBody.content['application/json'].schema.required = ['name', 'qty'];
      doc.paths['/items'].post.operationId = 'addItem';
      const patched = await app.call('PATCH', `${WS}/toolsets/shop`, {
        body: { spec: { schema: { type: 'OpenAPI', detail: JSON.stringify(doc) } } },
      });
      assert.equal(patched.status, 200, patched.text);
      await settledToolset(app, 'shop');
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes('addItem') && !names.includes('createItem'), names.join());
      await assert.rejects(client.callTool({ name: 'addItem', arguments: { name: 'x' } }), /qty is required/);
      assert.deepEqual(
        (await client.callTool({ name: 'addItem', arguments: { name: 'x', qty: 1 } })).structuredContent,
        { created: { name: 'x', qty: 1 } },
      );
    });

    it('refuses a missing or unknown token with 401, a toolset not allowed with 403, and a revoked client at once', async () => {
      const anonymous = await fetch(`${base}/mcp/default/shop`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.equal(((await anonymous.json()) as any).error.code, -32000);
      await assert.rejects(connect('shop', 'pbac_unknown'), /401|Unauthorized|access-client token/);
      const narrow = await createClient({ toolsets: ['other'] });
      await assert.rejects(connect('shop', narrow), /403|may not use toolset/);
      const everything = await createClient({ id: 'all-tools', toolsets: ['*'] });
      const client = await connect('shop', everything);
      assert.equal((await client.listTools()).tools.length > 0, true);
      const current = await app.call('GET', `${WS}/access-clients/all-tools`);
      assert.equal(
        (
          await app.call('PATCH', `${WS}/access-clients/all-tools`, {
            body: { status: 'disabled' },
            headers: { 'if-match': current.headers.etag as string },
          })
        ).status,
        200,
      );
      await assert.rejects(client.listTools(), /401|access-client token/);
      const missing = await fetch(`${base}/mcp/default/nope`, {
        method: 'POST',
        headers: { authorization: `Bearer ${everything}`, 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(missing.status, 401);
      const unknownToolset = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, {}, 'relay-missing');
      assert.equal(unknownToolset.status, 403);
    });

    it('keeps sessions any node can check: signed ids, ended with DELETE, tied to their client and toolset', async () => {
      const init = await initialize();
      assert.equal(init.status, 200);
      assert.equal(init.body.result.protocolVersion, LATEST_PROTOCOL_VERSION);
      const session = init.headers.get('mcp-session-id')!;
      assert.match(session, /^[\x21-\x7e]+$/);
      const headers = { 'mcp-session-id': session, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION };
      assert.equal((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).status, 202);
      assert.deepEqual((await post({ jsonrpc: '2.0', id: 7, method: 'ping' }, headers)).body, {
        jsonrpc: '2.0',
        id: 7,
        result: {},
      });
      // A node that never saw the session serves it too: nothing about it lives in this process.
      assert.equal(
        (await post({ jsonrpc: '2.0', id: 'b', method: 'tools/list' }, headers)).body.result.tools.length,
        6,
      );
      // No batches on this protocol version (see test/gateway-limits.test.ts).
      assert.equal((await post([{ jsonrpc: '2.0', id: 'a', method: 'ping' }], headers)).status, 400);
      assert.equal(
        (await post({ jsonrpc: '2.0', id: 8, method: 'resources/list' }, headers)).body.error.code,
        ErrorCode.MethodNotFound,
      );
      // Tampered, foreign, missing.
      assert.equal(
        (
          await post(
            { jsonrpc: '2.0', id: 9, method: 'ping' },
            { ...headers, 'mcp-session-id': `${session.slice(0, -2)}xx` },
          )
        ).status,
        404,
      );
      assert.equal(
        (await post({ jsonrpc: '2.0', id: 9, method: 'ping' }, headers, 'relay')).status,
        404,
        'a session of another toolset',
      );
      assert.equal((await post({ jsonrpc: '2.0', id: 9, method: 'ping' })).status, 400);
      assert.equal(
        (await post({ jsonrpc: '2.0', id: 9, method: 'ping' }, { ...headers, 'mcp-protocol-version': '1999-01-01' }))
          .status,
        400,
      );
      // Ended: refused from then on.
      const ended = await fetch(`${base}/mcp/default/shop`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}`, ...headers },
      });
      assert.equal(ended.status, 200);
      assert.equal((await post({ jsonrpc: '2.0', id: 10, method: 'ping' }, headers)).status, 404);
    });

    // Several nodes share a PostgreSQL store only (an SQLite file belongs to one process).
    if (engine === 'postgres')
      it('lets a second node serve and end a session the first one opened', async () => {
        const second = await createApp(
          loadConfig({ ...app.store.env, RATE_LIMIT_GATEWAY_PER_SECOND: '0', LOG_LEVEL: 'silent' }),
        );
        try {
          const secondBase = await second.server.listen({ port: 0, host: '127.0.0.1' });
          const client = new Client({ name: 'roaming-agent', version: '1.0.0' });
          let calls = 0;
          // Every request after initialize goes to the other node.
          const roaming: typeof fetch = (url, init) =>
            fetch(
              calls++ === 0 ? url : (url instanceof Request ? url.url : url.toString()).replace(base, secondBase),
              init,
            );
          const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/default/shop`), {
            fetch: roaming,
            requestInit: { headers: { authorization: `Bearer ${token}` } },
          });
          await client.connect(transport);
          assert.deepEqual(
            (await client.callTool({ name: 'echo', arguments: { value: 'roamed' } })).structuredContent,
            { value: 'roamed' },
          );
          const session = transport.sessionId!;
          // The first node checks the session once, so that it holds it in its cache...
          assert.equal(
            (await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-session-id': session })).status,
            200,
          );
          await transport.terminateSession();
          // ...and drops it when PostgreSQL notifies it of the second node's change.
          await eventually(
            async () => (await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-session-id': session })).status,
            404,
            'the first node knows the session was ended on the second',
          );
          assert.ok(calls >= 3);
          await client.close();
        } finally {
          await second.close();
        }
      });

    if (engine === 'postgres')
      it('refuses on every node a client another node disabled, although each had it cached', async () => {
        const second = await createApp(
          loadConfig({ ...app.store.env, RATE_LIMIT_GATEWAY_PER_SECOND: '0', LOG_LEVEL: 'silent' }),
        );
        try {
          const secondBase = await second.server.listen({ port: 0, host: '127.0.0.1' });
          const secret = await createClient({ id: 'cached-everywhere', toolsets: ['shop'] });
          const ping = (url: string) =>
            fetch(`${url}/mcp/default/shop`, {
              method: 'POST',
              headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
              body: JSON.stringify({
                jsonrpc: '2.0',
                id: 1,
                method: 'initialize',
                params: {
                  protocolVersion: LATEST_PROTOCOL_VERSION,
                  capabilities: {},
                  clientInfo: { name: 'x', version: '1' },
                },
              }),
            }).then((r) => r.status);
          assert.equal(await ping(base), 200);
          assert.equal(await ping(secondBase), 200);
          const current = await app.call('GET', `${WS}/access-clients/cached-everywhere`);
          const disabled = await second.server.inject({
            method: 'PATCH',
            url: `${WS}/access-clients/cached-everywhere`,
            headers: {
              authorization: `Bearer ${OWNER_KEY}`,
              'content-type': 'application/json',
              'if-match': current.headers.etag as string,
            },
            payload: { status: 'disabled' },
          });
          assert.equal(disabled.statusCode, 200, disabled.body);
          assert.equal(await ping(secondBase), 401, 'the node that made the change, at once');
          await eventually(() => ping(base), 401, 'the other node, once notified');
        } finally {
          await second.close();
        }
      });

    it('answers protocol mistakes with JSON-RPC errors and the right status, never a 500', async () => {
      const parse = await post('{"jsonrpc":');
      assert.equal(parse.status, 400);
      assert.equal(parse.body.error.code, ErrorCode.ParseError);
      const shape = await post({ hello: 'world' });
      assert.equal(shape.status, 400);
      assert.equal(shape.body.error.code, ErrorCode.InvalidRequest);
      const type = await post('x=1', { 'content-type': 'application/x-www-form-urlencoded' });
      assert.equal(type.status, 415);
      const get = await fetch(`${base}/mcp/default/shop`, {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      });
      assert.equal(get.status, 405);
      const old = await post({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'old', version: '1' } },
      });
      assert.equal(old.body.result.protocolVersion, '2024-11-05');
      const future = await post({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2099-01-01', capabilities: {}, clientInfo: { name: 'new', version: '1' } },
      });
      assert.equal(future.body.result.protocolVersion, LATEST_PROTOCOL_VERSION);
    });

    it("applies the access client's rate limit with 429 and Retry-After", async () => {
      const limited = await createClient({ toolsets: ['shop'], rateLimit: 2 });
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const response = await fetch(`${base}/mcp/default/shop`, {
          method: 'POST',
          headers: { authorization: `Bearer ${limited}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'initialize',
            params: {
              protocolVersion: LATEST_PROTOCOL_VERSION,
              capabilities: {},
              clientInfo: { name: 'x', version: '1' },
            },
          }),
        });
        statuses.push(response.status);
        if (response.status === 429) assert.ok(Number(response.headers.get('retry-after')) >= 1);
        await response.text();
      }
      assert.ok(statuses.includes(429), statuses.join());
      assert.ok(statuses.filter((s) => s === 200).length <= 4, statuses.join());
      const metrics = await (await fetch(`${base}/metrics`)).text();
      const refused = statuses.filter((s) => s === 429).length;
      assert.match(
        metrics,
        new RegExp(`^plugboard_rate_limit_rejections_total\\{class="gateway"\\} ${refused}$`, 'm'),
        "counted as the gateway's",
      );
    });

    it('serves POST /mcp/… on its fast path as Fastify serves the rest: request ids, node header, body limit, paths, metrics, log', async () => {
      const init = await post(
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: LATEST_PROTOCOL_VERSION,
            capabilities: {},
            clientInfo: { name: 'raw', version: '1' },
          },
        },
        { 'x-request-id': 'trace-42' },
      );
      assert.equal(init.status, 200);
      assert.equal(init.headers.get('x-request-id'), 'trace-42');
      assert.equal(init.headers.get('x-plugboard-node'), app.config.nodeId);
      assert.equal(init.headers.get('content-type'), 'application/json');
      assert.match(
        (await post({ jsonrpc: '2.0', id: 2, method: 'ping' }, { 'x-request-id': 'bad id with spaces' })).headers.get(
          'x-request-id',
        ) ?? '',
        /^[0-9a-f-]{36}$/,
      );
      // Percent-encoded path segments are decoded as Fastify's router decodes them.
      const session = init.headers.get('mcp-session-id')!;
      const encoded = await fetch(`${base}/mcp/de%66ault/sh%6Fp?x=1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'mcp-session-id': session },
        body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'ping' }),
      });
      assert.deepEqual(await encoded.json(), { jsonrpc: '2.0', id: 3, result: {} });
      // Paths the fast path does not take get Fastify's answers.
      const malformed = await fetch(`${base}/mcp/default/%zz`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(malformed.status, 400);
      assert.ok(malformed.headers.get('x-request-id'));
      const trailing = await fetch(`${base}/mcp/default/shop/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(trailing.status, 404);
      assert.match(trailing.headers.get('content-type') ?? '', /^application\/problem\+json/);
      // Over BODY_LIMIT, announced or not: 413 with a JSON-RPC error, before anything else is looked at.
      const big = JSON.stringify({
        jsonrpc: '2.0',
        id: 4,
        method: 'ping',
        params: { pad: 'x'.repeat(app.config.bodyLimit) },
      });
      const announced = await post(big, { 'mcp-session-id': session });
      assert.equal(announced.status, 413);
      assert.equal(announced.body.error.code, ErrorCode.InvalidRequest);
      const chunks = (async function* () {
        yield new TextEncoder().encode(big);
      })();
      const streamed = await fetch(`${base}/mcp/default/shop`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: chunks,
        duplex: 'half',
      });
      assert.equal(streamed.status, 413);
      // Counted under the route template, as every Fastify route is.
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(
        metrics,
        /plugboard_http_requests_total\{method="POST",route="\/mcp\/:workspaceId\/:toolset",status="200"\} [1-9]/,
      );
      assert.match(
        metrics,
        /plugboard_http_requests_total\{method="POST",route="\/mcp\/:workspaceId\/:toolset",status="413"\} [1-9]/,
      );
    });

    // Last: the app stays draining.
    it('closes each connection after its answer once the server drains, on the fast path too', async () => {
      app.beginDrain();
      const answer = await post({ jsonrpc: '2.0', id: 1, method: 'ping' });
      assert.equal(answer.status, 400, 'no session: the fast path answered');
      assert.equal(answer.headers.get('connection'), 'close');
    });
  });
}
