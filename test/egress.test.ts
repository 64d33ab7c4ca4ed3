import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';
import { startUpstreamApi, type UpstreamApi } from './support/upstream-api.js';
import { startUpstreamMcp, type UpstreamMcp } from './support/mcp-upstream.js';

const WS = '/api/v1/workspaces/default';

/** Starts an app listening on 127.0.0.1, counting the connections its own server accepts. */
async function start(engine: (typeof ENGINES)[number], env: Record<string, string> = {}) {
  const app = await startTestApp(engine, {
    env: {
      CONNECTION_TEST_TIMEOUT_MS: '2000',
      GATEWAY_UPSTREAM_TIMEOUT_MS: '2000',
      RECONCILE_INTERVAL_MS: '3600000',
      ...env,
    },
  });
  const base = await app.server.listen({ port: 0, host: '127.0.0.1' });
  const accepted = { count: 0 };
  app.server.server.on('connection', () => accepted.count++);
  return { app, base, accepted };
}

async function testConnection(
  app: TestApp,
  type: string,
  content: object,
): Promise<{ state: string; message: string }> {
  const created = await app.call('POST', `${WS}/connections`, {
    body: { name: `c-${Math.random().toString(36).slice(2)}`, type, content },
  });
  assert.equal(created.status, 201, created.text);
  const reply = await app.call('POST', `${WS}/connections/${created.body.id}/test`);
  assert.equal(reply.status, 200, reply.text);
  return reply.body.health;
}

async function callTool(
  app: TestApp,
  base: string,
  toolset: string,
  name: string,
  args: Record<string, unknown>,
): Promise<CallToolResult> {
  const created = await app.call('POST', `${WS}/access-clients`, { body: { name: 'agent', toolsets: [toolset] } });
  assert.equal(created.status, 201, created.text);
  const client = new Client({ name: 'egress-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${base}/mcp/default/${toolset}`), {
      requestInit: { headers: { authorization: `Bearer ${created.body.secret}` } },
    }),
  );
  try {
    return (await client.callTool({ name, arguments: args })) as CallToolResult;
  } finally {
    await client.close();
  }
}

const textOf = (result: CallToolResult) => result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');

/** An HTTP listener that counts connections and answers 204: it must see none of those the policy refuses. */
async function countingListener(): Promise<{ port: number; count: () => number; close: () => void }> {
  let count = 0;
  const server: Server = createServer((_request, response) => response.writeHead(204, { connection: 'close' }).end());
  server.on('connection', () => count++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, count: () => count, close: () => server.close() };
}

