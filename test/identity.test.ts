import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { ENGINES, OWNER_KEY, startTestApp, type TestApp } from './support/stores.js';
import { startUpstreamApi, type UpstreamApi } from './support/upstream-api.js';

const API = '/api/v1';
const K1 = 'leaked-key-1-7d2e';
const K2 = 'fresh-key-2-94ab';

const authConfig = (value: string) => ({ type: 'APIKey', parameters: { apiKeyParameter: { in: 'header', key: 'X-Api-Key', value } } });

/** Another API with one operation only, so that a toolset made from it serves visibly different tools. */
const otherDocument = (url: string) =>
  JSON.stringify({
    openapi: '3.0.3',
    info: { title: 'Other', version: '1.0.0' },
    servers: [{ url }],
    paths: { '/items/{id}': { get: { operationId: 'fetchItem', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'ok' } } } } },
  });

for (const engine of ENGINES) {
  describe(`Identity across delete and create again [${engine}]`, () => {
    let app: TestApp;
    let base: string;
    let upstream: UpstreamApi;
    /** A second principal: a viewer of `default`, who owns whatever workspace it creates. */
    let otherKey: string;
    const clients: Client[] = [];

    async function settled(workspace: string, name: string, key: string): Promise<any> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const reply = await app.call('GET', `${API}/workspaces/${workspace}/toolsets/${name}`, { key });
        assert.equal(reply.status, 200, reply.text);
        if (reply.body.status.observedGeneration === reply.body.generation) return reply.body;
        if (Date.now() > deadline) throw new Error(`toolset ${name} was not reconciled: ${reply.text}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    /** Creates a toolset and an access client that may call it; the client's token. */
    async function serve(workspace: string, name: string, detail: string, apiKey: string, key: string, clientId?: string): Promise<string> {
      const created = await app.call('POST', `${API}/workspaces/${workspace}/toolsets`, { key, body: { name, spec: { schema: { type: 'OpenAPI', detail }, authConfig: authConfig(apiKey) } } });
      assert.equal(created.status, 201, created.text);
      assert.equal((await settled(workspace, name, key)).status.phase, 'Installed');
      const client = await app.call('POST', `${API}/workspaces/${workspace}/access-clients`, { key, body: { ...(clientId ? { id: clientId } : {}), name: 'agent', toolsets: [name] } });
      assert.equal(client.status, 201, client.text);
      return client.body.secret;
    }

    async function connect(workspace: string, toolset: string, token: string): Promise<Client> {
      const client = new Client({ name: 'identity-test', version: '1.0.0' });
      const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/${workspace}/${toolset}`), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
      await client.connect(transport);
      clients.push(client);
      return client;
    }

    async function post(workspace: string, toolset: string, token: string, body: unknown, headers: Record<string, string> = {}) {
      const response = await fetch(`${base}/mcp/${workspace}/${toolset}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify(body),
      });
      return { status: response.status, headers: response.headers, text: await response.text() };
    }

    const sentKeys = () => upstream.seen.map((request) => request.headers['x-api-key']);

    before(async () => {
      upstream = await startUpstreamApi();
      app = await startTestApp(engine, { env: { RECONCILE_INTERVAL_MS: '3600000' } });
      base = await app.server.listen({ port: 0, host: '127.0.0.1' });
      const issued = await app.call('POST', `${API}/workspaces/default/api-keys`, { body: { name: 'tenant b', role: 'viewer' } });
      assert.equal(issued.status, 201, issued.text);
      otherKey = issued.body.key;
    });

    after(async () => {
      for (const client of clients) await client.close().catch(() => undefined);
      await app?.stop();
      await upstream?.close();
    });

    it('never sends the old tenant\'s key, and lists the new tools, once a workspace is deleted and created again by another owner', async () => {
      assert.equal((await app.call('POST', `${API}/workspaces`, { body: { id: 'team', name: 'Team A' } })).status, 201);
      const tokenA = await serve('team', 'shop', upstream.document(), K1, OWNER_KEY, 'agent');
      const first = await connect('team', 'shop', tokenA);
      assert.ok((await first.listTools()).tools.some((t) => t.name === 'getItem'));
      await first.callTool({ name: 'getItem', arguments: { id: '1' } });
      assert.deepEqual(sentKeys(), [K1]);

      assert.equal((await app.call('DELETE', `${API}/workspaces/team?force=true`)).status, 204);
      const recreated = await app.call('POST', `${API}/workspaces`, { key: otherKey, body: { id: 'team', name: 'Team B' } });
      assert.equal(recreated.status, 201, recreated.text);
      const tokenB = await serve('team', 'shop', otherDocument(upstream.url), K2, otherKey, 'agent');

      upstream.seen.length = 0;
      const second = await connect('team', 'shop', tokenB);
      assert.deepEqual((await second.listTools()).tools.map((t) => t.name), ['fetchItem']);
      const called = await second.callTool({ name: 'fetchItem', arguments: { id: '2' } });
      assert.equal(called.isError, undefined, JSON.stringify(called));
      // The old tenant's token is gone with its workspace.
      const old = await post('team', 'shop', tokenA, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
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
      const created = await app.call('POST', `${API}/workspaces/default/toolsets`, { body: { name: 'leaky', spec: { schema: { type: 'OpenAPI', detail: upstream.document() }, authConfig: authConfig(K2) } } });
      assert.equal(created.status, 201, created.text);
      await settled('default', 'leaky', OWNER_KEY);

      upstream.seen.length = 0;
      const second = await connect('default', 'leaky', token);
      await second.callTool({ name: 'getItem', arguments: { id: '2' } });
      await second.callTool({ name: 'getItem', arguments: { id: '3' } });
      assert.deepEqual(sentKeys(), [K2, K2]);
    });

    it('refuses a session opened on a toolset once that toolset is deleted and created again under its name', async () => {
      const token = await serve('default', 'sessions', upstream.document(), K1, OWNER_KEY);
      const opened = await post('default', 'sessions', token, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
      assert.equal(opened.status, 200, opened.text);
      const session = { 'mcp-session-id': opened.headers.get('mcp-session-id')! };
      assert.equal((await post('default', 'sessions', token, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, session)).status, 200);

      assert.equal((await app.call('DELETE', `${API}/workspaces/default/toolsets/sessions`)).status, 204);
      const created = await app.call('POST', `${API}/workspaces/default/toolsets`, { body: { name: 'sessions', spec: { schema: { type: 'OpenAPI', detail: upstream.document() }, authConfig: authConfig(K2) } } });
      assert.equal(created.status, 201, created.text);
      await settled('default', 'sessions', OWNER_KEY);

      const refused = await post('default', 'sessions', token, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, session);
      assert.equal(refused.status, 404, refused.text);
    });

    it('shows a workspace created again under an old id none of the old workspace\'s audit events', async () => {
      assert.equal((await app.call('POST', `${API}/workspaces`, { body: { id: 'audited', name: 'Audited A' } })).status, 201);
      assert.equal((await app.call('POST', `${API}/workspaces/audited/connectors`, { body: { id: 'secret-crm', name: 'Secret CRM' } })).status, 201);
      assert.equal((await app.call('DELETE', `${API}/workspaces/audited?force=true`)).status, 204);

      assert.equal((await app.call('POST', `${API}/workspaces`, { key: otherKey, body: { id: 'audited', name: 'Audited B' } })).status, 201);
      const events = await app.call('GET', `${API}/workspaces/audited/audit`, { key: otherKey });
      assert.equal(events.status, 200, events.text);
      assert.deepEqual(
        events.body.items.map((e: any) => e.action),
        ['workspace:create'],
      );
      const history = await app.call('GET', `${API}/workspaces/audited/connectors/secret-crm/history`, { key: otherKey });
      assert.deepEqual(history.body?.items ?? [], []);
    });

    it('gives a resource created again under the same names a new uid, kept for its whole life', async () => {
      const uidOf = async (url: string) => {
        const reply = await app.call('GET', url);
        assert.equal(reply.status, 200, reply.text);
        assert.match(reply.body.uid, /^[a-z]+_[0-9a-z]{16}$/);
        return reply.body.uid as string;
      };
      assert.equal((await app.call('POST', `${API}/workspaces`, { body: { id: 'again', name: 'Again' } })).status, 201);
      const connector = await app.call('POST', `${API}/workspaces/again/connectors`, { body: { id: 'crm', name: 'CRM' } });
      assert.equal(connector.status, 201, connector.text);
      const connection = await app.call('POST', `${API}/workspaces/again/connections`, { body: { name: 'db', type: 'http', content: { url: 'http://127.0.0.1:9' } } });
      assert.equal(connection.status, 201, connection.text);
      const client = await app.call('POST', `${API}/workspaces/again/access-clients`, { body: { id: 'bot', name: 'bot' } });
      assert.equal(client.status, 201, client.text);
      const urls = [`${API}/workspaces/again`, `${API}/workspaces/again/connectors/crm`, `${API}/workspaces/again/connections/${connection.body.id}`, `${API}/workspaces/again/access-clients/bot`];
      const before = await Promise.all(urls.map(uidOf));
      // A change keeps the uid; a PUT of what was read (uid included) is accepted.
      const read = (await app.call('GET', urls[1]!)).body;
      assert.equal((await app.call('PUT', urls[1]!, { body: { ...read, description: 'changed' } })).status, 200);
      assert.equal(await uidOf(urls[1]!), before[1]);

      assert.equal((await app.call('DELETE', `${API}/workspaces/again?force=true`)).status, 204);
      assert.equal((await app.call('POST', `${API}/workspaces`, { body: { id: 'again', name: 'Again' } })).status, 201);
      assert.equal((await app.call('POST', `${API}/workspaces/again/connectors`, { body: { id: 'crm', name: 'CRM' } })).status, 201);
      const again = await app.call('POST', `${API}/workspaces/again/connections`, { body: { name: 'db', type: 'http', content: { url: 'http://127.0.0.1:9' } } });
      assert.equal((await app.call('POST', `${API}/workspaces/again/access-clients`, { body: { id: 'bot', name: 'bot' } })).status, 201);
      const after = await Promise.all([...urls.slice(0, 2), `${API}/workspaces/again/connections/${again.body.id}`, urls[3]!].map(uidOf));
      for (let i = 0; i < urls.length; i++) assert.notEqual(after[i], before[i], urls[i]);
    });
  });
}
