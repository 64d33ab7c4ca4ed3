// What must hold under pressure: concurrent If-Match writers lose nothing, no input anywhere makes the server
// fail, and a secret written anywhere never comes back out.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import pino from 'pino';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ENGINES, OWNER_KEY, createTestStore, startTestApp, type TestApp, type TestStore } from './support/stores.js';

const WS = '/api/v1/workspaces/default';
const WRITERS = 32;
const TARGET_UPDATES = 160;

for (const engine of ENGINES) {
  describe(`concurrent If-Match writers [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine);
    });
    after(async () => {
      await app?.stop();
    });

    it(`lose no update: ${WRITERS} writers doing GET then PUT with If-Match on one connector`, async () => {
      assert.equal(
        (await app.call('POST', `${WS}/connectors`, { body: { id: 'counter', name: 'counter', description: '0' } }))
          .status,
        201,
      );
      let acknowledged = 0;
      let conflicts = 0;
      const writer = async () => {
        while (acknowledged < TARGET_UPDATES) {
          const read = await app.call('GET', `${WS}/connectors/counter`);
          assert.equal(read.status, 200);
          const next = Number(read.body.description) + 1;
          const reply = await app.call('PUT', `${WS}/connectors/counter`, {
            body: { name: 'counter', description: String(next) },
            headers: { 'if-match': String(read.headers.etag) },
          });
          if (reply.status === 200) acknowledged++;
          else {
            assert.equal(reply.status, 412, reply.text);
            conflicts++;
          }
        }
      };
      await Promise.all(Array.from({ length: WRITERS }, writer));
      const final = await app.call('GET', `${WS}/connectors/counter`);
      assert.equal(
        Number(final.body.description),
        acknowledged,
        `${acknowledged} acknowledged, ${conflicts} conflicts`,
      );
      assert.equal(final.body.revision, acknowledged + 1);
      assert.ok(conflicts > 0, 'the writers never collided, so the test proved nothing');
      const history = await app.call('GET', `${WS}/connectors/counter/history?limit=200`);
      assert.equal(
        history.body.items.filter((e: any) => e.action === 'connector:update').length,
        Math.min(acknowledged, 200),
      );
    });
  });

  describe(`every route under fuzzed input [${engine}]`, () => {
    let app: TestApp;
    let operations: { method: string; path: string }[];
    let connectionId: number;
    before(async () => {
      app = await startTestApp(engine);
      await app.call('POST', `${WS}/connectors`, {
        body: { id: 'fz', name: 'F', authSchemeConfigs: [{ id: 'cfg', schemeType: 'bearer' }] },
      });
      connectionId = (
        await app.call('POST', `${WS}/connections`, { body: { connectorId: 'fz', name: 'c', type: 'http' } })
      ).body.id;
      const doc = (await app.call('GET', '/openapi.json', { key: null })).body;
      operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
      );
      assert.ok(operations.length >= 30, `only ${operations.length} operations in /openapi.json`);
    });
    after(async () => {
      await app?.stop();
    });

    /** Real ids most of the time, so requests get past the lookups; arbitrary text otherwise. */
    const param = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('default', 'fz', 'cfg', '1', 'x') },
      { weight: 1, arbitrary: fc.string({ maxLength: 70 }) },
      { weight: 1, arbitrary: fc.constantFrom('..', '%', '0', '-1', '9007199254740993', 'a'.repeat(65)) },
    );
    const body = fc.oneof(
      fc.constant(undefined),
      fc.jsonValue({ maxDepth: 3 }),
      fc.string({ unit: 'binary', maxLength: 60 }),
    );
    const header = fc.record(
      {
        'if-match': fc.oneof(
          fc.constant('*'),
          fc.string({ maxLength: 20 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
        ),
        'if-none-match': fc.constantFrom('*', '"1-x"', 'W/"2"', 'garbage'),
        'idempotency-key': fc.stringMatching(/^[\x21-\x7e]{0,20}$/),
        'content-type': fc.constantFrom(
          'application/json',
          'application/merge-patch+json',
          'text/plain',
          'application/json; charset=utf-8',
        ),
      },
      { requiredKeys: [] },
    );

    it('never answers 5xx, and always with a request id', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 10_000 }),
          fc.array(param, { minLength: 4, maxLength: 4 }),
          body,
          header,
          async (pick, params, value, headers) => {
            const operation = operations[pick % operations.length]!;
            let i = 0;
            const url = operation.path.replace(/\{[^}]+\}/g, (name) =>
              name === '{connectionId}' && params[i] === '1'
                ? String(connectionId)
                : encodeURIComponent(params[i++ % params.length]!),
            );
            const reply = await app.call(operation.method, url, {
              body: value === undefined ? undefined : typeof value === 'string' ? value : JSON.stringify(value),
              headers: headers,
            });
            assert.ok(
              reply.status < 500,
              `${operation.method} ${url} answered ${reply.status}: ${reply.text.slice(0, 300)}`,
            );
            assert.ok(reply.headers['x-request-id'], `${operation.method} ${url} has no X-Request-Id`);
          },
        ),
        { numRuns: 600 },
      );
    });
  });

  describe(`a canary secret [${engine}]`, () => {
    const CANARY = 'canary-7f3Qv9-never-seen';
    let store: TestStore;
    let app: App;
    let log = '';
    before(async () => {
      store = await createTestStore(engine);
      const sink = new Writable({
        write(chunk, _encoding, done) {
          log += chunk.toString();
          done();
        },
      });
      const config = loadConfig({
        ...store.env,
        PLUGBOARD_ADMIN_KEY: OWNER_KEY,
        LOG_LEVEL: 'trace',
        RATE_LIMIT_READ_PER_SECOND: '0',
        RATE_LIMIT_WRITE_PER_SECOND: '0',
      });
      app = await createApp(config, { logger: pino({ level: 'trace' }, sink) });
    });
    after(async () => {
      await app?.close();
      await store?.drop();
    });

    it('written through every secret-bearing field, never appears in a response, a log line or an audit row', async () => {
      const responses: string[] = [];
      const call = async (method: string, url: string, payload?: unknown) => {
        const reply = await app.server.inject({
          method: method as 'GET',
          url,
          headers: {
            authorization: `Bearer ${OWNER_KEY}`,
            ...(payload === undefined
              ? {}
              : { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }),
          },
          payload: payload === undefined ? undefined : JSON.stringify(payload),
        });
        responses.push(JSON.stringify(reply.headers), reply.body);
        return reply;
      };
      await call('POST', `${WS}/connectors`, {
        id: 'canary',
        name: 'C',
        authSchemeConfigs: [
          {
            id: 'oauth',
            schemeType: 'oauth2-client-credentials',
            config: { tokenUrl: 'https://t.test', clientSecret: CANARY },
          },
        ],
      });
      await call('POST', `${WS}/connectors/canary/auth-scheme-configs`, {
        id: 'key',
        schemeType: 'api-key',
        config: { name: 'X-Key', apiKey: CANARY },
      });
      const created = await call('POST', `${WS}/connections?test=true`, {
        connectorId: 'canary',
        name: 'c',
        type: 'mysql',
        content: { host: '127.0.0.1', port: 1, username: 'root', password: CANARY, nested: { token: CANARY } },
        credentials: [{ kind: 'action', authSchemeConfigId: 'oauth', secret: CANARY }],
      });
      assert.equal(created.statusCode, 422, created.body);
      const saved = JSON.parse(
        (
          await call('POST', `${WS}/connections`, {
            connectorId: 'canary',
            name: 'c',
            type: 'mysql',
            content: { host: '127.0.0.1', port: 1, username: 'root', password: CANARY, nested: { token: CANARY } },
            credentials: [{ kind: 'action', authSchemeConfigId: 'oauth', secret: CANARY }],
          })
        ).body,
      );
      const id = saved.id;
      await call('POST', `${WS}/connections/${id}/test`);
      await call('PATCH', `${WS}/connections/${id}`, { content: { password: `${CANARY}-2` }, bogus: CANARY });
      await call('PUT', `${WS}/connections/${id}`, {
        name: 'c',
        type: 'mysql',
        content: { password: CANARY, port: 1 },
      });
      await call('PATCH', `${WS}/connectors/canary/auth-scheme-configs/oauth`, { config: { clientSecret: CANARY } });
      await call('PUT', `${WS}/connections/${id}`, {
        name: 'c',
        type: 'mysql',
        content: { password: CANARY },
        credentials: [{ kind: 'action', authSchemeConfigId: 'nope', secret: CANARY }],
      });
      for (const url of [
        `${WS}/connections`,
        `${WS}/connections/${id}`,
        `${WS}/connectors`,
        `${WS}/connectors/canary`,
        `${WS}/connectors/canary/auth-scheme-configs`,
        `${WS}/audit?limit=200`,
        `${WS}/connections/${id}/history`,
      ]) {
        await call('GET', url);
      }
      assert.ok(responses.length > 20);
      for (const text of responses)
        assert.ok(!text.includes(CANARY), `a response holds the canary: ${text.slice(0, 300)}`);
      assert.ok(log.length > 0);
      assert.ok(!log.includes(CANARY), 'the log holds the canary');
      const audit = await app.db.kysely.selectFrom('audit_events').selectAll().execute();
      assert.ok(audit.length > 0);
      assert.ok(!JSON.stringify(audit).includes(CANARY), 'an audit row holds the canary');
    });
  });
}
