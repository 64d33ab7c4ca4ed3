// What the gateway bounds on every edge: batches, answer sizes, SSE streams, origins, and where injected
// credentials may travel (never back to the MCP client).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ErrorCode, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';
import { startUpstreamApi, type UpstreamApi } from './support/upstream-api.js';

const WS = '/api/v1/workspaces/default';
const API_KEY = 'hdr-key-9f3c21ab';
const QUERY_KEY = 'q key+/=&9c1e';
const BASIC_USER_PASS = 'svc-user:pa55-w0rd-77';
const BASIC = `Basic ${Buffer.from(BASIC_USER_PASS).toString('base64')}`;
const MCP_KEY = 'mcp-key-5d0e77c2';
const PUBLIC_URL = 'https://plugboard.example.com';
const ALLOWED = 'https://agents.example.com';
const MAX_ANSWER = 4096;

/** Every spelling in which an injected secret could come back: as sent, URL- and form-encoded, JSON-escaped, decoded. */
const FORMS: Record<string, string[]> = {
  header: [API_KEY],
  query: [QUERY_KEY, encodeURIComponent(QUERY_KEY), new URLSearchParams({ k: QUERY_KEY }).toString().slice(2)],
  basic: [BASIC, BASIC.slice(6), BASIC_USER_PASS, 'pa55-w0rd-77'],
  mcp: [MCP_KEY],
};

