import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createMemoryRateLimiter } from '../src/rate-limit/memory-rate-limiter.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';
import { startUpstreamApi, type UpstreamApi } from './support/upstream-api.js';

const WS = '/api/v1/workspaces/default';
const BUDGET = 16 * 1024;
const FULL_MAX = 48 * 1024;
const LIST_LIMIT = 64 * 1024;
const names = (tools: readonly { name: string }[]) => tools.map((t) => t.name);

interface Operation {
  readonly id: string;
  readonly method?: string;
  readonly path: string;
  readonly summary?: string;
  readonly description?: string;
  /** Query parameters: name → description. */
  readonly query?: Readonly<Record<string, string>>;
}

/** An OpenAPI 3.0 document of the given operations (the test upstream answers `GET /items/…` and `GET /list`). */
function documentOf(serverUrl: string, operations: readonly Operation[]): string {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    (paths[op.path] ??= {})[op.method ?? 'get'] = {
      operationId: op.id,
      summary: op.summary ?? `Operation ${op.id}`,
      ...(op.description === undefined ? {} : { description: op.description }),
      parameters: Object.entries(op.query ?? {}).map(([name, description]) => ({
        name,
        in: 'query',
        description,
        schema: { type: 'string' },
      })),
      responses: { '200': { description: 'ok' } },
    };
  }
  return JSON.stringify({
    openapi: '3.0.3',
    info: { title: 'Bounds', version: '1' },
    servers: [{ url: serverUrl }],
    paths,
  });
}

const many = (count: number) => Array.from({ length: count }, (_, i) => ({ id: `op${i}`, path: `/items/r${i}` }));

/** `length` characters of plain words (nothing JSON escapes, one byte each). */
const words = (length: number) => 'lorem ipsum dolor sit amet '.repeat(Math.ceil(length / 27)).slice(0, length);

/** Five tools whose static catalogue grows by one byte per unit of `extra` (the last tool's description pad). */
const padded = (extra: number) =>
  Array.from({ length: 5 }, (_, i) => ({
    id: `pad${i}`,
    path: `/pad${i}`,
    query: { filter: words(12_800 + (i === 4 ? extra : 0)) },
  }));

// A property description with an emoji (two UTF-16 code units) right where compaction cuts it.
const EMOJI_AT_CUT = `${'x'.repeat(158)}\u{1F4C5} and then much more text that goes on`;
// A tool summary with one where search_tools cuts its first sentence (200) and one where the converter cuts (1,024).
const LONG_TOOL_TEXT = `${'y'.repeat(198)}\u{1F4C5}${'y'.repeat(822)}\u{1F4C5} and more`;