for (const engine of ENGINES) {
  describe(`the egress policy at the edges, by default [${engine}]`, () => {
    let app: TestApp;
    let base: string;
    let accepted: { count: number };
    let upstream: UpstreamApi;
    before(async () => {
      ({ app, base, accepted } = await start(engine));
      upstream = await startUpstreamApi();
    });
    after(async () => {
      await app?.stop();
      await upstream?.close();
    });

    it('refuses a connection test to the cloud metadata address in any spelling, before connecting', async () => {
      for (const [type, content] of [
        ['http', { url: 'http://169.254.169.254/latest/meta-data/' }],
        ['http', { url: 'http://2852039166/latest/meta-data/' }],
        ['http', { url: 'http://[::ffff:a9fe:a9fe]/' }],
        ['redis', { host: '0xa9fea9fe' }],
        ['postgresql', { host: '0251.0376.0251.0376', username: 'x' }],
        ['mysql', { host: '0:0:0:0:0:ffff:a9fe:a9fe', username: 'x' }],
      ] as const) {
        const health = await testConnection(app, type, content);
        assert.equal(health.state, 'failing');
        assert.match(
          health.message,
          /^refused by the egress policy: .*169\.254\.169\.254\)? is a link-local address, where cloud metadata services answer$/,
          `${type} ${JSON.stringify(content)}`,
        );
      }
    });

    it("refuses a connection test to plugboard's own port, and its server sees no connection", async () => {
      const port = new URL(base).port;
      const before = accepted.count;
      for (const [type, content] of [
        ['http', { url: `${base}/metrics` }],
        ['http', { url: `http://localhost:${port}/healthz` }],
        ['redis', { host: '127.0.0.1', port }],
        ['postgresql', { host: '::ffff:127.0.0.1', port, username: 'x' }],
      ] as const) {
        const health = await testConnection(app, type, content);
        assert.equal(health.state, 'failing');
        assert.match(
          health.message,
          new RegExp(`^refused by the egress policy: .*port ${port} is plugboard's own listener$`),
          type,
        );
      }
      assert.equal(accepted.count, before);
    });

    it('answers a tool call whose upstream is the metadata address or its own port with an error naming the policy', async () => {
      for (const [name, server] of [
        ['meta', 'http://169.254.169.254/latest'],
        ['self', base],
      ] as const) {
        const created = await app.call('POST', `${WS}/toolsets`, {
          body: { name, spec: { schema: { type: 'OpenAPI', detail: upstream.document(server) } } },
        });
        assert.equal(created.status, 201, created.text);
        assert.equal((await settledToolset(app, name)).status.phase, 'Installed');
        const before = accepted.count;
        const result = await callTool(app, base, name, 'getItem', { id: '1' });
        assert.equal(result.isError, true);
        assert.match(
          textOf(result),
          /refused by the egress policy: (169\.254\.169\.254 is a link-local address|127\.0\.0\.1 port \d+ is plugboard's own listener)/,
          name,
        );
        // The MCP client's own connections: initialize, the call, the end of the session; none from the upstream call.
        assert.ok(accepted.count - before <= 3);
      }
    });

    it('fails an MCP toolset whose upstream is its own port, with a status message naming the policy', async () => {
      const created = await app.call('POST', `${WS}/toolsets`, {
        body: { name: 'loop', spec: { schema: { type: 'MCP', detail: `${base}/mcp/default/loop` } } },
      });
      assert.equal(created.status, 201, created.text);
      const before = accepted.count;
      const status = (await settledToolset(app, 'loop')).status;
      assert.equal(status.phase, 'Failed');
      assert.match(status.message, /refused by the egress policy: 127\.0\.0\.1 port \d+ is plugboard's own listener/);
      assert.equal(accepted.count, before);
    });

    it('still reaches loopback upstreams', async () => {
      assert.equal((await testConnection(app, 'redis', { host: 'localhost', port: 6379 })).state, 'ok');
    });
  });

  for (const allowed of [false, true]) {
    const setting = allowed ? 'EGRESS_DENY_PRIVATE=true and EGRESS_ALLOW=127.0.0.1/32' : 'EGRESS_DENY_PRIVATE=true';
    describe(`the egress policy at the edges with ${setting} [${engine}]`, () => {
      let app: TestApp;
      let base: string;
      let upstream: UpstreamApi;
      let upstreamMcp: UpstreamMcp;
      let listener: Awaited<ReturnType<typeof countingListener>>;
      before(async () => {
        ({ app, base } = await start(engine, {
          EGRESS_DENY_PRIVATE: 'true',
          ...(allowed ? { EGRESS_ALLOW: '127.0.0.1/32' } : {}),
        }));
        upstream = await startUpstreamApi();
        upstreamMcp = await startUpstreamMcp();
        listener = await countingListener();
      });
      after(async () => {
        await app?.stop();
        await upstream?.close();
        await upstreamMcp?.close();
        listener?.close();
      });

      it(
        allowed
          ? 'lets connection tests reach 127.0.0.1'
          : 'refuses connection tests to 127.0.0.1, naming the setting, before connecting',
        async () => {
          const http = await testConnection(app, 'http', { url: `http://127.0.0.1:${listener.port}/` });
          const redis = await testConnection(app, 'redis', { host: '127.0.0.1', port: 6379 });
          if (allowed) {
            assert.deepEqual([http.state, redis.state], ['ok', 'ok'], `${http.message} ${redis.message}`);
            assert.equal(listener.count(), 1);
          } else {
            const tcp = await testConnection(app, 'mysql', { host: '127.0.0.1', port: listener.port, username: 'x' });
            for (const health of [http, redis, tcp])
              assert.equal(
                health.message,
                'refused by the egress policy: 127.0.0.1 is a private address (EGRESS_DENY_PRIVATE=true)',
              );
            assert.equal(listener.count(), 0);
          }
        },
      );

      it(
        allowed
          ? 'lets a tool call reach its upstream on 127.0.0.1'
          : 'answers a tool call to 127.0.0.1 with an error naming the setting',
        async () => {
          const created = await app.call('POST', `${WS}/toolsets`, {
            body: { name: 'shop', spec: { schema: { type: 'OpenAPI', detail: upstream.document() } } },
          });
          assert.equal(created.status, 201, created.text);
          await settledToolset(app, 'shop');
          const result = await callTool(app, base, 'shop', 'getItem', { id: 'x1' });
          if (allowed) assert.deepEqual(result.structuredContent, { id: 'x1', verbose: null, tags: [] });
          else {
            assert.equal(result.isError, true);
            assert.match(
              textOf(result),
              /refused by the egress policy: 127\.0\.0\.1 is a private address \(EGRESS_DENY_PRIVATE=true\)/,
            );
            assert.equal(upstream.seen.length, 0);
          }
        },
      );

      it(
        allowed
          ? 'installs an MCP toolset on 127.0.0.1 and forwards its calls'
          : 'fails an MCP toolset on 127.0.0.1 and refuses its calls, naming the setting',
        async () => {
          // The upstream speaks Streamable HTTP only: the SSE transport is tried where the policy refuses it first.
          const transports = allowed ? (['streamable-http'] as const) : (['streamable-http', 'sse'] as const);
          for (const transportType of transports) {
            const name = transportType === 'sse' ? 'legacy' : 'relay';
            const detail = JSON.stringify({ url: upstreamMcp.url, transportType });
            const created = await app.call('POST', `${WS}/toolsets`, {
              body: { name, spec: { schema: { type: 'MCP', detail } } },
            });
            assert.equal(created.status, 201, created.text);
            const status = (await settledToolset(app, name)).status;
            if (allowed) assert.equal(status.phase, 'Installed', status.message);
            if (!allowed) {
              assert.equal(status.phase, 'Failed');
              assert.match(
                status.message,
                /refused by the egress policy: 127\.0\.0\.1 is a private address \(EGRESS_DENY_PRIVATE=true\)/,
                transportType,
              );
            }
          }
          // The gateway's own path to the upstream: the toolset as served, with a tool it would forward.
          const served = (await app.services.gateway.toolset('default', 'relay'))!;
          const entry = { name: 'add', description: '', inputSchema: { type: 'object' }, method: null, path: null };
          const tool = { entry: { ...entry, tags: [], operationId: null }, operation: undefined };
          const client = {
            workspaceId: 'default',
            id: 'c',
            uid: 'c',
            toolsets: ['*'],
            tools: [],
            rateLimit: null,
            rateKey: 'c',
          };
          const result = await app.services.gateway.callTool(
            { ...served, byName: new Map([['add', tool]]) },
            client,
            'add',
            { a: 2, b: 40 },
            'egress-test',
          );
          if (allowed) assert.deepEqual(result.content, [{ type: 'text', text: '42' }]);
          else {
            assert.equal(result.isError, true);
            assert.match(
              textOf(result),
              /refused by the egress policy: 127\.0\.0\.1 is a private address \(EGRESS_DENY_PRIVATE=true\)/,
            );
          }
        },
      );
    });
  }
}
