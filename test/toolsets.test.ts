import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ENGINES, OWNER_KEY, startTestApp, type TestApp } from './support/stores.js';
import { startUpstreamMcp, type UpstreamMcp } from './support/mcp-upstream.js';
import { openStored } from './support/sealed.js';

const WS = '/api/v1/workspaces/default';
const TOOLSETS = `${WS}/toolsets`;
const petstore = readFileSync(new URL('../src/openapi/fixtures/petstore-3.0.yaml', import.meta.url), 'utf8');
const PUBLIC_URL = 'https://plugboard.example.com';

/** Waits until the reconciler has observed the toolset's current generation. */
async function settled(app: TestApp, name: string): Promise<any> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const reply = await app.call('GET', `${TOOLSETS}/${name}`);
    assert.equal(reply.status, 200, reply.text);
    if (reply.body.status.observedGeneration === reply.body.generation) return reply.body;
    if (Date.now() > deadline) throw new Error(`toolset ${name} was not reconciled: ${reply.text}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const openApi = (detail: string, extra: object = {}) => ({ spec: { schema: { type: 'OpenAPI', detail }, ...extra } });

for (const engine of ENGINES) {
  describe(`toolsets [${engine}]`, () => {
    let app: TestApp;
    let upstream: UpstreamMcp;
    before(async () => {
      // The periodic sweep is slowed down so that it does not join the race test; triggers do the work here.
      app = await startTestApp(engine, { env: { PUBLIC_URL, RECONCILE_INTERVAL_MS: '3600000' } });
      upstream = await startUpstreamMcp();
    });
    after(async () => {
      await app?.stop();
      await upstream?.close();
    });

    it('turns an OpenAPI document into one tool per operation, with the MCP URL of the toolset', async () => {
      const created = await app.call('POST', TOOLSETS, {
        body: { name: 'pets', description: 'Pet shop', labels: { team: 'a' }, ...openApi(petstore) },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.headers.location, `${TOOLSETS}/pets`);
      assert.equal(created.body.kind, 'Toolset');
      assert.equal(created.body.generation, 1);
      assert.match(created.body.uid, /^[0-9]+$/);
      const toolset = await settled(app, 'pets');
      assert.equal(toolset.status.phase, 'Installed');
      assert.equal(toolset.status.message, null);
      assert.equal(toolset.status.observedGeneration, 1);
      const names = toolset.status.outputs.tools.map((t: any) => t.name);
      assert.ok(names.includes('listPets'), names.join());
      assert.equal(toolset.status.outputs.tools.length, toolset.status.outputs.openApiTools.length);
      const list = toolset.status.outputs.openApiTools.find((t: any) => t.toolName === 'listPets');
      assert.deepEqual({ method: list.method, path: list.path }, { method: 'GET', path: '/pets' });
      assert.equal(toolset.status.outputs.mcpServerConfig.url, `${PUBLIC_URL}/mcp/default/pets`);
      assert.equal(toolset.status.outputs.urls.internetUrl, `${PUBLIC_URL}/mcp/default/pets`);
      const tools = await app.call('GET', `${TOOLSETS}/pets/tools`);
      assert.deepEqual(
        tools.body.items.map((t: any) => t.name),
        names,
      );
      assert.equal(tools.body.items[0].inputSchema.type, 'object');
    });

    it('bumps generation on a change of spec only, and reconciles the new one', async () => {
      const before = await settled(app, 'pets');
      const described = await app.call('PATCH', `${TOOLSETS}/pets`, {
        body: { description: 'Pets and more', labels: { team: 'b' } },
      });
      assert.equal(described.status, 200, described.text);
      assert.equal(described.body.generation, before.generation);
      const trimmed = petstore.replace(/operationId: listPets/, 'operationId: browsePets');
      const respecced = await app.call('PATCH', `${TOOLSETS}/pets`, {
        body: { spec: { schema: { detail: trimmed } } },
      });
      assert.equal(respecced.body.generation, before.generation + 1);
      const after = await settled(app, 'pets');
      assert.equal(after.status.observedGeneration, before.generation + 1);
      assert.ok(after.status.outputs.tools.some((t: any) => t.name === 'browsePets'));
      const same = await app.call('PUT', `${TOOLSETS}/pets`, { body: { ...after } });
      assert.equal(same.status, 200, same.text);
      assert.equal(same.body.generation, after.generation);
      assert.equal(same.headers.etag, (await app.call('GET', `${TOOLSETS}/pets`)).headers.etag);
    });

    it('reports a broken document as Failed, pointing at the problem, and keeps serving the last good tools', async () => {
      const good = await settled(app, 'pets');
      const broken = petstore.replace('openapi: 3.0.3', 'openapi: 9.0.0');
      assert.notEqual(broken, petstore);
      assert.equal(
        (await app.call('PATCH', `${TOOLSETS}/pets`, { body: { spec: { schema: { detail: broken } } } })).status,
        200,
      );
      const failed = await settled(app, 'pets');
      assert.equal(failed.status.phase, 'Failed');
      assert.match(failed.status.message, /#\/openapi, line 1/);
      assert.deepEqual(failed.status.outputs.tools, good.status.outputs.tools);
      const yaml = await app.call('PATCH', `${TOOLSETS}/pets`, {
        body: { spec: { schema: { detail: 'openapi: 3.0.0\ninfo: [unclosed' } } },
      });
      assert.equal(yaml.status, 200);
      assert.equal((await settled(app, 'pets')).status.phase, 'Failed');
    });

    it('seals a change for the workspace now under its id, not for one deleted before it with its toolsets', async () => {
      const API = '/api/v1/workspaces';
      const small = JSON.stringify({
        openapi: '3.0.3',
        info: { title: 'again', version: '1' },
        servers: [{ url: 'https://api.example.com' }],
        paths: {},
      });
      const keyed = (value: string) =>
        openApi(small, {
          authConfig: { type: 'APIKey', parameters: { apiKeyParameter: { in: 'header', key: 'X-Key', value } } },
        });
      const sealedKey = async () => {
        const row = await app.db.kysely
          .selectFrom('toolsets')
          .select('spec')
          .where('workspace_id', '=', 'again')
          .where('name', '=', 'rebound')
          .executeTakeFirstOrThrow();
        return JSON.parse(row.spec).authConfig.parameters.apiKeyParameter.value as string;
      };
      const round = async (key: string) => {
        const created = await app.call('POST', API, { body: { id: 'again', name: 'Again' } });
        assert.equal(created.status, 201, created.text);
        const toolset = await app.call('POST', `${API}/again/toolsets`, {
          body: { name: 'rebound', ...keyed('first') },
        });
        assert.equal(toolset.status, 201, toolset.text);
        // A label first: the writer then knows the row (and its workspace) as this change left it.
        const labelled = await app.call('PATCH', `${API}/again/toolsets/rebound`, { body: { labels: { key } } });
        assert.equal(labelled.status, 200, labelled.text);
        const changed = await app.call('PATCH', `${API}/again/toolsets/rebound`, { body: keyed(key) });
        assert.equal(changed.status, 200, changed.text);
        assert.equal(await openStored(app.db, app.vault, await sealedKey()), key);
      };
      await round('key-of-the-first');
      const removed = await app.call('DELETE', `${API}/again?force=true`);
      assert.equal(removed.status, 204, removed.text);
      await round('key-of-the-second');
      assert.equal((await app.call('DELETE', `${API}/again?force=true`)).status, 204);
    });

    it('keeps the API key write-only: masked on read, kept when the mask comes back, sealed at rest', async () => {
      const authConfig = {
        type: 'APIKey',
        parameters: { apiKeyParameter: { in: 'header', key: 'X-Api-Key', value: 'upstream-key-123' } },
      };
      const created = await app.call('POST', TOOLSETS, {
        body: { name: 'keyed', ...openApi(petstore, { authConfig }) },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.spec.authConfig.parameters.apiKeyParameter.value, '******');
      const read = await settled(app, 'keyed');
      const echoed = await app.call('PUT', `${TOOLSETS}/keyed`, { body: { description: 'echoed', spec: read.spec } });
      assert.equal(echoed.status, 200, echoed.text);
      assert.equal(echoed.body.generation, read.generation, 'writing the mask back is no change of spec');
      const row = await app.db.kysely
        .selectFrom('toolsets')
        .select('spec')
        .where('name', '=', 'keyed')
        .executeTakeFirstOrThrow();
      assert.ok(!row.spec.includes('upstream-key-123'));
      const sealed = JSON.parse(row.spec).authConfig.parameters.apiKeyParameter.value;
      assert.equal(await openStored(app.db, app.vault, sealed), 'upstream-key-123');
      const noStored = await app.call('POST', TOOLSETS, {
        body: {
          name: 'masked',
          ...openApi(petstore, {
            authConfig: {
              ...authConfig,
              parameters: { apiKeyParameter: { ...authConfig.parameters.apiKeyParameter, value: '******' } },
            },
          }),
        },
      });
      assert.equal(noStored.status, 400);
      assert.equal(noStored.body.errors[0].path, '/spec/authConfig/parameters/apiKeyParameter/value');
    });

    it('lists the tools of an upstream MCP server for a toolset of type MCP', async () => {
      const created = await app.call('POST', TOOLSETS, {
        body: { name: 'upstream', spec: { schema: { type: 'MCP', detail: upstream.url } } },
      });
      assert.equal(created.status, 201, created.text);
      const toolset = await settled(app, 'upstream');
      assert.equal(toolset.status.phase, 'Installed', toolset.status.message);
      assert.deepEqual(toolset.status.outputs.tools.map((t: any) => t.name).sort(), ['add', 'echo']);
      const tools = await app.call('GET', `${TOOLSETS}/upstream/tools`);
      assert.equal(tools.body.items.find((t: any) => t.name === 'echo').inputSchema.properties.text.type, 'string');
      const unreachable = await app.call('POST', TOOLSETS, {
        body: {
          name: 'gone',
          spec: {
            schema: { type: 'MCP', detail: '{"url":"http://127.0.0.1:1/mcp","transportType":"streamable-http"}' },
          },
        },
      });
      assert.equal(unreachable.status, 201);
      assert.equal((await settled(app, 'gone')).status.phase, 'Failed');
    });

    it('validates names and specs, refuses duplicates, and records audit events', async () => {
      for (const body of [
        { name: 'Has-Caps', ...openApi(petstore) },
        { name: '-leading', ...openApi(petstore) },
        { name: 'ok', spec: { schema: { type: 'GraphQL', detail: 'x' } } },
        { name: 'ok', spec: { schema: { type: 'OpenAPI', detail: '' } } },
        { name: 'ok', spec: { schema: { type: 'OpenAPI', detail: ' \n\t ' } } },
        { name: 'ok', ...openApi(petstore), status: { phase: 'Installed' } },
      ]) {
        const reply = await app.call('POST', TOOLSETS, { body });
        assert.equal(reply.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${reply.text}`);
      }
      assert.equal((await app.call('POST', TOOLSETS, { body: { name: 'pets', ...openApi(petstore) } })).status, 409);
      const history = await app.call('GET', `${TOOLSETS}/pets/history`);
      assert.equal(history.status, 200);
      assert.ok(history.body.items.some((e: any) => e.action === 'toolset:create'));
      assert.ok(history.body.items.some((e: any) => e.changedFields.includes('spec.schema')));
      const viewer = await app.call('POST', `${WS}/api-keys`, { body: { name: 'v', role: 'viewer' } });
      assert.equal((await app.call('GET', TOOLSETS, { key: viewer.body.key })).status, 200);
      assert.equal((await app.call('DELETE', `${TOOLSETS}/pets`, { key: viewer.body.key })).status, 403);
      assert.equal((await app.call('DELETE', `${TOOLSETS}/pets`)).status, 204);
      assert.equal((await app.call('GET', `${TOOLSETS}/pets`)).status, 404);
    });

    it('reconciles a generation exactly once when reconcilers race for it', async () => {
      const created = await app.call('POST', TOOLSETS, { body: { name: 'raced', ...openApi(petstore) } });
      await settled(app, 'raced');
      // A second node on the same store. On SQLite the "nodes" would be two connections in one thread, which
      // block each other inside better-sqlite3; several SQLite nodes are not a deployment, so there the race is
      // between reconcilers of one node.
      const second: App | undefined =
        engine === 'postgres'
          ? await createApp(
              loadConfig({
                ...app.store.env,
                PLUGBOARD_ADMIN_KEY: OWNER_KEY,
                PUBLIC_URL,
                RECONCILE_INTERVAL_MS: '3600000',
              }),
            )
          : undefined;
      const other = second ?? app;
      try {
        // A new generation written straight into the store, so that nothing triggers its reconcile: the four
        // reconcilers below (two per node) race for it.
        await app.db.kysely.updateTable('toolsets').set({ generation: 5 }).where('name', '=', 'raced').execute();
        const key = { workspaceId: 'default', name: 'raced', generation: 5 };
        const results = await Promise.all([
          app.reconciler.reconcile(key),
          other.reconciler.reconcile(key),
          app.reconciler.reconcile(key),
          other.reconciler.reconcile(key),
        ]);
        assert.equal(results.filter(Boolean).length, 1, JSON.stringify(results));
        const after = await settled(app, 'raced');
        assert.equal(after.status.observedGeneration, 5);
        assert.equal(after.uid, created.body.uid);
      } finally {
        await second?.close();
      }
    });
  });
}
