// What the console needs from the native API: list filters, audit events with names, and "try a tool".
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, OWNER_KEY, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';
import { startUpstreamApi, type UpstreamApi } from './support/upstream-api.js';

const WS = '/api/v1/workspaces/default';
const API_KEY = 'upstream-key-7c21e0';

for (const engine of ENGINES) {
  describe(`native API for the console [${engine}]`, () => {
    let app: TestApp;
    let upstream: UpstreamApi;
    let viewerKey: string;
    let editorKey: string;

    const ok = async (method: string, url: string, body?: unknown, key = OWNER_KEY) => {
      const reply = await app.call(method, url, { body, key });
      assert.ok(reply.status < 300, `${method} ${url}: ${reply.status} ${reply.text}`);
      return reply.body;
    };
    const names = async (url: string, field = 'name') =>
      ((await ok('GET', url)).items as Record<string, unknown>[]).map((item) => item[field]);

    before(async () => {
      upstream = await startUpstreamApi();
      app = await startTestApp(engine, { env: { GATEWAY_UPSTREAM_TIMEOUT_MS: '2000' } });
      viewerKey = (await ok('POST', `${WS}/api-keys`, { name: 'Vera Viewer', role: 'viewer' })).key;
      editorKey = (await ok('POST', `${WS}/api-keys`, { name: 'Eddie Editor', role: 'editor' })).key;
    });
    after(async () => {
      await app?.stop();
      await upstream?.close();
    });

    it('filters connectors by name and status, connections by name and health, clients by name and status', async () => {
      await ok('POST', `${WS}/connectors`, { id: 'f-orders', name: 'Orders API' });
      await ok('POST', `${WS}/connectors`, { id: 'f-billing', name: 'Billing 100%_off', status: 'disabled' });
      assert.deepEqual(await names(`${WS}/connectors?q=ORDERS`), ['Orders API']);
      assert.deepEqual(await names(`${WS}/connectors?status=disabled`), ['Billing 100%_off']);
      // LIKE wildcards in the search are literal.
      assert.deepEqual(await names(`${WS}/connectors?q=%25_`), ['Billing 100%_off']);
      assert.deepEqual(await names(`${WS}/connectors?q=orders&status=disabled`), []);

      for (const name of ['orders-primary', 'orders-replica', 'billing'])
        await ok('POST', `${WS}/connections`, { name, type: 'http', content: { url: 'http://127.0.0.1:1' } });
      const replica = ((await ok('GET', `${WS}/connections?q=replica`)).items as { id: number }[])[0]!;
      // A refused port: the test records health "failing".
      await ok('POST', `${WS}/connections/${replica.id}/test`);
      assert.deepEqual(await names(`${WS}/connections?q=Orders`), ['orders-primary', 'orders-replica']);
      assert.deepEqual(await names(`${WS}/connections?health=failing`), ['orders-replica']);
      assert.deepEqual(await names(`${WS}/connections?health=unknown&q=orders`), ['orders-primary']);
      const bad = await app.call('GET', `${WS}/connections?health=broken`);
      assert.equal(bad.status, 400, bad.text);

      await ok('POST', `${WS}/access-clients`, { id: 'bot-a', name: 'Support bot' });
      await ok('POST', `${WS}/access-clients`, { id: 'bot-b', name: 'Sales bot', status: 'disabled' });
      assert.deepEqual(await names(`${WS}/access-clients?q=support`, 'id'), ['bot-a']);
      assert.deepEqual(await names(`${WS}/access-clients?status=disabled`, 'id'), ['bot-b']);
    });

    it('filters toolsets by name and phase, and pages through a filtered list', async () => {
      await ok('POST', `${WS}/toolsets`, {
        name: 'shop',
        spec: { schema: { type: 'OpenAPI', detail: upstream.document() } },
      });
      await ok('POST', `${WS}/toolsets`, {
        name: 'shop-broken',
        spec: { schema: { type: 'OpenAPI', detail: 'openapi: 9.0.0' } },
      });
      await ok('POST', `${WS}/toolsets`, {
        name: 'other',
        spec: { schema: { type: 'OpenAPI', detail: upstream.document() } },
      });
      for (const name of ['shop', 'shop-broken', 'other']) await settledToolset(app, name);
      assert.deepEqual(await names(`${WS}/toolsets?phase=Failed`), ['shop-broken']);
      assert.deepEqual(await names(`${WS}/toolsets?phase=Installed&q=SHOP`), ['shop']);
      const first = await ok('GET', `${WS}/toolsets?q=shop&limit=1`);
      assert.deepEqual(
        first.items.map((t: { name: string }) => t.name),
        ['shop'],
      );
      const second = await ok('GET', `${WS}/toolsets?q=shop&limit=1&cursor=${first.nextCursor}`);
      assert.deepEqual(
        second.items.map((t: { name: string }) => t.name),
        ['shop-broken'],
      );
      assert.equal(second.nextCursor, null);
    });

    it("names who acted in audit events and in a resource's history", async () => {
      await ok('POST', `${WS}/connectors`, { id: 'by-editor', name: 'By editor' }, editorKey);
      const events = (await ok('GET', `${WS}/audit?resourceType=connector&resourceId=by-editor`)).items;
      assert.equal(events.length, 1);
      assert.equal(events[0].principalName, 'Eddie Editor');
      assert.match(events[0].principalId, /^prn_/);
      const history = (await ok('GET', `${WS}/connectors/by-editor/history`)).items;
      assert.equal(history[0].principalName, 'Eddie Editor');
    });

    it("calls a tool through the gateway's call path with the caller's rights", async () => {
      const authConfig = {
        type: 'APIKey',
        parameters: { apiKeyParameter: { in: 'header', key: 'X-Api-Key', value: API_KEY } },
      };
      await ok('POST', `${WS}/toolsets`, {
        name: 'keyed',
        spec: { schema: { type: 'OpenAPI', detail: upstream.document() }, authConfig },
      });
      assert.equal((await settledToolset(app, 'keyed')).status.phase, 'Installed');
      const url = `${WS}/toolsets/keyed/tools/getItem/call`;

      upstream.seen.length = 0;
      const reply = await app.call('POST', url, { body: { arguments: { id: 'a b/1' } }, key: editorKey });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.result.isError, undefined);
      assert.deepEqual(reply.body.result.structuredContent, { id: 'a b/1', verbose: null, tags: [] });
      assert.equal(typeof reply.body.latencyMs, 'number');
      // The stored credential went upstream, as from the gateway, and never comes back.
      assert.equal(upstream.seen[0]?.headers['x-api-key'], API_KEY);
      assert.ok(!reply.text.includes(API_KEY));

      const invalid = await app.call('POST', url, { body: { arguments: { id: 5 } }, key: editorKey });
      assert.equal(invalid.status, 400, invalid.text);
      assert.equal(invalid.body.code, 'validation-failed');
      const missing = await app.call('POST', `${WS}/toolsets/keyed/tools/nope/call`, { body: {}, key: editorKey });
      assert.equal(missing.status, 404, missing.text);
      const noToolset = await app.call('POST', `${WS}/toolsets/absent/tools/getItem/call`, { body: {} });
      assert.equal(noToolset.status, 404, noToolset.text);
      const unknownField = await app.call('POST', url, { body: { args: {} } });
      assert.equal(unknownField.status, 400, unknownField.text);

      upstream.seen.length = 0;
      const viewer = await app.call('POST', url, { body: { arguments: { id: 'x' } }, key: viewerKey });
      assert.equal(viewer.status, 403, viewer.text);
      assert.equal(upstream.seen.length, 0);
    });

    it('documents the filters and the call in /openapi.json', async () => {
      const doc = (await app.call('GET', '/openapi.json')).body;
      const query = (path: string) =>
        (doc.paths[path].get.parameters as { name: string; in: string }[])
          .filter((p) => p.in === 'query')
          .map((p) => p.name);
      assert.ok(query('/api/v1/workspaces/{workspaceId}/toolsets').includes('phase'));
      assert.ok(query('/api/v1/workspaces/{workspaceId}/connections').includes('health'));
      assert.ok(query('/api/v1/workspaces/{workspaceId}/access-clients').includes('status'));
      assert.ok(doc.paths['/api/v1/workspaces/{workspaceId}/toolsets/{name}/tools/{tool}/call'].post);
    });
  });
}
