// The HTTP edge: bodies, content types, size limits, ids, queries, request ids, unknown routes, the OpenAPI
// document and operational endpoints, and a property-based fuzz that no request makes the server fail.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ENGINES, startTestApp, type Reply, type TestApp } from './support/stores.js';

const API = '/api/v1';
const WS = `${API}/workspaces/default`;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const FUZZ_RUNS = 200;

function assertProblem(reply: Reply, status: number, code: string, what = '') {
  assert.equal(reply.status, status, `${what} answered ${reply.status}: ${reply.text.slice(0, 300)}`);
  assert.match(String(reply.headers['content-type']), /^application\/problem\+json/, what);
  assert.equal(reply.body.code, code, what);
  assert.equal(reply.body.status, status, what);
  assert.equal(reply.body.type, `urn:plugboard:problem:${code}`, what);
  assert.equal(typeof reply.body.title, 'string', what);
  assert.equal(typeof reply.body.detail, 'string', what);
  assert.ok(Array.isArray(reply.body.errors), what);
  assert.equal(reply.body.requestId, reply.headers['x-request-id'], what);
}

const pathsOf = (reply: Reply): string[] => reply.body.errors.map((e: any) => e.path);

/** Paths that belong to a vendor dialect answer errors in that vendor's envelope, not the native problem+json. */
const VERSORI_SPACE = /^\/o(?:[/?]|$)/;

/**
 * A response the server may give to anything: never a 5xx, always a request id, errors in the envelope of
 * whoever owns the path (problem+json for the native API and unknown routes, Versori's `{code, message}` under `/o`).
 */
function assertSane(reply: Reply, what: string, url = '') {
  assert.ok(reply.status < 500, `${what} answered ${reply.status}: ${reply.text.slice(0, 500)}`);
  assert.match(String(reply.headers['x-request-id']), REQUEST_ID, what);
  if (reply.status < 400) return;
  if (VERSORI_SPACE.test(url)) {
    assert.match(String(reply.headers['content-type']), /^application\/json/, `${what}: ${reply.text.slice(0, 300)}`);
    assert.equal(typeof reply.body?.code, 'string', what);
    assert.equal(typeof reply.body?.message, 'string', what);
    return;
  }
  assert.match(
    String(reply.headers['content-type']),
    /^application\/problem\+json/,
    `${what}: ${reply.text.slice(0, 300)}`,
  );
  assert.equal(reply.body?.status, reply.status, what);
}