/** An upstream that reflects what it receives: headers, URL and a decoded Basic credential, in 200s and errors alike. */
async function startReflector(): Promise<{ url: string; document(): string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server: Server = createServer((request, response) => {
    const auth = request.headers.authorization ?? '';
    const decoded = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8') : null;
    const reflected = { url: request.url, headers: request.headers, decoded };
    seen.push(JSON.stringify(reflected));
    if (request.url!.startsWith('/reflect-fail')) {
      response
        .writeHead(502, { 'content-type': 'text/plain' })
        .end(`bad gateway; you sent ${request.url} with ${JSON.stringify(request.headers)} (${decoded})`);
    } else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reflected));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const operation = (operationId: string) => ({ get: { operationId, responses: { default: { description: 'any' } } } });
  return {
    url,
    seen,
    document: () =>
      JSON.stringify({
        openapi: '3.0.3',
        info: { title: 'Mirror', version: '1' },
        servers: [{ url }],
        paths: { '/reflect': operation('reflect'), '/reflect-fail': operation('reflectFail') },
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An MCP upstream whose tool answers with the request headers it got; with `broken` set, every POST fails with them. */
async function startReflectingMcp(): Promise<{ url: string; broken: boolean; close(): Promise<void> }> {
  const state = { url: '', broken: false, close: async () => undefined as void };
  const server: Server = createServer((request, response) => {
    void (async () => {
      let body = '';
      for await (const chunk of request) body += chunk;
      if (state.broken && body.includes('tools/call')) {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`refused ${JSON.stringify(request.headers)}`);
        return;
      }
      const mcp = new McpServer({ name: 'mirror', version: '1.0.0' });
      mcp.registerTool('whoami', { description: 'Tells the caller what it sent' }, async (extra) => ({
        content: [{ type: 'text', text: JSON.stringify(extra.requestInfo?.headers ?? {}) }],
      }));
      mcp.registerTool('fail', { description: 'Fails, naming what it was sent' }, async (extra) => {
        throw new Error(`cannot serve ${JSON.stringify(extra.requestInfo?.headers ?? {})}`);
      });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      response.on('close', () => void transport.close());
      await mcp.connect(transport);
      await transport.handleRequest(request, response, body === '' ? undefined : JSON.parse(body));
    })().catch((error: unknown) => response.destroy(error as Error));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  state.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/** An open SSE stream read by hand: `ended` settles when the server ends it. */
async function openStream(base: string, secret: string, toolset = 'shop', headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(`${base}/sse/default/${toolset}`, {
    headers: { authorization: `Bearer ${secret}`, accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  if (response.status !== 200) return { response, ended: Promise.resolve(), abort: () => undefined };
  const reader = response.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.match(first, /event: endpoint/);
  const ended = (async () => {
    try {
      while (!(await reader.read()).done);
    } catch {
      // Aborted by the test.
    }
  })();
  return { response, ended, abort: () => controller.abort() };
}

/** Resolves true when `promise` settles within `ms`, false otherwise. */
const within = (promise: Promise<unknown>, ms: number) =>
  Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref()),
  ]);

for (const engine of ENGINES) {
  describe(`MCP gateway limits [${engine}]`, () => {
    let app: TestApp;
    let base: string;
    let upstream: UpstreamApi;
    let reflector: Awaited<ReturnType<typeof startReflector>>;
    let reflectingMcp: Awaited<ReturnType<typeof startReflectingMcp>>;
    let token: string;
    const clients: Client[] = [];
    const env = {
      GATEWAY_MAX_BATCH_ITEMS: '5',
      GATEWAY_MAX_ANSWER_BYTES: String(MAX_ANSWER),
      GATEWAY_MAX_STREAMS_PER_CLIENT: '2',
      PUBLIC_URL,
      ALLOWED_ORIGINS: `${ALLOWED}, http://localhost:3000`,
      RECONCILE_INTERVAL_MS: '3600000',
    };

    async function createClient(body: object = {}): Promise<string> {
      const reply = await app.call('POST', `${WS}/access-clients`, {
        body: { name: 'agent', toolsets: ['*'], ...body },
      });
      assert.equal(reply.status, 201, reply.text);
      return reply.body.secret;
    }

    async function createToolset(name: string, spec: object): Promise<void> {
      const created = await app.call('POST', `${WS}/toolsets`, { body: { name, spec } });
      assert.equal(created.status, 201, created.text);
      assert.equal((await settledToolset(app, name)).status.phase, 'Installed');
    }

    async function connect(toolset: string, secret = token): Promise<Client> {
      const client = new Client({ name: 'limits-agent', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${base}/mcp/default/${toolset}`), {
          requestInit: { headers: { authorization: `Bearer ${secret}` } },
        }),
      );
      clients.push(client);
      return client;
    }

    async function connectSse(toolset: string, secret = token): Promise<Client> {
      const headers = { authorization: `Bearer ${secret}` };
      const transport = new SSEClientTransport(new URL(`${base}/sse/default/${toolset}`), {
        requestInit: { headers },
        eventSourceInit: {
          fetch: (url, init) => fetch(url, { ...init, headers: { ...(init?.headers as object), ...headers } }),
        },
      });
      const client = new Client({ name: 'legacy-agent', version: '1.0.0' });
      await client.connect(transport);
      clients.push(client);
      return client;
    }

    async function post(body: unknown, headers: Record<string, string> = {}, toolset = 'shop', secret = token) {
      const response = await fetch(`${base}/mcp/default/${toolset}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${secret}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        text,
        body: text === '' ? undefined : JSON.parse(text),
      };
    }

    /** Opens a session on `version` by hand; the headers every later request of it carries. */
    async function session(version: string, secret = token): Promise<Record<string, string>> {
      const init = await post(
        {
          jsonrpc: '2.0',
          id: 0,
          method: 'initialize',
          params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
        },
        {},
        'shop',
        secret,
      );
      assert.equal(init.status, 200, init.text);
      assert.equal(init.body.result.protocolVersion, version);
      return { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': version };
    }

    const pings = (n: number) => Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: i + 1, method: 'ping' }));

    before(async () => {
      upstream = await startUpstreamApi();
      reflector = await startReflector();
      reflectingMcp = await startReflectingMcp();
      app = await startTestApp(engine, { env });
      base = await app.server.listen({ port: 0, host: '127.0.0.1' });
      const apiKey = (place: 'header' | 'query', key: string, value: string) => ({
        type: 'APIKey',
        parameters: { apiKeyParameter: { in: place, key, value } },
      });
      await createToolset('shop', {
        schema: { type: 'OpenAPI', detail: upstream.document() },
        authConfig: apiKey('header', 'X-Api-Key', API_KEY),
      });
      await createToolset('reflect-header', {
        schema: { type: 'OpenAPI', detail: reflector.document() },
        authConfig: apiKey('header', 'X-Api-Key', API_KEY),
      });
      await createToolset('reflect-query', {
        schema: { type: 'OpenAPI', detail: reflector.document() },
        authConfig: apiKey('query', 'api_key', QUERY_KEY),
      });
      await createToolset('reflect-basic', {
        schema: { type: 'OpenAPI', detail: reflector.document() },
        authConfig: apiKey('header', 'Authorization', BASIC),
      });
      await createToolset('reflect-mcp', {
        schema: { type: 'MCP', detail: reflectingMcp.url },
        authConfig: apiKey('header', 'X-Mcp-Key', MCP_KEY),
      });
      token = await createClient();
    });

    after(async () => {
      for (const client of clients) await client.close().catch(() => undefined);
      await app?.stop();
      await upstream?.close();
      await reflector?.close();
      await reflectingMcp?.close();
    });

    // ---- Batches ---------------------------------------------------------------------------------------

    it('refuses a JSON-RPC batch with 400 and -32600 on protocol versions that removed batching (2025-06-18 on)', async () => {
      for (const version of ['2025-06-18', LATEST_PROTOCOL_VERSION]) {
        const headers = await session(version);
        upstream.seen.length = 0;
        const batch = await post(
          [
            ...pings(1),
            { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { value: 'x' } } },
          ],
          headers,
        );
        assert.equal(batch.status, 400, `${version}: ${batch.text}`);
        assert.equal(batch.body.error.code, ErrorCode.InvalidRequest);
        assert.match(batch.body.error.message, new RegExp(`batch.*${version}`, 'i'));
        assert.equal(upstream.seen.length, 0, 'nothing of it ran');
        // The session's version decides when the client leaves the header out.
        const { 'mcp-protocol-version': _dropped, ...bare } = headers;
        assert.equal((await post(pings(2), bare)).status, 400);
        assert.deepEqual((await post(pings(1)[0], headers)).body, { jsonrpc: '2.0', id: 1, result: {} });
      }
      const batchedInit = await post([
        {
          jsonrpc: '2.0',
          id: 0,
          method: 'initialize',
          params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
        },
      ]);
      assert.equal(batchedInit.status, 400, batchedInit.text);
    });

    it('accepts a batch on 2025-03-26 of at most GATEWAY_MAX_BATCH_ITEMS items and refuses a longer one whole with 413', async () => {
      const headers = await session('2025-03-26');
      const five = await post(pings(5), headers);
      assert.equal(five.status, 200, five.text);
      assert.deepEqual(
        five.body.map((m: any) => m.id),
        [1, 2, 3, 4, 5],
      );
      upstream.seen.length = 0;
      const calls = Array.from({ length: 6 }, (_, i) => ({
        jsonrpc: '2.0',
        id: i,
        method: 'tools/call',
        params: { name: 'echo', arguments: { value: String(i) } },
      }));
      const six = await post(calls, headers);
      assert.equal(six.status, 413, six.text);
      assert.equal(six.body.error.code, ErrorCode.InvalidRequest);
      assert.match(six.body.error.message, /6 .*at most 5/);
      assert.equal(upstream.seen.length, 0);
    });

    it("charges each item of a batch to the access client's rate limit: the upstream sees at most the budget", async () => {
      const limited = await createClient({ toolsets: ['shop'], rateLimit: 1 });
      const started = Date.now();
      const headers = await session('2025-03-26', limited);
      upstream.seen.length = 0;
      const calls = Array.from({ length: 5 }, (_, i) => ({
        jsonrpc: '2.0',
        id: i,
        method: 'tools/call',
        params: { name: 'echo', arguments: { value: String(i) } },
      }));
      const batch = await post(calls, headers, 'shop', limited);
      const elapsedSeconds = Math.floor((Date.now() - started) / 1000);
      assert.equal(batch.status, 200, batch.text);
      assert.deepEqual(
        batch.body.map((m: any) => m.id),
        [0, 1, 2, 3, 4],
        'every item answered',
      );
      // Rate 1/s with burst 1: two units at once, one of them spent on initialize.
      assert.ok(
        upstream.seen.length >= 1 && upstream.seen.length <= 1 + elapsedSeconds,
        `${upstream.seen.length} calls reached the upstream`,
      );
      const refused = batch.body.filter((m: any) => m.error);
      assert.equal(refused.length, 5 - upstream.seen.length);
      for (const answer of refused) {
        assert.equal(answer.error.code, -32000);
        assert.match(answer.error.message, /Too many calls/);
      }
    });

    it('bounds one answer at GATEWAY_MAX_ANSWER_BYTES while building it: batched tools/list and a single large result', async () => {
      const headers = await session('2025-03-26');
      const lists = Array.from({ length: 5 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'tools/list' }));
      const one = await post(lists[0], headers);
      assert.ok(
        one.text.length * 2 < MAX_ANSWER && one.text.length * 5 > MAX_ANSWER,
        `one tools/list is ${one.text.length} bytes`,
      );
      const batch = await post(lists, headers);
      assert.equal(batch.status, 200, batch.text.slice(0, 200));
      assert.ok(Buffer.byteLength(batch.text) <= MAX_ANSWER, `${Buffer.byteLength(batch.text)} bytes`);
      assert.equal(batch.body.length, 5, 'every item answered, with a result or an error');
      const tooLarge = batch.body.filter((m: any) => m.error);
      assert.ok(tooLarge.length >= 2, batch.text.slice(0, 300));
      for (const answer of tooLarge) assert.match(answer.error.message, new RegExp(`larger than ${MAX_ANSWER} bytes`));
      // One request whose answer alone is too large: a JSON-RPC error of its own, seen by the SDK client.
      const client = await connect('shop');
      await assert.rejects(
        client.callTool({ name: 'echo', arguments: { value: 'x'.repeat(MAX_ANSWER) } }),
        new RegExp(`larger than ${MAX_ANSWER} bytes`),
      );
      assert.deepEqual((await client.callTool({ name: 'echo', arguments: { value: 'small' } })).structuredContent, {
        value: 'small',
      });
    });

    // ---- SSE streams -----------------------------------------------------------------------------------

    it('caps the open SSE streams of one access client at GATEWAY_MAX_STREAMS_PER_CLIENT with 429', async () => {
      const secret = await createClient();
      const first = await connectSse('shop', secret);
      await connectSse('shop', secret);
      await assert.rejects(connectSse('shop', secret), /429/);
      const third = await openStream(base, secret);
      assert.equal(third.response.status, 429);
      const refused = (await third.response.json()) as any;
      assert.equal(refused.error.code, -32000);
      assert.match(refused.error.message, /at most 2 open SSE streams/);
      // Another client has a budget of its own, and a closed stream frees its place.
      const other = await openStream(base, await createClient());
      assert.equal(other.response.status, 200);
      other.abort();
      await first.close();
      const deadline = Date.now() + 2000;
      let again = await openStream(base, secret);
      while (again.response.status !== 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        again = await openStream(base, secret);
      }
      assert.equal(again.response.status, 200);
      again.abort();
    });

    it('ends an open SSE stream within seconds when its client is disabled, seen by the SDK client', async () => {
      const secret = await createClient({ id: 'to-disable' });
      const client = await connectSse('shop', secret);
      assert.ok((await client.listTools()).tools.length > 0);
      const stream = await openStream(base, secret);
      const errored = new Promise((resolve) => (client.onerror = resolve));
      const current = await app.call('GET', `${WS}/access-clients/to-disable`);
      const patched = await app.call('PATCH', `${WS}/access-clients/to-disable`, {
        body: { status: 'disabled' },
        headers: { 'if-match': current.headers.etag as string },
      });
      assert.equal(patched.status, 200, patched.text);
      assert.ok(await within(stream.ended, 4000), 'the stream ended');
      assert.ok(await within(errored, 4000), 'the SDK client saw its stream end');
      await assert.rejects(client.listTools());
    });

    it('ends an open SSE stream within seconds when its secret is revoked or its toolset deleted', async () => {
      const secret = await createClient({ id: 'to-rotate' });
      const revoked = await openStream(base, secret);
      const rotated = await app.call('POST', `${WS}/access-clients/to-rotate/secrets`, {
        body: { gracePeriodSeconds: 0 },
      });
      assert.equal(rotated.status, 200, rotated.text);
      assert.ok(await within(revoked.ended, 4000), 'the stream of the revoked secret ended');
      const fresh = await openStream(base, rotated.body.secret);
      assert.equal(fresh.response.status, 200, 'the new secret opens streams');
      fresh.abort();

      await createToolset('doomed', { schema: { type: 'OpenAPI', detail: upstream.document() } });
      const doomed = await openStream(base, token, 'doomed');
      const kept = await openStream(base, token, 'shop');
      assert.equal((await app.call('DELETE', `${WS}/toolsets/doomed`)).status, 204);
      assert.ok(await within(doomed.ended, 4000), 'the stream of the deleted toolset ended');
      assert.equal(await within(kept.ended, 1500), false, 'a stream of another toolset stays open');
      kept.abort();
    });

    if (engine === 'postgres')
      it('ends a stream held by another node when the client is disabled through this one', async () => {
        const second = await createApp(
          loadConfig({ ...app.store.env, ...env, RATE_LIMIT_GATEWAY_PER_SECOND: '0', LOG_LEVEL: 'silent' }),
        );
        try {
          const secondBase = await second.server.listen({ port: 0, host: '127.0.0.1' });
          const secret = await createClient({ id: 'disabled-elsewhere' });
          const stream = await openStream(secondBase, secret);
          assert.equal(stream.response.status, 200);
          const current = await app.call('GET', `${WS}/access-clients/disabled-elsewhere`);
          const patched = await app.call('PATCH', `${WS}/access-clients/disabled-elsewhere`, {
            body: { status: 'disabled' },
            headers: { 'if-match': current.headers.etag as string },
          });
          assert.equal(patched.status, 200);
          assert.ok(await within(stream.ended, 5000), 'the other node ended the stream');
        } finally {
          await second.close();
        }
      });

    // ---- Origin ----------------------------------------------------------------------------------------

    it("refuses a request from a foreign Origin with 403 on every gateway route, and serves PUBLIC_URL's, ALLOWED_ORIGINS and none", async () => {
      const init = {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'o', version: '1' } },
      };
      for (const origin of [
        'https://evil.example',
        'null',
        'https://plugboard.example.com:8443',
        'http://plugboard.example.com',
      ]) {
        const refused = await post(init, { origin });
        assert.equal(refused.status, 403, `${origin}: ${refused.text}`);
        assert.equal(refused.body.error.code, -32000);
        assert.equal(refused.body.id, null);
        assert.equal(refused.headers.get('mcp-session-id'), null);
        const sse = await openStream(base, token, 'shop', { origin });
        assert.equal(sse.response.status, 403);
        for (const method of ['GET', 'DELETE']) {
          const other = await fetch(`${base}/mcp/default/shop`, {
            method,
            headers: { authorization: `Bearer ${token}`, origin, accept: 'text/event-stream' },
          });
          assert.equal(other.status, 403, `${method} from ${origin}`);
        }
        const message = await fetch(`${base}/sse/default/shop/messages?sessionId=x`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, origin, 'content-type': 'application/json' },
          body: JSON.stringify(init),
        });
        assert.equal(message.status, 403);
      }
      for (const origin of [PUBLIC_URL, ALLOWED, 'http://localhost:3000', 'HTTPS://Agents.Example.com']) {
        const served = await post(init, { origin });
        assert.equal(served.status, 200, `${origin}: ${served.text}`);
      }
      // Non-browser clients send no Origin at all: the SDK client, over both transports.
      assert.ok((await (await connect('shop')).listTools()).tools.length > 0);
      const legacy = await connectSse('shop', await createClient());
      assert.ok((await legacy.listTools()).tools.length > 0);
      await legacy.close();
    });

    // ---- Injected credentials --------------------------------------------------------------------------

    it('never returns an injected API key to the client: not in bodies, echoed headers, error texts or encodings', async () => {
      for (const [toolset, forms] of [
        ['reflect-header', FORMS.header!],
        ['reflect-query', FORMS.query!],
        ['reflect-basic', FORMS.basic!],
      ] as const) {
        const client = await connect(toolset);
        reflector.seen.length = 0;
        const results = [
          await client.callTool({ name: 'reflect', arguments: {} }),
          await client.callTool({ name: 'reflectFail', arguments: {} }),
        ];
        assert.equal(results[1]!.isError, true);
        assert.ok(
          reflector.seen.length === 2 && reflector.seen.some((line) => forms.some((form) => line.includes(form))),
          `the upstream got the ${toolset} credential`,
        );
        const text = JSON.stringify(results);
        for (const form of forms)
          assert.equal(text.includes(form), false, `${toolset}: "${form}" came back in ${text}`);
        assert.match(text, /\[redacted\]/);
      }
    });

    it('never returns the injected key from an MCP upstream: not in results, tool errors or transport errors', async () => {
      const client = await connect('reflect-mcp');
      const whoami = await client.callTool({ name: 'whoami', arguments: {} });
      assert.match(JSON.stringify(whoami), /x-mcp-key/i, 'the upstream reflected the header');
      const failed = await client.callTool({ name: 'fail', arguments: {} });
      assert.equal(failed.isError, true);
      reflectingMcp.broken = true;
      try {
        const broken = await client.callTool({ name: 'whoami', arguments: {} });
        assert.equal(broken.isError, true);
        const text = JSON.stringify([whoami, failed, broken]);
        assert.match(JSON.stringify(broken), /x-mcp-key/i, 'the transport error carried the echo');
        for (const form of FORMS.mcp!) assert.equal(text.includes(form), false, `"${form}" came back in ${text}`);
      } finally {
        reflectingMcp.broken = false;
      }
    });
  });
}
