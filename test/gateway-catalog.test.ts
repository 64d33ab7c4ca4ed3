import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';
import { startUpstreamApi, type UpstreamApi } from './support/upstream-api.js';
import { LARGE_API_OPERATIONS, largeApiDocument } from './support/large-api.js';

const WS = '/api/v1/workspaces/default';
const API_KEY = 'catalog-key-8d21';
const BUDGET = 16 * 1024;

/** The error a call is refused with, as the SDK client raises it. */
async function refusal(call: Promise<unknown>): Promise<McpError> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof McpError, String(error));
    return error;
  }
  assert.fail('the call was not refused');
}

const names = (tools: readonly { name: string }[]) => tools.map((t) => t.name);

for (const engine of ENGINES) {
  describe(`MCP gateway catalogues [${engine}]`, () => {
    let app: TestApp;
    let base: string;
    let upstream: UpstreamApi;
    let token: string;
    const clients: Client[] = [];

    async function createClient(body: object): Promise<string> {
      const reply = await app.call('POST', `${WS}/access-clients`, { body: { name: 'agent', ...body } });
      assert.equal(reply.status, 201, reply.text);
      return reply.body.secret;
    }

    async function connect(toolset: string, secret = token): Promise<Client> {
      const client = new Client({ name: 'catalog-agent', version: '1.0.0' });
      const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/default/${toolset}`), {
        requestInit: { headers: { authorization: `Bearer ${secret}` } },
      });
      await client.connect(transport);
      clients.push(client);
      return client;
    }

    async function listAll(client: Client): Promise<{ names: string[]; pages: number }> {
      const all: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await client.listTools(cursor === undefined ? {} : { cursor });
        all.push(...names(page.tools));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== undefined);
      return { names: all, pages };
    }

    before(async () => {
      upstream = await startUpstreamApi();
      app = await startTestApp(engine, {
        env: {
          RECONCILE_INTERVAL_MS: '3600000',
          TOOLSET_MAX_DOCUMENT_BYTES: String(2 * 1024 * 1024),
          BODY_LIMIT: String(8 * 1024 * 1024),
        },
      });
      base = await app.server.listen({ port: 0, host: '127.0.0.1' });
      const authConfig = {
        type: 'APIKey',
        parameters: { apiKeyParameter: { in: 'header', key: 'X-Api-Key', value: API_KEY } },
      };
      const detail = largeApiDocument(upstream.url, upstream.document());
      const specs: Record<string, object> = {
        large: { schema: { type: 'OpenAPI', detail }, authConfig },
        'large-static': { schema: { type: 'OpenAPI', detail }, authConfig, toolMode: 'static' },
        curated: {
          schema: { type: 'OpenAPI', detail },
          authConfig,
          toolMode: 'static',
          include: [{ tag: 'users' }, { operationId: 'getItem' }, { path: '/items' }],
          exclude: [{ method: 'DELETE' }, { path: '/users/*/photos**' }],
          tools: {
            getItem: { name: 'read_item', description: 'Reads one item of the shop.' },
            users_ListNotes: { hidden: true },
          },
        },
      };
      for (const [name, spec] of Object.entries(specs)) {
        const created = await app.call('POST', `${WS}/toolsets`, { body: { name, spec } });
        assert.equal(created.status, 201, created.text);
      }
      for (const name of Object.keys(specs)) {
        const settled = await settledToolset(app, name, { timeoutMs: 60_000 });
        assert.equal(settled.status.phase, 'Installed', settled.status.message);
      }
      token = await createClient({ toolsets: ['*'] });
    });

    after(async () => {
      for (const client of clients) await client.close().catch(() => undefined);
      await app?.stop();
      await upstream?.close();
    });

    it('lists exactly search_tools, describe_tool and call_tool for a large document in auto mode', async () => {
      const toolset = await settledToolset(app, 'large');
      const { catalog } = toolset.status.outputs;
      assert.equal(catalog.servedMode, 'dynamic');
      assert.equal(catalog.tools, LARGE_API_OPERATIONS);
      assert.ok(catalog.staticListBytes > 64 * 1024, JSON.stringify(catalog));
      assert.ok(catalog.largestSchemaBytes <= BUDGET, JSON.stringify(catalog));
      assert.equal(catalog.estimatedTokens, Math.ceil(catalog.listBytes / 4));
      const client = await connect('large');
      const { tools, nextCursor } = await client.listTools();
      assert.deepEqual(names(tools), ['search_tools', 'describe_tool', 'call_tool']);
      assert.equal(nextCursor, undefined);
      assert.equal(Buffer.byteLength(JSON.stringify({ tools })), catalog.listBytes);
      assert.deepEqual((tools[0]!.inputSchema as any).required, ['query']);
      assert.deepEqual((tools[2]!.inputSchema as any).required, ['name', 'arguments']);
    });

    it('finds the operation that answers a request with search_tools, best first, as text and structuredContent', async () => {
      const client = await connect('large');
      const result = (await client.callTool({
        name: 'search_tools',
        arguments: { query: 'list events of a user', limit: 5 },
      })) as CallToolResult;
      const found = (result.structuredContent as any).tools;
      assert.ok(found.length > 0 && found.length <= 5);
      assert.equal(found[0].name, 'users_ListEvents', JSON.stringify(found));
      assert.deepEqual(found[0], {
        name: 'users_ListEvents',
        description: 'List events',
        method: 'GET',
        path: '/users/{user-id}/events',
      });
      assert.match(
        (result.content[0] as { text: string }).text,
        /users_ListEvents \(GET \/users\/\{user-id\}\/events\)/,
      );
      const item = (await client.callTool({
        name: 'search_tools',
        arguments: { query: 'read one item' },
      })) as CallToolResult;
      assert.ok((item.structuredContent as any).tools.length <= 8);
      assert.equal((item.structuredContent as any).tools[0].name, 'getItem');
      const bad = await refusal(client.callTool({ name: 'search_tools', arguments: { query: 'x', limit: 21 } }));
      assert.equal(bad.code, ErrorCode.InvalidParams);
    });

    it('describes a tool with a valid schema within the budget, required parameters exact, and in full on request', async () => {
      const client = await connect('large');
      const described = (await client.callTool({
        name: 'describe_tool',
        arguments: { name: 'users_CreateEvents' },
      })) as CallToolResult;
      const { name, description, inputSchema } = described.structuredContent as any;
      assert.equal(name, 'users_CreateEvents');
      assert.equal(description, 'Create event\n\nCreate event of a user in the directory.');
      assert.ok(Buffer.byteLength(JSON.stringify(inputSchema)) <= BUDGET, `${JSON.stringify(inputSchema).length}`);
      const ajv = new Ajv2020({ strict: true, validateFormats: false, allErrors: true });
      const validate = ajv.compile(inputSchema);
      assert.deepEqual(inputSchema.required, ['user-id', 'displayName']);
      assert.deepEqual(inputSchema.properties.sensitivity.enum, ['normal', 'personal', 'private', 'confidential']);
      assert.equal(inputSchema.properties['user-id'].type, 'string');
      assert.match(
        JSON.stringify(inputSchema),
        /call describe_tool with \{\\"name\\": \\"users_CreateEvents\\", \\"full\\": true\}/,
      );
      assert.ok(validate({ 'user-id': 'u1', displayName: 'Standup', settings: { level1: { level2: {} } } }));
      const full = (await client.callTool({
        name: 'describe_tool',
        arguments: { name: 'users_CreateEvents', full: true },
      })) as CallToolResult;
      const fullSchema = (full.structuredContent as any).inputSchema;
      assert.ok(Buffer.byteLength(JSON.stringify(fullSchema)) > BUDGET);
      assert.doesNotThrow(() => new Ajv2020({ strict: true, validateFormats: false }).compile(fullSchema));
      const unknown = await refusal(client.callTool({ name: 'describe_tool', arguments: { name: 'nope' } }));
      assert.equal(unknown.code, ErrorCode.InvalidParams);
    });

    it('calls through call_tool exactly as a static call: upstream with credentials, same answer, same validation errors', async () => {
      const dynamic = await connect('large');
      const fixed = await connect('large-static');
      upstream.seen.length = 0;
      const args = { id: 'a 1', verbose: true, tag: ['x', 'y'] };
      const viaMeta = await dynamic.callTool({ name: 'call_tool', arguments: { name: 'getItem', arguments: args } });
      const direct = await fixed.callTool({ name: 'getItem', arguments: args });
      assert.deepEqual(viaMeta, direct);
      assert.equal(upstream.seen.length, 2);
      for (const seen of upstream.seen) {
        assert.equal(seen.headers['x-api-key'], API_KEY);
        assert.equal(seen.url, '/items/a%201?verbose=true&tag=x&tag=y');
      }
      const created = await dynamic.callTool({
        name: 'call_tool',
        arguments: { name: 'createItem', arguments: { name: 'pen', qty: 2 } },
      });
      assert.deepEqual((created as CallToolResult).structuredContent, { created: { name: 'pen', qty: 2 } });
      const badMeta = await refusal(
        dynamic.callTool({ name: 'call_tool', arguments: { name: 'createItem', arguments: { qty: 0 } } }),
      );
      const badDirect = await refusal(fixed.callTool({ name: 'createItem', arguments: { qty: 0 } }));
      assert.equal(badMeta.code, ErrorCode.InvalidParams);
      assert.equal(badMeta.message, badDirect.message);
      assert.deepEqual(badMeta.data, badDirect.data);
      const unknownMeta = await refusal(
        dynamic.callTool({ name: 'call_tool', arguments: { name: 'nope', arguments: {} } }),
      );
      const unknownDirect = await refusal(fixed.callTool({ name: 'nope', arguments: {} }));
      assert.equal(unknownMeta.message, unknownDirect.message.replace('"large-static"', '"large"'));
      // Validation uses the full schema, not the budgeted one: a collapsed level is still checked.
      const deep = await refusal(
        dynamic.callTool({
          name: 'call_tool',
          arguments: {
            name: 'users_CreateEvents',
            arguments: { 'user-id': 'u', displayName: 'd', settings: { level1: { level2: { mode: 'sideways' } } } },
          },
        }),
      );
      assert.match(deep.message, /settings\/level1\/level2\/mode must be one of: "on", "off", "auto"/);
    });

    it('pages tools/list in static mode, every tool exactly once', async () => {
      const client = await connect('large-static');
      const { names: listed, pages } = await listAll(client);
      assert.equal(listed.length, LARGE_API_OPERATIONS);
      assert.equal(new Set(listed).size, listed.length);
      assert.equal(pages, Math.ceil(LARGE_API_OPERATIONS / 100));
      assert.deepEqual(listed, names((await settledToolset(app, 'large-static')).status.outputs.tools));
      const catalogue = await app.call('GET', `${WS}/toolsets/large-static/tools?limit=100`);
      assert.equal(catalogue.status, 200, catalogue.text);
      assert.deepEqual(names(catalogue.body.items), listed.slice(0, 100));
      for (const tool of catalogue.body.items)
        assert.ok(tool.bytes > 0 && Buffer.byteLength(JSON.stringify(tool.inputSchema)) <= BUDGET);
      const bad = await refusal(client.listTools({ cursor: 'not-a-cursor' }));
      assert.equal(bad.code, ErrorCode.InvalidParams);
    });

    it('serves only what include, exclude and overrides leave, in list, search and call', async () => {
      const client = await connect('curated');
      const { names: listed } = await listAll(client);
      const expected = [
        'read_item',
        'createItem',
        ...['Events', 'Messages', 'Members', 'Tasks', 'Notes', 'Permissions', 'Calendars'].flatMap((c) =>
          ['List', 'Create', 'Get', 'Update'].map((verb) => `users_${verb}${c}`),
        ),
      ].filter((name) => name !== 'users_ListNotes');
      assert.deepEqual([...listed].sort(), [...expected].sort());
      const read = (await client.callTool({ name: 'read_item', arguments: { id: 'r1' } })) as CallToolResult;
      assert.deepEqual(read.structuredContent, { id: 'r1', verbose: null, tags: [] });
      const tools = await client.listTools();
      assert.equal(tools.tools.find((t) => t.name === 'read_item')?.description, 'Reads one item of the shop.');
      for (const gone of ['getItem', 'users_DeleteEvents', 'users_ListNotes', 'groups_ListEvents', 'users_ListPhotos'])
        assert.equal((await refusal(client.callTool({ name: gone, arguments: {} }))).code, ErrorCode.InvalidParams);
      const toolset = await settledToolset(app, 'curated');
      assert.equal(toolset.status.outputs.catalog.tools, expected.length);
      assert.equal(toolset.status.outputs.catalog.servedMode, 'static');
    });

    it('limits an access client to its named tools in list, search, describe and call', async () => {
      const limited = await createClient({
        toolsets: ['large', 'large-static'],
        tools: ['large/getItem', 'large/users_ListEvents', 'large-static/createItem'],
      });
      const dynamic = await connect('large', limited);
      const search = (await dynamic.callTool({
        name: 'search_tools',
        arguments: { query: 'events', limit: 20 },
      })) as CallToolResult;
      assert.deepEqual(names((search.structuredContent as any).tools), ['users_ListEvents']);
      const allowed = await dynamic.callTool({
        name: 'call_tool',
        arguments: { name: 'getItem', arguments: { id: 'z' } },
      });
      assert.equal((allowed as CallToolResult).isError, undefined);
      for (const call of [
        dynamic.callTool({ name: 'call_tool', arguments: { name: 'createItem', arguments: { name: 'x' } } }),
        dynamic.callTool({ name: 'describe_tool', arguments: { name: 'createItem' } }),
        dynamic.callTool({ name: 'createItem', arguments: { name: 'x' } }),
      ])
        assert.match((await refusal(call)).message, /Tool "createItem" in toolset "large" was not found|not found/i);
      const fixed = await connect('large-static', limited);
      assert.deepEqual((await listAll(fixed)).names, ['createItem']);
      await refusal(fixed.callTool({ name: 'getItem', arguments: { id: 'z' } }));
    });

    it('refuses bad catalogue fields with clear 400s', async () => {
      const detail = upstream.document();
      const cases: [object, string][] = [
        [{ toolMode: 'lazy' }, '/spec/toolMode'],
        [{ include: [{}] }, '/spec/include/0'],
        [{ exclude: [{ method: 'get' }] }, '/spec/exclude/0/method'],
        [{ include: [{ path: 'items' }] }, '/spec/include/0/path'],
        [{ tools: { getItem: { name: 'has space' } } }, '/spec/tools/getItem/name'],
        [{ tools: { getItem: { name: 'same' }, list: { name: 'same' } } }, '/spec/tools/list/name'],
        [{ tools: { getItem: {} } }, '/spec/tools/getItem'],
      ];
      for (const [fields, path] of cases) {
        const reply = await app.call('POST', `${WS}/toolsets`, {
          body: { name: 'bad', spec: { schema: { type: 'OpenAPI', detail }, ...fields } },
        });
        assert.equal(reply.status, 400, `${JSON.stringify(fields)}: ${reply.text}`);
        assert.ok(
          reply.body.errors.some((e: { path: string }) => e.path.startsWith(path)),
          `${JSON.stringify(fields)}: ${reply.text}`,
        );
      }
      const huge = await app.call('POST', `${WS}/toolsets`, {
        body: { name: 'bad', spec: { schema: { type: 'OpenAPI', detail: `${detail}${' '.repeat(2 * 1024 * 1024)}` } } },
      });
      assert.equal(huge.status, 400, huge.text);
      assert.match(huge.text, /TOOLSET_MAX_DOCUMENT_BYTES/);
      const client = await app.call('POST', `${WS}/access-clients`, {
        body: { name: 'x', toolsets: ['large'], tools: ['curated/read_item', 'large/bad name'] },
      });
      assert.equal(client.status, 400, client.text);
      // A spec that curates tools its document does not make fails its generation, saying which.
      const unknown = await app.call('POST', `${WS}/toolsets`, {
        body: {
          name: 'unknown-override',
          spec: { schema: { type: 'OpenAPI', detail }, tools: { nope: { hidden: true } } },
        },
      });
      assert.equal(unknown.status, 201, unknown.text);
      const failed = await settledToolset(app, 'unknown-override');
      assert.equal(failed.status.phase, 'Failed');
      assert.match(failed.status.message, /spec.tools names a tool the document does not make: nope/);
    });
  });
}
