import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';

const WS = '/api/v1/workspaces/default';
const CONNECTIONS = `${WS}/connections`;
const PASSWORD = 'Wr0ng-pa55-Zx9';

// The real services of this machine: MariaDB, PostgreSQL and Redis on their standard ports.
const mariadb = { host: '127.0.0.1', port: 3306, username: 'root', password: '', database: 'test' };
const postgres = { host: '127.0.0.1', port: 5432, username: 'postgres', database: 'test' };
const redis = { host: '127.0.0.1', port: 6379 };

for (const engine of ENGINES) {
  describe(`connection tests against real systems [${engine}]`, () => {
    let app: TestApp;
    let upstream: Server;
    let upstreamUrl: string;
    before(async () => {
      app = await startTestApp(engine, { env: { CONNECTION_TEST_TIMEOUT_MS: '2000' } });
      upstream = createServer((request, response) => {
        response.statusCode = request.url === '/missing' ? 404 : 200;
        response.end();
      });
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    });
    after(async () => {
      await app?.stop();
      upstream?.close();
    });

    const create = async (body: object, query = '') => app.call('POST', `${CONNECTIONS}${query}`, { body });
    const test = (id: number) => app.call('POST', `${CONNECTIONS}/${id}/test`);

    for (const [type, content] of [
      ['mysql', mariadb],
      ['postgresql', postgres],
      ['redis', redis],
    ] as const) {
      it(`connects to the real ${type} and records a healthy result`, async () => {
        const created = await create({ name: `ok-${type}`, type, content });
        assert.equal(created.status, 201, created.text);
        assert.equal(created.body.health.state, 'unknown');
        const reply = await test(created.body.id);
        assert.equal(reply.status, 200, reply.text);
        assert.equal(reply.body.health.state, 'ok', reply.body.health.message);
        assert.ok(reply.body.latencyMs >= 0);
        const stored = await app.call('GET', `${CONNECTIONS}/${created.body.id}`);
        assert.equal(stored.body.health.state, 'ok');
        assert.equal(stored.body.revision, created.body.revision + 1);
        const history = await app.call('GET', `${CONNECTIONS}/${created.body.id}/history`);
        assert.equal(history.body.items[0].action, 'connection:test');
        assert.deepEqual(history.body.items[0].changedFields, ['health']);
      });
    }

    it('reports a refused login by name and never echoes the password', async () => {
      const created = await create({
        name: 'bad-login',
        type: 'mysql',
        content: { ...mariadb, username: 'pb_nobody', password: PASSWORD },
      });
      const reply = await test(created.body.id);
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.health.state, 'failing');
      assert.match(reply.body.health.message, /authentication failed|access denied/i);
      assert.ok(!reply.text.includes(PASSWORD));
      assert.ok(!(await app.call('GET', `${CONNECTIONS}/${created.body.id}`)).text.includes(PASSWORD));
    });

    it('names an unknown database, a closed port and an HTTP error', async () => {
      const database = await create({
        name: 'no-db',
        type: 'postgresql',
        content: { ...postgres, database: 'pb_missing_db' },
      });
      assert.match((await test(database.body.id)).body.health.message, /pb_missing_db.*does not exist|does not exist/);
      const closed = await create({ name: 'closed', type: 'redis', content: { host: '127.0.0.1', port: 1 } });
      assert.match((await test(closed.body.id)).body.health.message, /refused/);
      const missing = await create({ name: 'missing', type: 'http', content: { url: `${upstreamUrl}/missing` } });
      const reply = await test(missing.body.id);
      assert.equal(reply.body.health.state, 'failing');
      assert.match(reply.body.health.message, /404/);
    });

    it("tests an http connection against its connector's baseUrl", async () => {
      const connector = await app.call('POST', `${WS}/connectors`, {
        body: { name: 'upstream', baseUrl: upstreamUrl },
      });
      const created = await create({ name: 'via-connector', type: 'http', connectorId: connector.body.id });
      assert.equal((await test(created.body.id)).body.health.state, 'ok');
    });

    it('saves nothing when a test-before-save fails, and saves with the health when it passes', async () => {
      const before = (await app.call('GET', `${CONNECTIONS}?limit=200`)).body.items.length;
      const refused = await create(
        { name: 'checked', type: 'mysql', content: { ...mariadb, port: 1, password: PASSWORD } },
        '?test=true',
      );
      assert.equal(refused.status, 422, refused.text);
      assert.equal(refused.body.code, 'connection-test-failed');
      assert.ok(!refused.text.includes(PASSWORD));
      assert.equal((await app.call('GET', `${CONNECTIONS}?limit=200`)).body.items.length, before);

      const saved = await create({ name: 'checked', type: 'mysql', content: mariadb }, '?test=true');
      assert.equal(saved.status, 201, saved.text);
      assert.equal(saved.body.health.state, 'ok');

      const put = await app.call('PUT', `${CONNECTIONS}/${saved.body.id}?test=true`, {
        body: { ...saved.body, content: { ...mariadb, database: 'pb_missing_db' } },
      });
      assert.equal(put.status, 422, put.text);
      const patch = await app.call('PATCH', `${CONNECTIONS}/${saved.body.id}?test=true`, {
        body: { content: { port: 1, password: '' } },
      });
      assert.equal(patch.status, 422, patch.text);
      const unchanged = await app.call('GET', `${CONNECTIONS}/${saved.body.id}`);
      assert.equal(unchanged.body.revision, saved.body.revision);
      assert.equal(unchanged.body.content.database, 'test');

      const good = await app.call('PATCH', `${CONNECTIONS}/${saved.body.id}?test=true`, {
        body: { description: 'tested' },
      });
      assert.equal(good.status, 200, good.text);
      assert.equal(good.body.health.state, 'ok');
    });

    it('refuses to test a type it has no test for, and viewers may not run tests', async () => {
      const odd = await create({ name: 'odd', type: 'bigquery' });
      const reply = await test(odd.body.id);
      assert.equal(reply.status, 400, reply.text);
      assert.equal(reply.body.errors[0].path, '/type');
      const viewer = await app.call('POST', `${WS}/api-keys`, { body: { name: 'v', role: 'viewer' } });
      const denied = await app.call('POST', `${CONNECTIONS}/${odd.body.id}/test`, { key: viewer.body.key });
      assert.equal(denied.status, 403);
    });

    it('counts test results in /metrics', async () => {
      const metrics = await app.server.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /plugboard_connection_tests_total\{type="mysql",result="ok"\} \d+/);
      assert.match(
        metrics.body,
        /plugboard_http_requests_total\{method="POST",route="\/api\/v1\/workspaces\/:workspaceId\/connections\/:connectionId\/test",status="200"\} \d+/,
      );
    });
  });
}
