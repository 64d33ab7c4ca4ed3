// JSON bodies from OFF_THREAD_JSON_BYTES on are parsed on a worker thread: the same answers as the inline parser
// (a value, too deep, not JSON, prototype poisoning). How long the event loop is held is measured by
// bench/toolsets/event-loop.ts, not here.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OFF_THREAD_JSON_BYTES } from '../src/http/json-body-parser.js';
import { startTestApp, type TestApp } from './support/stores.js';

const WS = '/api/v1/workspaces/default';
const pad = 'x'.repeat(OFF_THREAD_JSON_BYTES);

describe('large JSON bodies, parsed off the event loop', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp('sqlite', { env: { BODY_LIMIT: String(8 * OFF_THREAD_JSON_BYTES) } });
  });
  after(async () => {
    await app?.stop();
  });

  for (const [what, body] of [
    ['small', (text: string) => text],
    ['large', (text: string) => `${text.slice(0, -1)},"padding":"${pad}"}`],
  ] as const) {
    it(`answers a ${what} body as the inline parser does`, async () => {
      // Parsed: the schema then names the unknown field, or the bad one.
      const parsed = await app.call('POST', `${WS}/connectors`, { body: body('{"name":"c1","description":1}') });
      assert.equal(parsed.status, 400, parsed.text);
      assert.equal(parsed.body.code, 'validation-failed');
      assert.ok(
        parsed.body.errors.some((e: { path: string }) => e.path === '/description'),
        parsed.text,
      );

      const deep = await app.call('POST', `${WS}/connectors`, {
        body: body(`{"name":${'['.repeat(65)}${']'.repeat(65)}}`),
      });
      assert.equal(deep.status, 400, deep.text);
      assert.match(deep.body.errors[0].message, /more than 64 deep/);

      const broken = await app.call('POST', `${WS}/connectors`, { body: body('{"name":"c1",}') });
      assert.equal(broken.status, 400, broken.text);
      assert.equal(broken.body.code, 'validation-failed');
      assert.match(broken.body.detail, /not valid JSON|could not be read/);

      for (const poisoned of [
        '{"name":"c1","__proto__":{"admin":true}}',
        '{"name":"c1","constructor":{"prototype":{"admin":true}}}',
      ]) {
        const reply = await app.call('POST', `${WS}/connectors`, { body: body(poisoned) });
        assert.equal(reply.status, 400, reply.text);
        assert.match(reply.body.detail, /not valid JSON|could not be read/);
      }
    });
  }
});