for (const engine of ENGINES) {
  describe(`MCP gateway catalogue bounds [${engine}]`, () => {
    let app: TestApp;
    let base: string;
    let upstream: UpstreamApi;
    let now = 0;
    const clients: Client[] = [];

    async function createClient(body: object): Promise<string> {
      const reply = await app.call('POST', `${WS}/access-clients`, { body: { name: 'agent', ...body } });
      assert.equal(reply.status, 201, reply.text);
      return reply.body.secret;
    }

    async function connect(toolset: string, secret: string): Promise<Client> {
      const client = new Client({ name: 'bounds-agent', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${base}/mcp/default/${toolset}`), {
          requestInit: { headers: { authorization: `Bearer ${secret}` } },
        }),
      );
      clients.push(client);
      return client;
    }

    async function install(name: string, operations: readonly Operation[], fields: object = {}) {
      const detail = documentOf(upstream.url, operations);
      const created = await app.call('POST', `${WS}/toolsets`, {
        body: { name, spec: { schema: { type: 'OpenAPI', detail }, ...fields } },
      });
      assert.equal(created.status, 201, created.text);
      const settled = await settledToolset(app, name, { timeoutMs: 60_000 });
      assert.equal(settled.status.phase, 'Installed', settled.status.message);
      return settled.status.outputs.catalog;
    }

    before(async () => {
      upstream = await startUpstreamApi();
      // The real memory limiter on a clock of the test's: no budget refills unless the test moves the clock.
      app = await startTestApp(engine, {
        env: { RECONCILE_INTERVAL_MS: '3600000', TOOL_SCHEMA_FULL_MAX_BYTES: String(FULL_MAX) },
        rateLimiter: createMemoryRateLimiter({ now: () => now }),
      });
      base = await app.server.listen({ port: 0, host: '127.0.0.1' });
    });

    after(async () => {
      for (const client of clients) await client.close().catch(() => undefined);
      await app?.stop();
      await upstream?.close();
    });

    it('serves 40 tools statically in auto mode and 41 dynamically; dynamic mode serves three tools even for three', async () => {
      const token = await createClient({ toolsets: ['*'] });
      const forty = await install('forty', many(40));
      const fortyOne = await install('forty-one', many(41));
      const three = await install('three-dynamic', many(3), { toolMode: 'dynamic' });
      assert.equal(forty.servedMode, 'static');
      assert.equal(fortyOne.servedMode, 'dynamic');
      assert.equal(three.servedMode, 'dynamic');
      const listed = (await (await connect('forty', token)).listTools()).tools;
      assert.equal(listed.length, 40);
      for (const toolset of ['forty-one', 'three-dynamic']) {
        const client = await connect(toolset, token);
        assert.deepEqual(names((await client.listTools()).tools), ['search_tools', 'describe_tool', 'call_tool']);
        const call = await client.callTool({ name: 'call_tool', arguments: { name: 'op2', arguments: {} } });
        assert.equal((call as CallToolResult).isError, undefined, JSON.stringify(call));
      }
    });

    it('serves a catalogue of exactly 64 kB statically in auto mode and one of a byte more dynamically', async () => {
      const token = await createClient({ toolsets: ['*'] });
      const probe = await install('pad-probe', padded(0));
      const extra = LIST_LIMIT - probe.staticListBytes;
      assert.ok(extra > 0 && probe.largestSchemaBytes + extra <= BUDGET, JSON.stringify(probe));
      const edge = await install('pad-edge', padded(extra));
      const over = await install('pad-over', padded(extra + 1));
      assert.deepEqual([edge.staticListBytes, edge.servedMode], [LIST_LIMIT, 'static']);
      assert.deepEqual([over.staticListBytes, over.servedMode], [LIST_LIMIT + 1, 'dynamic']);
      // What the status measures is what the gateway serves, to the byte.
      const { tools } = await (await connect('pad-edge', token)).listTools();
      assert.equal(tools.length, 5);
      assert.equal(Buffer.byteLength(JSON.stringify({ tools })), LIST_LIMIT);
      assert.equal(edge.listBytes, LIST_LIMIT);
      const dynamic = await connect('pad-over', token);
      assert.deepEqual(names((await dynamic.listTools()).tools), ['search_tools', 'describe_tool', 'call_tool']);
    });

    it('cuts long descriptions, at a character boundary, in served schemas; describe_tool gives them whole on full', async () => {
      const token = await createClient({ toolsets: ['*'] });
      // Forty query parameters of 600 characters of description each: 24 kB of schema, over the 16 kB budget.
      const query = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, words(600)]));
      const operations = [
        { id: 'wordy', path: '/list', query: { ...query, cutHere: EMOJI_AT_CUT }, summary: LONG_TOOL_TEXT },
      ];
      await install('wordy-static', operations, { toolMode: 'static' });
      await install('wordy-dynamic', operations, { toolMode: 'dynamic' });
      const [tool] = (await (await connect('wordy-static', token)).listTools()).tools;
      const client = await connect('wordy-dynamic', token);
      const described = (await client.callTool({ name: 'describe_tool', arguments: { name: 'wordy' } })) as any;
      for (const served of [tool!, described.structuredContent]) {
        const schema = served.inputSchema;
        assert.ok(Buffer.byteLength(JSON.stringify(schema)) <= BUDGET);
        assert.deepEqual(Object.keys(schema.properties).length, 41);
        assert.equal(schema.properties.p0.description, `${words(159)}…`);
        assert.equal(schema.properties.p0.type, 'string');
        // Never half of a surrogate pair: the emoji goes whole or not at all.
        assert.equal(schema.properties.cutHere.description, `${'x'.repeat(158)}…`);
        // The tool's own description, cut by the converter at 1,024 characters.
        assert.equal(served.description, `${LONG_TOOL_TEXT.slice(0, 1022)}…`);
      }
      const found = (await client.callTool({ name: 'search_tools', arguments: { query: 'wordy' } })) as any;
      assert.equal(found.structuredContent.tools[0].description, `${'y'.repeat(198)}…`);
      const full = (await client.callTool({ name: 'describe_tool', arguments: { name: 'wordy', full: true } })) as any;
      const fullSchema = full.structuredContent.inputSchema;
      assert.equal(fullSchema.properties.p0.description, words(600));
      assert.equal(fullSchema.properties.cutHere.description, EMOJI_AT_CUT);
      // Validation of a call still uses the full schema; a cut schema changes nothing of what is accepted.
      const call = await client.callTool({ name: 'call_tool', arguments: { name: 'wordy', arguments: { p0: 'a' } } });
      assert.equal((call as CallToolResult).isError, undefined, JSON.stringify(call));
    });

    it('gives the full schema on describe_tool {full: true} only up to TOOL_SCHEMA_FULL_MAX_BYTES', async () => {
      const token = await createClient({ toolsets: ['*'] });
      const under = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, words(1000)]));
      const over = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`p${i}`, words(1000)]));
      await install(
        'full-cap',
        [
          { id: 'under', path: '/under', query: under },
          { id: 'over', path: '/over', query: over },
        ],
        { toolMode: 'dynamic' },
      );
      const client = await connect('full-cap', token);
      const whole = (await client.callTool({ name: 'describe_tool', arguments: { name: 'under', full: true } })) as any;
      const size = Buffer.byteLength(JSON.stringify(whole.structuredContent.inputSchema));
      assert.ok(size > BUDGET && size <= FULL_MAX, String(size));
      const refused = await client.callTool({ name: 'describe_tool', arguments: { name: 'over', full: true } }).then(
        () => assert.fail('the full schema over the cap was given'),
        (error: unknown) => error,
      );
      assert.ok(refused instanceof McpError, String(refused));
      assert.equal(refused.code, ErrorCode.InvalidParams);
      assert.match(
        refused.message,
        new RegExp(`over this server's limit of ${FULL_MAX} \\(TOOL_SCHEMA_FULL_MAX_BYTES\\)`),
      );
      // Its budgeted schema is still given.
      const budgeted = (await client.callTool({ name: 'describe_tool', arguments: { name: 'over' } })) as any;
      assert.ok(Buffer.byteLength(JSON.stringify(budgeted.structuredContent.inputSchema)) <= BUDGET);
    });

    it("spends a client's rate limit the same way through call_tool as by a direct call: refused on the same call", async () => {
      await install('rl-static', many(3), { toolMode: 'static' });
      await install('rl-dynamic', many(3), { toolMode: 'dynamic' });
      const rateLimit = 3;
      const callers = {
        direct: { toolset: 'rl-static', call: (c: Client) => c.callTool({ name: 'op1', arguments: {} }) },
        call_tool: {
          toolset: 'rl-dynamic',
          call: (c: Client) => c.callTool({ name: 'call_tool', arguments: { name: 'op1', arguments: {} } }),
        },
      };
      const admitted: Record<string, number> = {};
      for (const [way, { toolset, call }] of Object.entries(callers)) {
        const client = await connect(toolset, await createClient({ toolsets: [toolset], rateLimit }));
        // Opening the session spent units too; a minute later the budget is whole again (and no more).
        now += 60_000;
        upstream.seen.length = 0;
        let calls = 0;
        let refusal: unknown;
        while (refusal === undefined && calls < 10) {
          try {
            const result = (await call(client)) as CallToolResult;
            assert.equal(result.isError, undefined, JSON.stringify(result));
            calls++;
          } catch (error) {
            refusal = error;
          }
        }
        assert.equal((refusal as { code?: unknown }).code, 429, `${way}: ${String(refusal)}`);
        assert.match(String(refusal), /Too many calls for access client/);
        assert.equal(upstream.seen.length, calls, `${way}: every admitted call reached the upstream, no other`);
        admitted[way] = calls;
      }
      // GCRA admits the burst plus one at once (src/rate-limit/gcra.ts): rateLimit N with burst N, N + 1 calls.
      assert.deepEqual(admitted, { direct: rateLimit + 1, call_tool: rateLimit + 1 });
    });
  });
}