for (const engine of ENGINES) {
  describe(`request bodies, ids and queries [${engine}]`, () => {
    let app: TestApp;
    let connectionId: number;
    before(async () => {
      app = await startTestApp(engine);
      assert.equal((await app.call('POST', `${WS}/connectors`, { body: { id: 'gh', name: 'GitHub' } })).status, 201);
      const connection = await app.call('POST', `${WS}/connections`, {
        body: { connectorId: 'gh', name: 'bot', type: 'http' },
      });
      assert.equal(connection.status, 201, connection.text);
      connectionId = connection.body.id;
    });
    after(async () => {
      await app?.stop();
    });

    it('answers malformed JSON with 400 problem+json', async () => {
      for (const [method, url, contentType] of [
        ['POST', `${WS}/connectors`, 'application/json'],
        ['PUT', `${WS}/connectors/gh`, 'application/json'],
        ['PATCH', `${WS}/connectors/gh`, 'application/merge-patch+json'],
        ['PATCH', `${WS}/connections/${connectionId}`, 'application/json'],
        ['POST', `${API}/workspaces`, 'application/json'],
      ] as const) {
        for (const body of ['{"name":', '{name: "x"}', "{'name':'x'}", '{"name":"x"}}', 'nul', '\u0000']) {
          const reply = await app.call(method, url, { body, contentType });
          assertProblem(reply, 400, 'validation-failed', `${method} ${url} ${JSON.stringify(body)}`);
        }
      }
    });

    it('answers an empty body on a write with content-type JSON with 400', async () => {
      for (const [method, url, contentType] of [
        ['POST', `${WS}/connectors`, 'application/json'],
        ['PUT', `${WS}/connectors/gh`, 'application/json'],
        ['PATCH', `${WS}/connectors/gh`, 'application/merge-patch+json'],
        ['POST', `${WS}/connections`, 'application/json'],
      ] as const) {
        assertProblem(
          await app.call(method, url, { body: '', contentType }),
          400,
          'validation-failed',
          `${method} ${url}`,
        );
      }
    });

    it('answers a body that is JSON but not an object with 400', async () => {
      for (const body of ['[]', '"text"', '42', 'null', 'true']) {
        assertProblem(await app.call('POST', `${WS}/connectors`, { body }), 400, 'validation-failed', body);
        assertProblem(await app.call('PATCH', `${WS}/connectors/gh`, { body }), 400, 'validation-failed', body);
      }
    });

    it('answers a content type other than JSON with 415', async () => {
      const cases: [string, string, string][] = [
        ['POST', `${WS}/connectors`, 'text/plain'],
        ['PUT', `${WS}/connectors/gh`, 'text/plain'],
        ['POST', `${WS}/connections`, 'text/plain; charset=utf-8'],
        ['PUT', `${WS}/connections/${connectionId}`, 'text/plain'],
        ['PATCH', `${WS}/connectors/gh`, 'text/plain'],
        ['POST', `${WS}/connectors`, 'application/xml'],
        ['POST', `${WS}/connectors`, 'application/x-www-form-urlencoded'],
        ['PUT', `${WS}/connectors/gh`, 'multipart/form-data; boundary=x'],
        ['POST', `${WS}/connectors`, 'application/merge-patch+json'],
      ];
      for (const [method, url, contentType] of cases) {
        const reply = await app.call(method, url, { body: '{"name":"x"}', contentType });
        assertProblem(reply, 415, 'unsupported-media-type', `${method} ${url} ${contentType}`);
      }
      const charset = await app.call('POST', `${WS}/connectors`, {
        body: '{"name":"with charset"}',
        contentType: 'application/json; charset=utf-8',
      });
      assert.equal(charset.status, 201, charset.text);
      const patch = await app.call('PATCH', `${WS}/connectors/gh`, {
        body: '{"description":"plain json patch"}',
        contentType: 'application/json',
      });
      assert.equal(patch.status, 200, patch.text);
    });

    it('answers a body over the default limit of 1 MiB with 413, and accepts one just under it', async () => {
      const limit = 1024 * 1024;
      const sized = (bytes: number) => {
        const head = '{"name":"big","description":"';
        return `${head}${'a'.repeat(bytes - head.length - 2)}"}`;
      };
      const over = sized(limit + 1);
      assert.equal(Buffer.byteLength(over), limit + 1);
      assertProblem(await app.call('POST', `${WS}/connectors`, { body: over }), 413, 'payload-too-large');
      assertProblem(await app.call('PATCH', `${WS}/connectors/gh`, { body: over }), 413, 'payload-too-large');
      // At the limit the body is read and judged on its content (the description is too long).
      const at = await app.call('POST', `${WS}/connectors`, { body: sized(limit) });
      assertProblem(at, 400, 'validation-failed');
      assert.deepEqual([...new Set(pathsOf(at))], ['/description']);
    });

    it('rejects unknown fields with 400 naming each one by path', async () => {
      const cases: [string, string, unknown, string[]][] = [
        ['POST', `${WS}/connectors`, { name: 'x', bogus: 1 }, ['/bogus']],
        [
          'POST',
          `${WS}/connectors`,
          { name: 'x', authSchemeConfigs: [{ id: 'a', schemeType: 'bearer', extra: true }] },
          ['/authSchemeConfigs/0/extra'],
        ],
        ['PUT', `${WS}/connectors/gh`, { name: 'x', colour: 'red', size: 2 }, ['/colour', '/size']],
        ['POST', `${WS}/connections`, { name: 'x', type: 'http', passwd: 'p' }, ['/passwd']],
        [
          'POST',
          `${WS}/connections`,
          { name: 'x', type: 'http', credentials: [{ kind: 'action', authSchemeConfigId: 'a', secret: 's', note: 1 }] },
          ['/credentials/0/note'],
        ],
        [
          'PUT',
          `${WS}/connections/${connectionId}`,
          { connectorId: 'gh', name: 'bot', type: 'http', extra: 1 },
          ['/extra'],
        ],
        ['PATCH', `${WS}/connections/${connectionId}`, { extra: 1 }, ['/extra']],
        ['PATCH', `${WS}/connectors/gh`, { extra: 1 }, ['/extra']],
        ['POST', `${API}/workspaces`, { name: 'x', owner: 'me' }, ['/owner']],
        ['PUT', WS, { name: 'x', plan: 'pro' }, ['/plan']],
        ['POST', `${WS}/api-keys`, { name: 'x', role: 'viewer', scopes: [] }, ['/scopes']],
      ];
      for (const [method, url, body, paths] of cases) {
        const reply = await app.call(method, url, { body });
        assertProblem(reply, 400, 'validation-failed', `${method} ${url}`);
        for (const path of paths)
          assert.ok(
            pathsOf(reply).includes(path),
            `${method} ${url}: ${JSON.stringify(reply.body.errors)} lacks ${path}`,
          );
      }
      assert.equal((await app.call('GET', `${WS}/connectors/gh`)).body.name, 'GitHub');
    });

    it('answers bad ids in paths with 400 or 404, never a server error', async () => {
      const long = 'a'.repeat(65);
      const cases: [string, string, number][] = [
        ['GET', `${API}/workspaces/${long}`, 400],
        ['GET', `${WS}/connectors/${long}`, 400],
        ['GET', `${WS}/connectors/${'b'.repeat(101)}`, 400],
        ['GET', `${API}/workspaces/${'c'.repeat(300)}/connectors`, 400],
        ['GET', `${WS}/connectors/a%20b`, 400],
        ['GET', `${WS}/connectors/..%2Fx`, 400],
        ['GET', `${WS}/connectors/%00`, 400],
        ['GET', `${WS}/connectors/%F0%9F%98%80`, 400],
        ['GET', `${WS}/connectors/%`, 400],
        ['GET', `${WS}/connectors/%ZZ`, 400],
        ['GET', `${WS}/connectors/gh/versions/a%2Fb`, 400],
        ['GET', `${WS}/connections/0`, 400],
        ['GET', `${WS}/connections/-1`, 400],
        ['GET', `${WS}/connections/abc`, 400],
        ['GET', `${WS}/connections/1.5`, 400],
        ['GET', `${WS}/connections/1e3`, 400],
        ['GET', `${WS}/connections/01`, 400],
        ['GET', `${WS}/connections/99999999999999999999`, 400],
        ['GET', `${WS}/connections/9007199254740993`, 404],
        ['PUT', `${WS}/connections/9999999999999999`, 404],
        ['PATCH', `${WS}/connections/9999999999999999`, 404],
        ['DELETE', `${WS}/connections/9999999999999999`, 404],
        ['DELETE', `${WS}/connections/${long}`, 400],
        ['PUT', `${WS}/members/a%20b`, 400],
        ['DELETE', `${WS}/api-keys/..%2F..`, 400],
      ];
      for (const [method, url, status] of cases) {
        const body = method === 'PUT' ? { name: 'x', type: 'http' } : method === 'PATCH' ? {} : undefined;
        const reply = await app.call(method, url, { body });
        assertProblem(reply, status, status === 404 ? 'not-found' : reply.body?.code, `${method} ${url}`);
        assert.ok(
          ['validation-failed', 'bad-request', 'not-found'].includes(reply.body.code),
          `${method} ${url}: ${reply.body.code}`,
        );
      }
      const dotted = await app.call('GET', `${WS}/connectors/../x`);
      assert.ok(dotted.status === 400 || dotted.status === 404, `../x answered ${dotted.status}`);
      assertSane(dotted, '../x');
      const named = await app.call('GET', `${WS}/connectors/a%20b`);
      assert.deepEqual(pathsOf(named), ['path/connectorId']);
      const numeric = await app.call('GET', `${WS}/connections/abc`);
      assert.deepEqual(pathsOf(numeric), ['path/connectionId']);
    });

    it('answers bad query parameters with 400 naming query/<name>', async () => {
      const cases: [string, string, string][] = [
        ['GET', `${WS}/connectors?limit=0`, 'query/limit'],
        ['GET', `${WS}/connectors?limit=1000`, 'query/limit'],
        ['GET', `${WS}/connectors?limit=201`, 'query/limit'],
        ['GET', `${WS}/connectors?limit=abc`, 'query/limit'],
        ['GET', `${WS}/connectors?limit=1.5`, 'query/limit'],
        ['GET', `${WS}/connectors?limit=-1`, 'query/limit'],
        ['GET', `${WS}/connections?limit=0`, 'query/limit'],
        ['GET', `${WS}/connections?limit=abc`, 'query/limit'],
        ['GET', `${WS}/members?limit=1000`, 'query/limit'],
        ['GET', `${API}/workspaces?limit=0`, 'query/limit'],
        ['GET', `${WS}/connectors?foo=1`, 'query/foo'],
        ['GET', `${WS}/connections?unknown=x`, 'query/unknown'],
        ['GET', `${WS}/connectors/gh/versions?sort=name`, 'query/sort'],
        ['GET', `${WS}/connectors?cursor=not-a-cursor`, 'query/cursor'],
        ['GET', `${WS}/connections?cursor=${Buffer.from('{"k":"text"}').toString('base64url')}`, 'query/cursor'],
        ['GET', `${WS}/connections?connectorId=a%20b`, 'query/connectorId'],
        ['DELETE', `${WS}/connectors/gh?force=maybe`, 'query/force'],
        ['DELETE', `${WS}?force=perhaps`, 'query/force'],
      ];
      for (const [method, url, path] of cases) {
        const reply = await app.call(method, url);
        assertProblem(reply, 400, 'validation-failed', url);
        assert.ok(pathsOf(reply).includes(path), `${url}: ${JSON.stringify(reply.body.errors)} lacks ${path}`);
      }
      assert.equal((await app.call('GET', `${WS}/connectors/gh`)).status, 200);
      const ok = await app.call('GET', `${WS}/connectors?limit=200`);
      assert.equal(ok.status, 200);
    });

    it('refuses the NUL character in any text of a body or query with 400, on both stores alike', async () => {
      const cases: [string, string, unknown, string][] = [
        ['POST', `${WS}/connectors`, { name: 'a\u0000b' }, '/name'],
        ['PATCH', `${WS}/connectors/gh`, { description: 'x\u0000' }, '/description'],
        [
          'PUT',
          `${WS}/connectors/gh`,
          { name: 'GitHub', connectionVariables: [{ name: 'v', value: '\u0000' }] },
          '/connectionVariables/0/value',
        ],
        ['POST', `${WS}/connections`, { name: 'c\u0000', type: 'http' }, '/name'],
        ['PATCH', `${WS}/connections/${connectionId}`, { content: { 'a/b\u0000': 1 } }, '/content/a~1b\u0000'],
        ['POST', `${API}/workspaces`, { name: '\u0000' }, '/name'],
        ['PUT', WS, { name: 'w\u0000' }, '/name'],
        ['POST', `${WS}/api-keys`, { name: 'k\u0000', role: 'viewer' }, '/name'],
        ['GET', `${WS}/connectors?q=%00`, undefined, 'query/q'],
      ];
      const before = (await app.call('GET', `${WS}/connectors/gh`)).text;
      for (const [method, url, body, path] of cases) {
        const reply = await app.call(method, url, { body });
        assertProblem(reply, 400, 'validation-failed', `${method} ${url}`);
        assert.deepEqual(pathsOf(reply), [path], `${method} ${url}`);
      }
      assert.equal((await app.call('GET', `${WS}/connectors/gh`)).text, before);
    });

    it('refuses a forged cursor with 400 instead of passing it to the store', async () => {
      const forged = (k: unknown) => Buffer.from(JSON.stringify({ k })).toString('base64url');
      for (const [list, k] of [
        ['connections', 1e300],
        ['connections', -5.5],
        ['connections', '7'],
        ['connections', 2 ** 60],
        ['connectors', 'a\u0000'],
        ['connectors', 5],
        ['connectors', null],
        ['members', { nested: true }],
      ] as const) {
        const url = list === 'members' ? `${WS}/members?cursor=${forged(k)}` : `${WS}/${list}?cursor=${forged(k)}`;
        const reply = await app.call('GET', url);
        assertProblem(reply, 400, 'validation-failed', `${list} ${JSON.stringify(k)}`);
        assert.deepEqual(pathsOf(reply), ['query/cursor']);
      }
      const first = await app.call('GET', `${WS}/connectors?limit=1`);
      assert.equal(first.status, 200);
      assert.equal(first.body.items.length, 1);
    });

    it('puts X-Request-Id on every response', async () => {
      const etag = (await app.call('GET', `${WS}/connectors/gh`)).headers.etag as string;
      const replies: [string, Reply][] = [
        ['200', await app.call('GET', `${WS}/connectors/gh`)],
        ['201', await app.call('POST', `${WS}/connectors`, { body: { name: 'rid' } })],
        [
          '204',
          await app.call(
            'DELETE',
            `${WS}/connectors/${(await app.call('POST', `${WS}/connectors`, { body: { name: 'gone' } })).body.id}`,
          ),
        ],
        ['304', await app.call('GET', `${WS}/connectors/gh`, { headers: { 'if-none-match': etag } })],
        ['400', await app.call('GET', `${WS}/connectors?limit=0`)],
        ['400 bad url', await app.call('GET', `${WS}/connectors/%ZZ`)],
        ['401', await app.call('GET', `${WS}/connectors`, { key: null })],
        ['404', await app.call('GET', '/nowhere')],
        ['412', await app.call('PATCH', `${WS}/connectors/gh`, { body: {}, headers: { 'if-match': '"0-0"' } })],
        ['413', await app.call('POST', `${WS}/connectors`, { body: 'x'.repeat(1024 * 1024 + 10) })],
        ['415', await app.call('POST', `${WS}/connectors`, { body: 'x', contentType: 'text/plain' })],
        ['healthz', await app.call('GET', '/healthz', { key: null })],
        ['readyz', await app.call('GET', '/readyz', { key: null })],
        ['openapi', await app.call('GET', '/openapi.json', { key: null })],
        ['docs', await app.call('GET', '/docs/', { key: null })],
      ];
      assert.equal(replies.find(([name]) => name === '304')![1].status, 304);
      for (const [name, reply] of replies) assert.match(String(reply.headers['x-request-id']), REQUEST_ID, name);
      const ids = replies.map(([, reply]) => reply.headers['x-request-id']);
      assert.equal(new Set(ids).size, ids.length, 'request ids are unique');
    });

    it('echoes a valid client X-Request-Id and uses it as requestId in problems', async () => {
      for (const id of ['abc', 'trace-0001', 'A.b:c_d-e', '0'.repeat(128), 'f47ac10b-58cc-4372-a567-0e02b2c3d479']) {
        const ok = await app.call('GET', `${WS}/connectors`, { headers: { 'x-request-id': id } });
        assert.equal(ok.headers['x-request-id'], id);
        const problem = await app.call('GET', `${WS}/connectors/missing`, { headers: { 'x-request-id': id } });
        assertProblem(problem, 404, 'not-found');
        assert.equal(problem.body.requestId, id);
        const unauthenticated = await app.call('GET', `${WS}/connectors`, {
          key: null,
          headers: { 'x-request-id': id },
        });
        assert.equal(unauthenticated.body.requestId, id);
      }
    });

    it('replaces an invalid client X-Request-Id with its own', async () => {
      for (const id of ['a'.repeat(129), 'bad id', 'semi;colon', 'slash/id', 'quote"', '日本', '']) {
        const reply = await app.call('GET', `${WS}/connectors/missing`, { headers: { 'x-request-id': id } });
        const given = reply.headers['x-request-id'];
        assert.notEqual(given, id);
        assert.match(String(given), REQUEST_ID);
        assert.equal(reply.body.requestId, given);
      }
    });

    it('answers unknown routes and methods with 404 problem+json', async () => {
      for (const [method, url, key] of [
        ['GET', '/nope', null],
        ['GET', '/api/v2/workspaces', null],
        ['GET', `${API}/nope`, null],
        ['GET', `${API}/nope`, undefined],
        ['POST', `${WS}/connectors/gh/reboot`, undefined],
        ['DELETE', `${API}/workspaces`, undefined],
        ['PATCH', `${WS}/connectors`, undefined],
        ['POST', '/', null],
      ] as const) {
        const reply = await app.call(method, url, { key });
        assertProblem(reply, 404, 'not-found', `${method} ${url}`);
      }
    });

    it("sends a person who opens the server's address to the web console", async () => {
      for (const [method, url] of [
        ['GET', '/'],
        ['HEAD', '/'],
        ['GET', '/?from=bookmark'],
      ] as const) {
        const reply = await app.call(method, url, { key: null });
        assert.equal(reply.status, 302, `${method} ${url}: ${reply.text}`);
        assert.equal(reply.headers.location, '/console/');
      }
    });

    it('serves an OpenAPI 3.1 document covering every resource, each operation with a summary', async () => {
      const reply = await app.call('GET', '/openapi.json', { key: null });
      assert.equal(reply.status, 200);
      const doc = reply.body;
      assert.match(doc.openapi, /^3\.1\./);
      assert.equal(typeof doc.info.title, 'string');
      const paths = Object.keys(doc.paths);
      for (const segment of [
        '/workspaces',
        '/connectors',
        '/auth-scheme-configs',
        '/versions',
        '/connections',
        '/members',
        '/api-keys',
      ]) {
        assert.ok(
          paths.some((p) => p.startsWith(API) && p.includes(segment)),
          `no path for ${segment}`,
        );
      }
      assert.ok(paths.includes(`${API}/workspaces/{workspaceId}/connections/{connectionId}`));
      let operations = 0;
      for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
        for (const [method, operation] of Object.entries<any>(item)) {
          if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
          operations++;
          assert.equal(typeof operation.summary, 'string', `${method} ${path} has no summary`);
          assert.ok(operation.summary.length > 0, `${method} ${path} has an empty summary`);
          if (path.startsWith(API)) assert.ok(operation.responses?.['401'], `${method} ${path} does not document 401`);
        }
      }
      assert.ok(operations >= 30, `${operations} operations`);
      assert.ok(!paths.some((p) => p === '/openapi.json' || p === '/healthz' || p === '/readyz'));
    });

    it('serves the API docs as HTML at /docs', async () => {
      let reply = await app.call('GET', '/docs', { key: null });
      for (let hops = 0; reply.status >= 300 && reply.status < 400 && hops < 3; hops++) {
        const location = String(reply.headers.location);
        reply = await app.call('GET', location.startsWith('/') ? location : `/docs/${location.replace(/^\.\//, '')}`, {
          key: null,
        });
      }
      assert.equal(reply.status, 200);
      assert.match(String(reply.headers['content-type']), /^text\/html/);
      assert.match(reply.text, /<html/i);
    });

    it('answers /healthz and /readyz with 200 without a key', async () => {
      const health = await app.call('GET', '/healthz', { key: null });
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { status: 'ok' });
      const ready = await app.call('GET', '/readyz', { key: null });
      assert.equal(ready.status, 200);
      assert.equal(ready.body.status, 'ready');
    });
  });

  describe(`a lower BODY_LIMIT [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine, { env: { BODY_LIMIT: '2048' } });
      assert.equal((await app.call('POST', `${WS}/connectors`, { body: { id: 'gh', name: 'GitHub' } })).status, 201);
    });
    after(async () => {
      await app?.stop();
    });

    it('answers a 4 KiB body with 413 on every write method', async () => {
      const body = JSON.stringify({ name: 'x', description: 'd'.repeat(4096) });
      assert.ok(Buffer.byteLength(body) > 4096);
      for (const [method, url] of [
        ['POST', `${WS}/connectors`],
        ['PUT', `${WS}/connectors/gh`],
        ['PATCH', `${WS}/connectors/gh`],
        ['POST', `${WS}/connections`],
      ] as const) {
        assertProblem(await app.call(method, url, { body }), 413, 'payload-too-large', `${method} ${url}`);
      }
      assert.equal((await app.call('GET', `${WS}/connectors/gh`)).body.description, null);
    });

    it('accepts a body under the limit', async () => {
      const body = JSON.stringify({ name: 'x', description: 'd'.repeat(1000) });
      assert.ok(Buffer.byteLength(body) < 2048);
      const reply = await app.call('PATCH', `${WS}/connectors/gh`, { body });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.description.length, 1000);
    });

    it('refuses an unauthenticated oversized body with 401 before reading it', async () => {
      const body = JSON.stringify({ name: 'x', description: 'd'.repeat(4096) });
      assertProblem(await app.call('POST', `${WS}/connectors`, { body, key: null }), 401, 'unauthenticated');
    });
  });

  describe(`fuzzing the native API [${engine}]`, () => {
    let app: TestApp;
    let connectionId: number;
    before(async () => {
      app = await startTestApp(engine);
      const connector = await app.call('POST', `${WS}/connectors`, {
        body: {
          id: 'fz',
          name: 'Fuzz',
          authSchemeConfigs: [{ id: 'cfg', schemeType: 'api-key', config: { apiKey: 'k' } }],
          connectionVariables: [{ name: 'v', value: '1' }],
        },
      });
      assert.equal(connector.status, 201, connector.text);
      assert.equal((await app.call('POST', `${WS}/connectors/fz/versions`, { body: { name: 'v1' } })).status, 201);
      const connection = await app.call('POST', `${WS}/connections`, {
        body: {
          connectorId: 'fz',
          name: 'fuzzed',
          type: 'mysql',
          content: { host: 'h', password: 'p' },
          credentials: [{ kind: 'action', authSchemeConfigId: 'cfg', secret: 's' }],
        },
      });
      assert.equal(connection.status, 201, connection.text);
      connectionId = connection.body.id;
    });
    after(async () => {
      await app?.stop();
    });

    const writeRoutes = () => [
      { method: 'POST', url: `${WS}/connectors` },
      { method: 'PUT', url: `${WS}/connectors/fz` },
      { method: 'PATCH', url: `${WS}/connectors/fz` },
      { method: 'POST', url: `${WS}/connectors/fz/auth-scheme-configs` },
      { method: 'PATCH', url: `${WS}/connectors/fz/auth-scheme-configs/cfg` },
      { method: 'POST', url: `${WS}/connectors/fz/versions` },
      { method: 'POST', url: `${WS}/connections` },
      { method: 'PUT', url: `${WS}/connections/${connectionId}` },
      { method: 'PATCH', url: `${WS}/connections/${connectionId}` },
    ];

    const fieldNames = [
      'id',
      'name',
      'description',
      'protocolType',
      'baseUrl',
      'iconUrl',
      'documentationUrl',
      'status',
      'authSchemeConfigs',
      'authSchemeConfigIds',
      'connectionVariables',
      'versions',
      'connectorId',
      'type',
      'envType',
      'content',
      'variables',
      'credentials',
      'schemeType',
      'config',
      'isLatest',
      'isDefault',
      'revision',
      'createdAt',
      'health',
      'workspaceId',
    ];
    // Strings of any code point, control characters and U+0000 included: what a store may choke on.
    const anyText = fc.string({ unit: 'binary', maxLength: 40 });
    const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }));
    const nearlyValid = fc.dictionary(
      fc.oneof(fc.constantFrom(...fieldNames), fc.string({ maxLength: 8 }), anyText),
      anyJson,
      { maxKeys: 8 },
    );
    const printable = fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      maxLength: 80,
    });

    it('never fails with a 5xx on random JSON bodies', async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...writeRoutes()), fc.oneof(anyJson, nearlyValid), async (route, value) => {
          const reply = await app.call(route.method, route.url, { body: JSON.stringify(value) });
          assertSane(reply, `${route.method} ${route.url} ${JSON.stringify(value).slice(0, 300)}`);
        }),
        { numRuns: FUZZ_RUNS },
      );
    });

    it('never fails with a 5xx on random text bodies and content types', async () => {
      const text = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.string({ maxLength: 200 }),
        fc.json({ maxDepth: 3 }).chain((json) => fc.nat(json.length).map((cut) => json.slice(0, cut))),
      );
      const contentType = fc.constantFrom(
        'application/json',
        'application/merge-patch+json',
        'application/json; charset=latin1',
        'text/plain',
        'application/octet-stream',
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...writeRoutes()), text, contentType, async (route, body, type) => {
          const reply = await app.call(route.method, route.url, { body, contentType: type });
          assertSane(reply, `${route.method} ${route.url} ${type} ${JSON.stringify(body).slice(0, 300)}`);
        }),
        { numRuns: FUZZ_RUNS },
      );
    });

    it('never fails with a 5xx on random precondition and other header values', async () => {
      const etagish = fc
        .array(
          fc.oneof(
            fc.constantFrom('*', 'W/', '"', ',', ' ', '"1-', '-', '"*"'),
            fc.stringMatching(/^[0-9a-z-]{0,12}$/),
          ),
          { maxLength: 10 },
        )
        .map((parts) => parts.join(''));
      const value = fc.oneof(printable, etagish);
      const header = fc.constantFrom(
        'if-match',
        'if-none-match',
        'authorization',
        'x-request-id',
        'content-type',
        'accept',
        'content-encoding',
      );
      const requests = () => [
        { method: 'GET', url: `${WS}/connectors/fz` },
        { method: 'GET', url: `${WS}/connectors` },
        { method: 'GET', url: `${WS}/connections/${connectionId}` },
        { method: 'PUT', url: `${WS}/connectors/fz`, body: { name: 'Fuzz' } },
        { method: 'PATCH', url: `${WS}/connections/${connectionId}`, body: { description: 'd' } },
        { method: 'PATCH', url: `${WS}/connectors/fz/versions/none`, body: {} },
        { method: 'DELETE', url: `${WS}/connectors/not-there` },
      ];
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...requests()),
          fc.dictionary(header, value, { maxKeys: 3 }),
          async (request, headers) => {
            const reply = await app.call(request.method, request.url, { body: request.body, headers });
            assertSane(reply, `${request.method} ${request.url} ${JSON.stringify(headers)}`);
          },
        ),
        { numRuns: FUZZ_RUNS },
      );
    });

    it('never fails with a 5xx on random path segments and query strings', async () => {
      const templates = [
        `${API}/workspaces/{}`,
        `${API}/workspaces/{}/connectors`,
        `${API}/workspaces/{}/members/{}`,
        `${WS}/connectors{}`,
        `${WS}/connections{}`,
        `${WS}/connectors/{}`,
        `${WS}/connectors/{}/connection-count`,
        `${WS}/connectors/fz/auth-scheme-configs/{}`,
        `${WS}/connectors/{}/versions/{}`,
        `${WS}/connections/{}`,
        `${WS}/api-keys/{}`,
        `${API}/{}`,
        `/{}`,
      ];
      const segment = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 40 }).map(encodeURIComponent),
        fc.string({ maxLength: 120 }).map(encodeURIComponent),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/),
        fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map(String),
        fc.constantFrom('..', '.', '%', '%2', '%2F', '%00', '%C0%AF', '%FF', '', '~', '%25', 'x%20y', '1', '0'),
      );
      const cursor = fc
        .oneof(
          anyJson.map((k) => JSON.stringify({ k })),
          anyText,
        )
        .map((text) => Buffer.from(text).toString('base64url'));
      const query = fc.option(
        fc.array(
          fc.tuple(
            fc.oneof(fc.constantFrom('limit', 'cursor', 'force', 'q', 'connectorId'), fc.string({ maxLength: 6 })),
            fc.oneof(fc.string({ maxLength: 20 }), anyText, cursor),
          ),
          { maxLength: 3 },
        ),
        { nil: undefined },
      );
      const method = fc.constantFrom('GET', 'PUT', 'PATCH', 'POST', 'DELETE');
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...templates),
          fc.array(segment, { minLength: 2, maxLength: 2 }),
          query,
          method,
          async (template, segments, params, verb) => {
            let index = 0;
            let url = template.replace(/\{\}/g, () => segments[index++]!);
            if (params)
              url += `?${params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`;
            const body = verb === 'GET' || verb === 'DELETE' ? undefined : { name: 'n' };
            const reply = await app.call(verb, url, { body });
            assertSane(reply, `${verb} ${url}`, url);
          },
        ),
        { numRuns: FUZZ_RUNS },
      );
      assert.equal((await app.call('GET', WS)).status, 200);
    });
  });
}
