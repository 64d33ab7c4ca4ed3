import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createKeyRotationService } from '../src/services/key-rotation-service.js';
import { runCli } from './support/cli-process.js';
import { openStored, sealUnbound, sealedPlaces } from './support/sealed.js';
import { ENGINES, OWNER_KEY, TEST_MASTER_KEYS, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';
import { startUpstreamApi, type UpstreamApi } from './support/upstream-api.js';

const API = '/api/v1';
const K1 = 'leaked-key-1-7d2e';
const K2 = 'fresh-key-2-94ab';

const authConfig = (value: string) => ({
  type: 'APIKey',
  parameters: { apiKeyParameter: { in: 'header', key: 'X-Api-Key', value } },
});

/** Another API with one operation only, so that a toolset made from it serves visibly different tools. */
const otherDocument = (url: string) =>
  JSON.stringify({
    openapi: '3.0.3',
    info: { title: 'Other', version: '1.0.0' },
    servers: [{ url }],
    paths: {
      '/items/{id}': {
        get: {
          operationId: 'fetchItem',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'ok' } },
        },
      },
    },
  });

for (const engine of ENGINES) {
  describe(`Identity across delete and create again [${engine}]`, () => {
    let app: TestApp;
    let base: string;
    let upstream: UpstreamApi;
    /** A second principal: a viewer of `default`, who owns whatever workspace it creates. */
    let otherKey: string;
    const clients: Client[] = [];

    /** Creates a toolset and an access client that may call it; the client's token. */
    async function serve(
      workspace: string,
      name: string,
      detail: string,
      apiKey: string,
      key: string,
      clientId?: string,
    ): Promise<string> {
      const created = await app.call('POST', `${API}/workspaces/${workspace}/toolsets`, {
        key,
        body: { name, spec: { schema: { type: 'OpenAPI', detail }, authConfig: authConfig(apiKey) } },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal((await settledToolset(app, name, { workspaceId: workspace, key })).status.phase, 'Installed');
      const client = await app.call('POST', `${API}/workspaces/${workspace}/access-clients`, {
        key,
        body: { ...(clientId ? { id: clientId } : {}), name: 'agent', toolsets: [name] },
      });
      assert.equal(client.status, 201, client.text);
      return client.body.secret;
    }

    async function connect(workspace: string, toolset: string, token: string): Promise<Client> {
      const client = new Client({ name: 'identity-test', version: '1.0.0' });
      const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/${workspace}/${toolset}`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      });
      await client.connect(transport);
      clients.push(client);
      return client;
    }

    async function post(
      workspace: string,
      toolset: string,
      token: string,
      body: unknown,
      headers: Record<string, string> = {},
    ) {
      const response = await fetch(`${base}/mcp/${workspace}/${toolset}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
        body: JSON.stringify(body),
      });
      return { status: response.status, headers: response.headers, text: await response.text() };
    }

    const sentKeys = () => upstream.seen.map((request) => request.headers['x-api-key']);

    before(async () => {
      upstream = await startUpstreamApi();
      app = await startTestApp(engine, { env: { RECONCILE_INTERVAL_MS: '3600000' } });
      base = await app.server.listen({ port: 0, host: '127.0.0.1' });
      const issued = await app.call('POST', `${API}/workspaces/default/api-keys`, {
        body: { name: 'tenant b', role: 'viewer' },
      });
      assert.equal(issued.status, 201, issued.text);
      otherKey = issued.body.key;
    });

    after(async () => {
      for (const client of clients) await client.close().catch(() => undefined);
      await app?.stop();
      await upstream?.close();
    });

    it("never sends the old tenant's key, and lists the new tools, once a workspace is deleted and created again by another owner", async () => {
      assert.equal((await app.call('POST', `${API}/workspaces`, { body: { id: 'team', name: 'Team A' } })).status, 201);
      const tokenA = await serve('team', 'shop', upstream.document(), K1, OWNER_KEY, 'agent');
      const first = await connect('team', 'shop', tokenA);
      assert.ok((await first.listTools()).tools.some((t) => t.name === 'getItem'));
      await first.callTool({ name: 'getItem', arguments: { id: '1' } });
      assert.deepEqual(sentKeys(), [K1]);

      assert.equal((await app.call('DELETE', `${API}/workspaces/team?force=true`)).status, 204);
      upstream.seen.length = 0;
      // At once, not when a cached lookup expires: the workspace took its client and toolset with it.
      await assert.rejects(first.callTool({ name: 'getItem', arguments: { id: '1' } }));
      assert.deepEqual(sentKeys(), []);
      const recreated = await app.call('POST', `${API}/workspaces`, {
        key: otherKey,
        body: { id: 'team', name: 'Team B' },
      });
      assert.equal(recreated.status, 201, recreated.text);
      const tokenB = await serve('team', 'shop', otherDocument(upstream.url), K2, otherKey, 'agent');

      upstream.seen.length = 0;
      const second = await connect('team', 'shop', tokenB);
      assert.deepEqual(
        (await second.listTools()).tools.map((t) => t.name),
        ['fetchItem'],
      );
      const called = await second.callTool({ name: 'fetchItem', arguments: { id: '2' } });
      assert.equal(called.isError, undefined, JSON.stringify(called));
      // The old tenant's token is gone with its workspace.
      const old = await post('team', 'shop', tokenA, {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: LATEST_PROTOCOL_VERSION,
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      });
      assert.equal(old.status, 401, old.text);
      assert.deepEqual(sentKeys(), [K2]);
    });

    it('sends the new key, never the leaked one, once a toolset is deleted and created again under its name', async () => {
      const token = await serve('default', 'leaky', upstream.document(), K1, OWNER_KEY);
      const first = await connect('default', 'leaky', token);
      upstream.seen.length = 0;
      await first.callTool({ name: 'getItem', arguments: { id: '1' } });
      assert.deepEqual(sentKeys(), [K1]);

      assert.equal((await app.call('DELETE', `${API}/workspaces/default/toolsets/leaky`)).status, 204);
      const created = await app.call('POST', `${API}/workspaces/default/toolsets`, {
        body: {
          name: 'leaky',
          spec: { schema: { type: 'OpenAPI', detail: upstream.document() }, authConfig: authConfig(K2) },
        },
      });
      assert.equal(created.status, 201, created.text);
      await settledToolset(app, 'leaky');

      upstream.seen.length = 0;
      const second = await connect('default', 'leaky', token);
      await second.callTool({ name: 'getItem', arguments: { id: '2' } });
      await second.callTool({ name: 'getItem', arguments: { id: '3' } });
      assert.deepEqual(sentKeys(), [K2, K2]);
    });

    it('refuses a session opened on a toolset once that toolset is deleted and created again under its name', async () => {
      const token = await serve('default', 'sessions', upstream.document(), K1, OWNER_KEY);
      const opened = await post('default', 'sessions', token, {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: LATEST_PROTOCOL_VERSION,
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      });
      assert.equal(opened.status, 200, opened.text);
      const session = { 'mcp-session-id': opened.headers.get('mcp-session-id')! };
      assert.equal(
        (await post('default', 'sessions', token, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, session)).status,
        200,
      );

      assert.equal((await app.call('DELETE', `${API}/workspaces/default/toolsets/sessions`)).status, 204);
      const created = await app.call('POST', `${API}/workspaces/default/toolsets`, {
        body: {
          name: 'sessions',
          spec: { schema: { type: 'OpenAPI', detail: upstream.document() }, authConfig: authConfig(K2) },
        },
      });
      assert.equal(created.status, 201, created.text);
      await settledToolset(app, 'sessions');

      const refused = await post(
        'default',
        'sessions',
        token,
        { jsonrpc: '2.0', id: 3, method: 'tools/list' },
        session,
      );
      assert.equal(refused.status, 404, refused.text);
    });

    it("shows a workspace created again under an old id none of the old workspace's audit events", async () => {
      assert.equal(
        (await app.call('POST', `${API}/workspaces`, { body: { id: 'audited', name: 'Audited A' } })).status,
        201,
      );
      assert.equal(
        (
          await app.call('POST', `${API}/workspaces/audited/connectors`, {
            body: { id: 'secret-crm', name: 'Secret CRM' },
          })
        ).status,
        201,
      );
      assert.equal((await app.call('DELETE', `${API}/workspaces/audited?force=true`)).status, 204);

      assert.equal(
        (await app.call('POST', `${API}/workspaces`, { key: otherKey, body: { id: 'audited', name: 'Audited B' } }))
          .status,
        201,
      );
      const events = await app.call('GET', `${API}/workspaces/audited/audit`, { key: otherKey });
      assert.equal(events.status, 200, events.text);
      assert.deepEqual(
        events.body.items.map((e: any) => e.action),
        ['workspace:create'],
      );
      const history = await app.call('GET', `${API}/workspaces/audited/connectors/secret-crm/history`, {
        key: otherKey,
      });
      assert.deepEqual(history.body?.items ?? [], []);

      // The operator still reads them all, each with the uid of the workspace it belongs to.
      const uid = (await app.call('GET', `${API}/workspaces/audited`, { key: otherKey })).body.uid;
      const all = await runCli(['admin', 'audit', '--workspace', 'audited'], app.store.env);
      assert.equal(all.code, 0, all.stderr);
      const lines = all.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      assert.deepEqual(
        lines.map((e) => e.action),
        ['workspace:create', 'workspace:delete', 'connector:create', 'workspace:create'],
      );
      assert.equal(lines[0].workspaceUid, uid);
      assert.equal(new Set(lines.slice(1).map((e) => e.workspaceUid)).size, 1);
      assert.notEqual(lines[1].workspaceUid, uid);
      const current = await runCli(['admin', 'audit', '--workspace-uid', uid], app.store.env);
      assert.deepEqual(
        current.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line).action),
        ['workspace:create'],
      );
    });

    it('gives a resource created again under the same names a new uid, kept for its whole life', async () => {
      const uidOf = async (url: string) => {
        const reply = await app.call('GET', url);
        assert.equal(reply.status, 200, reply.text);
        assert.match(reply.body.uid, /^[a-z]+_[0-9a-z]{16}$/);
        return reply.body.uid as string;
      };
      assert.equal((await app.call('POST', `${API}/workspaces`, { body: { id: 'again', name: 'Again' } })).status, 201);
      const connector = await app.call('POST', `${API}/workspaces/again/connectors`, {
        body: { id: 'crm', name: 'CRM' },
      });
      assert.equal(connector.status, 201, connector.text);
      const connection = await app.call('POST', `${API}/workspaces/again/connections`, {
        body: { name: 'db', type: 'http', content: { url: 'http://127.0.0.1:9' } },
      });
      assert.equal(connection.status, 201, connection.text);
      const client = await app.call('POST', `${API}/workspaces/again/access-clients`, {
        body: { id: 'bot', name: 'bot' },
      });
      assert.equal(client.status, 201, client.text);
      const urls = [
        `${API}/workspaces/again`,
        `${API}/workspaces/again/connectors/crm`,
        `${API}/workspaces/again/connections/${connection.body.id}`,
        `${API}/workspaces/again/access-clients/bot`,
      ];
      const before = await Promise.all(urls.map(uidOf));
      // A change keeps the uid; a PUT of what was read (uid included) is accepted.
      const read = (await app.call('GET', urls[1]!)).body;
      assert.equal((await app.call('PUT', urls[1]!, { body: { ...read, description: 'changed' } })).status, 200);
      assert.equal(await uidOf(urls[1]!), before[1]);

      assert.equal((await app.call('DELETE', `${API}/workspaces/again?force=true`)).status, 204);
      assert.equal((await app.call('POST', `${API}/workspaces`, { body: { id: 'again', name: 'Again' } })).status, 201);
      assert.equal(
        (await app.call('POST', `${API}/workspaces/again/connectors`, { body: { id: 'crm', name: 'CRM' } })).status,
        201,
      );
      const again = await app.call('POST', `${API}/workspaces/again/connections`, {
        body: { name: 'db', type: 'http', content: { url: 'http://127.0.0.1:9' } },
      });
      assert.equal(
        (await app.call('POST', `${API}/workspaces/again/access-clients`, { body: { id: 'bot', name: 'bot' } })).status,
        201,
      );
      const after = await Promise.all(
        [...urls.slice(0, 2), `${API}/workspaces/again/connections/${again.body.id}`, urls[3]!].map(uidOf),
      );
      for (let i = 0; i < urls.length; i++) assert.notEqual(after[i], before[i], urls[i]);
    });

    it('refuses a sealed value moved to another connection, field or workspace, naming the field and never showing the plaintext', async () => {
      const canary = 'canary-pw-5e1d';
      assert.equal((await app.call('POST', `${API}/workspaces`, { body: { id: 'moved', name: 'Moved' } })).status, 201);
      const create = async (workspace: string, name: string) => {
        const reply = await app.call('POST', `${API}/workspaces/${workspace}/connections`, {
          body: {
            name,
            type: 'postgresql',
            content: { host: '127.0.0.1', port: 9, database: 'app', username: 'u', password: canary },
          },
        });
        assert.equal(reply.status, 201, reply.text);
        return reply.body.id as number;
      };
      const [a, b, c] = [
        await create('default', 'pg-a'),
        await create('default', 'pg-b'),
        await create('moved', 'pg-c'),
      ];
      const contentOf = async (id: number) =>
        JSON.parse(
          (
            await app.db.kysely
              .selectFrom('connections')
              .select('content')
              .where('id', '=', id)
              .executeTakeFirstOrThrow()
          ).content,
        );
      const store = (id: number, content: unknown) =>
        app.db.kysely
          .updateTable('connections')
          .set({ content: JSON.stringify(content) })
          .where('id', '=', id)
          .execute();
      const test = (workspace: string, id: number) =>
        app.call('POST', `${API}/workspaces/${workspace}/connections/${id}/test`);

      const own = await test('default', a);
      assert.equal(own.status, 200, `at its place the value opens and the probe runs: ${own.text}`);
      const sealed = (await contentOf(a)).password;
      for (const [workspace, id] of [
        ['default', b],
        ['moved', c],
      ] as const) {
        await store(id, { ...(await contentOf(id)), password: sealed });
        const refused = await test(workspace, id);
        assert.equal(refused.status, 400, refused.text);
        assert.match(refused.text, /\/content\/password/);
        assert.ok(!refused.text.includes(canary));
      }
      await store(a, { ...(await contentOf(a)), username: sealed });
      // Under a key that is not secret a sealed value is never opened at all: the probe gets the mask.
      const otherField = await test('default', a);
      assert.ok(!otherField.text.includes(canary), otherField.text);
    });

    it("never sends a toolset key moved into another workspace's toolset", async () => {
      await serve('default', 'keyed', upstream.document(), K1, OWNER_KEY);
      assert.equal(
        (await app.call('POST', `${API}/workspaces`, { body: { id: 'thieves', name: 'Thieves' } })).status,
        201,
      );
      const token = await serve('thieves', 'thief', upstream.document(), K2, OWNER_KEY);
      const specOf = async (workspace: string, name: string) =>
        JSON.parse(
          (
            await app.db.kysely
              .selectFrom('toolsets')
              .select('spec')
              .where('workspace_id', '=', workspace)
              .where('name', '=', name)
              .executeTakeFirstOrThrow()
          ).spec,
        );
      const stolen = (await specOf('default', 'keyed')).authConfig.parameters.apiKeyParameter.value;
      const spec = await specOf('thieves', 'thief');
      spec.authConfig.parameters.apiKeyParameter.value = stolen;
      await app.db.kysely
        .updateTable('toolsets')
        .set((eb) => ({ spec: JSON.stringify(spec), revision: eb('revision', '+', 1) }))
        .where('workspace_id', '=', 'thieves')
        .where('name', '=', 'thief')
        .execute();

      upstream.seen.length = 0;
      const client = await connect('thieves', 'thief', token);
      const result = await client.callTool({ name: 'getItem', arguments: { id: '1' } });
      assert.equal(result.isError, true);
      assert.match((result.content as any)[0].text, /not sealed for this place/);
      assert.deepEqual(sentKeys(), []);
    });

    it('keys rewrap binds values of the older format to their place, and they keep working', async () => {
      const master = { id: 'test', key: Buffer.from(TEST_MASTER_KEYS.split(':')[1]!, 'base64') };
      const token = await serve('default', 'legacy', upstream.document(), K1, OWNER_KEY);
      const created = await app.call('POST', `${API}/workspaces/default/connections`, {
        body: { name: 'legacy-db', type: 'http', content: { url: 'http://127.0.0.1:9', password: 'pw-legacy' } },
      });
      assert.equal(created.status, 201, created.text);
      // Both values as a plugboard from before bound values stored them.
      const row = await app.db.kysely
        .selectFrom('toolsets')
        .select('spec')
        .where('workspace_id', '=', 'default')
        .where('name', '=', 'legacy')
        .executeTakeFirstOrThrow();
      const spec = JSON.parse(row.spec);
      spec.authConfig.parameters.apiKeyParameter.value = sealUnbound(master, K1);
      await app.db.kysely
        .updateTable('toolsets')
        .set({ spec: JSON.stringify(spec) })
        .where('workspace_id', '=', 'default')
        .where('name', '=', 'legacy')
        .execute();
      await app.db.kysely
        .updateTable('connections')
        .set({ content: JSON.stringify({ url: 'http://127.0.0.1:9', password: sealUnbound(master, 'pw-legacy') }) })
        .where('id', '=', created.body.id)
        .execute();

      const rotation = createKeyRotationService({ db: app.db, vault: app.vault });
      assert.equal((await rotation.status()).unbound, 2);
      const result = await rotation.rewrap({ batchSize: 10 });
      assert.equal(result.valuesRewrapped, 2);
      // The values the two tests before copied elsewhere (three connection fields, one toolset key) open nowhere:
      // left as they are, and counted.
      assert.equal(result.misplaced, 4);
      assert.equal(result.after.unbound, 0);
      const places = await sealedPlaces(app.db);
      for (const sealed of places.keys()) assert.ok(app.vault.isBound(sealed), sealed.slice(0, 12));
      const content = JSON.parse(
        (
          await app.db.kysely
            .selectFrom('connections')
            .select('content')
            .where('id', '=', created.body.id)
            .executeTakeFirstOrThrow()
        ).content,
      );
      assert.equal(await openStored(app.db, app.vault, content.password), 'pw-legacy');

      // A change of the toolset makes the gateway read its (now bound) key again.
      assert.equal(
        (await app.call('PATCH', `${API}/workspaces/default/toolsets/legacy`, { body: { description: 'rewrapped' } }))
          .status,
        200,
      );
      upstream.seen.length = 0;
      const client = await connect('default', 'legacy', token);
      const called = await client.callTool({ name: 'getItem', arguments: { id: '1' } });
      assert.equal(called.isError, undefined, JSON.stringify(called));
      assert.deepEqual(sentKeys(), [K1]);
    });

    // Two nodes on one PostgreSQL database: the other node learns of the change by the store's notifications.
    if (engine === 'postgres')
      it('another node never sends the old key, nor honours an old session, once a toolset is created again through this one', async () => {
        const token = await serve('default', 'twonode', upstream.document(), K1, OWNER_KEY);
        const config = loadConfig({
          ...app.store.env,
          PLUGBOARD_ADMIN_KEY: OWNER_KEY,
          RATE_LIMIT_GATEWAY_PER_SECOND: '0',
          RECONCILE_INTERVAL_MS: '3600000',
        });
        const other = await createApp(config);
        try {
          const otherBase = await other.server.listen({ port: 0, host: '127.0.0.1' });
          const onOther = async () => {
            const client = new Client({ name: 'identity-test', version: '1.0.0' });
            await client.connect(
              new StreamableHTTPClientTransport(new URL(`${otherBase}/mcp/default/twonode`), {
                requestInit: { headers: { authorization: `Bearer ${token}` } },
              }),
            );
            clients.push(client);
            return client;
          };
          const first = await onOther();
          upstream.seen.length = 0;
          await first.callTool({ name: 'getItem', arguments: { id: '1' } });
          assert.deepEqual(sentKeys(), [K1]);

          assert.equal((await app.call('DELETE', `${API}/workspaces/default/toolsets/twonode`)).status, 204);
          const created = await app.call('POST', `${API}/workspaces/default/toolsets`, {
            body: {
              name: 'twonode',
              spec: { schema: { type: 'OpenAPI', detail: upstream.document() }, authConfig: authConfig(K2) },
            },
          });
          assert.equal(created.status, 201, created.text);
          await settledToolset(app, 'twonode');

          upstream.seen.length = 0;
          // The old session is refused on the other node (its client starts over), then a new one sends the new key.
          await assert.rejects(first.callTool({ name: 'getItem', arguments: { id: '2' } }));
          const second = await onOther();
          await second.callTool({ name: 'getItem', arguments: { id: '3' } });
          assert.deepEqual(sentKeys(), [K2]);
        } finally {
          await other.close();
        }
      });
  });
}
