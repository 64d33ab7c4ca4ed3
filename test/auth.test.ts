// Authentication, roles, workspace isolation, members and API keys, across the native API and both stores.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, OWNER_KEY, startTestApp, type Reply, type TestApp } from './support/stores.js';

const API = '/api/v1';
const WS = `${API}/workspaces/default`;
type Role = 'owner' | 'admin' | 'editor' | 'viewer';
const RANK: Record<Role, number> = { owner: 4, admin: 3, editor: 2, viewer: 1 };

function assertProblem(reply: Reply, status: number, code: string, what = '') {
  assert.equal(reply.status, status, `${what} answered ${reply.status}: ${reply.text}`);
  assert.match(String(reply.headers['content-type']), /^application\/problem\+json/, what);
  assert.equal(reply.body.code, code, what);
  assert.equal(reply.body.status, status, what);
  assert.equal(typeof reply.body.requestId, 'string', what);
}

interface IssuedKey {
  readonly key: string;
  readonly id: string;
  readonly principalId: string;
}

async function createKey(
  app: TestApp,
  workspaceId: string,
  role: Role,
  by: string = OWNER_KEY,
  name = `${role} key`,
): Promise<IssuedKey> {
  const reply = await app.call('POST', `${API}/workspaces/${workspaceId}/api-keys`, { body: { name, role }, key: by });
  assert.equal(reply.status, 201, reply.text);
  assert.match(reply.body.key, /^pbk_/);
  return { key: reply.body.key, id: reply.body.id, principalId: reply.body.principalId };
}

async function me(app: TestApp, key: string): Promise<any> {
  const reply = await app.call('GET', `${API}/me`, { key });
  assert.equal(reply.status, 200, reply.text);
  return reply.body;
}

/** The operations of the OpenAPI document under /api/v1, with path parameters filled in. */
async function apiOperations(app: TestApp): Promise<{ method: string; url: string }[]> {
  const doc = (await app.call('GET', '/openapi.json')).body;
  const values: Record<string, string> = { workspaceId: 'default', connectionId: '1' };
  const operations: { method: string; url: string }[] = [];
  for (const [path, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
    if (!path.startsWith(`${API}/`) && path !== API) continue;
    for (const method of Object.keys(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => values[name] ?? 'x');
      operations.push({ method: method.toUpperCase(), url });
    }
  }
  return operations;
}

for (const engine of ENGINES) {
  describe(`authentication on every native API route [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine);
    });
    after(async () => {
      await app?.stop();
    });

    const variants: { name: string; headers: Record<string, string> }[] = [
      { name: 'no Authorization header', headers: {} },
      { name: 'a Basic credential', headers: { authorization: 'Basic x' } },
      { name: '"Bearer" without a token', headers: { authorization: 'Bearer' } },
      { name: 'a bearer token that is not an API key', headers: { authorization: 'Bearer not-a-plugboard-key' } },
      { name: 'an unknown pbk_ key', headers: { authorization: 'Bearer pbk_unknown_key_0123456789abcdefghij' } },
    ];

    for (const variant of variants) {
      it(`answers 401 problem+json with WWW-Authenticate to ${variant.name}`, async () => {
        const operations = await apiOperations(app);
        assert.ok(operations.length >= 30, `only ${operations.length} operations found in /openapi.json`);
        for (const { method, url } of operations) {
          const what = `${method} ${url}`;
          const withBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
          const reply = await app.call(method, url, {
            key: null,
            headers: variant.headers,
            body: withBody ? {} : undefined,
          });
          assertProblem(reply, 401, 'unauthenticated', what);
          assert.match(String(reply.headers['www-authenticate']), /^Bearer /, what);
          assert.ok(reply.headers['x-request-id'], what);
        }
      });
    }

    it('authenticates before reading the body: a body that would be refused still gets 401', async () => {
      const cases = [
        { method: 'POST', url: `${WS}/connectors`, body: '{not json', contentType: 'application/json' },
        { method: 'PUT', url: `${WS}/connectors/x`, body: 'plain text', contentType: 'text/plain' },
        { method: 'PATCH', url: `${WS}/connections/1`, body: '[]', contentType: 'application/merge-patch+json' },
        { method: 'GET', url: `${WS}/connections/not-a-number?limit=0` },
      ];
      for (const c of cases) {
        const reply = await app.call(c.method, c.url, { key: null, body: c.body, contentType: c.contentType });
        assertProblem(reply, 401, 'unauthenticated', `${c.method} ${c.url}`);
      }
    });

    it('accepts the scheme name in any case and the owner key on every read', async () => {
      const reply = await app.call('GET', `${API}/me`, {
        key: null,
        headers: { authorization: `bearer ${OWNER_KEY}` },
      });
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(reply.body.roles, { default: 'owner' });
    });
  });

  describe(`roles in a workspace [${engine}]`, () => {
    let app: TestApp;
    const keys = {} as Record<Exclude<Role, 'owner'>, IssuedKey>;
    let target: IssuedKey; // a viewer whose membership and key the write routes aim at
    let versionId: string;
    let connectionId: number;

    before(async () => {
      app = await startTestApp(engine);
      for (const role of ['viewer', 'editor', 'admin'] as const) keys[role] = await createKey(app, 'default', role);
      target = await createKey(app, 'default', 'viewer', OWNER_KEY, 'target');
      const connector = await app.call('POST', `${WS}/connectors`, {
        body: { id: 'base', name: 'Base', authSchemeConfigs: [{ id: 'cfg', schemeType: 'bearer' }] },
      });
      assert.equal(connector.status, 201, connector.text);
      const version = await app.call('POST', `${WS}/connectors/base/versions`, { body: { name: 'v1' } });
      assert.equal(version.status, 201, version.text);
      versionId = version.body.id;
      const connection = await app.call('POST', `${WS}/connections`, {
        body: { connectorId: 'base', name: 'c1', type: 'http' },
      });
      assert.equal(connection.status, 201, connection.text);
      connectionId = connection.body.id;
    });
    after(async () => {
      await app?.stop();
    });

    /** Every write of the native API in workspace default, with the weakest role allowed to do it. */
    const writes = () =>
      [
        { name: 'create a connector', method: 'POST', url: `${WS}/connectors`, body: { name: 'New' }, min: 'editor' },
        {
          name: 'replace a connector',
          method: 'PUT',
          url: `${WS}/connectors/base`,
          body: { name: 'Base 2' },
          min: 'editor',
        },
        {
          name: 'patch a connector',
          method: 'PATCH',
          url: `${WS}/connectors/base`,
          body: { description: 'd' },
          min: 'editor',
        },
        { name: 'delete a connector', method: 'DELETE', url: `${WS}/connectors/base`, min: 'editor' },
        {
          name: 'add an auth-scheme config',
          method: 'POST',
          url: `${WS}/connectors/base/auth-scheme-configs`,
          body: { id: 'cfg2', schemeType: 'basic-auth' },
          min: 'editor',
        },
        {
          name: 'replace an auth-scheme config',
          method: 'PUT',
          url: `${WS}/connectors/base/auth-scheme-configs/cfg`,
          body: { schemeType: 'api-key' },
          min: 'editor',
        },
        {
          name: 'patch an auth-scheme config',
          method: 'PATCH',
          url: `${WS}/connectors/base/auth-scheme-configs/cfg`,
          body: { description: 'd' },
          min: 'editor',
        },
        {
          name: 'delete an auth-scheme config',
          method: 'DELETE',
          url: `${WS}/connectors/base/auth-scheme-configs/cfg`,
          min: 'editor',
        },
        {
          name: 'create a version',
          method: 'POST',
          url: `${WS}/connectors/base/versions`,
          body: { name: 'v2' },
          min: 'editor',
        },
        {
          name: 'replace a version',
          method: 'PUT',
          url: `${WS}/connectors/base/versions/${versionId}`,
          body: { name: 'v1b' },
          min: 'editor',
        },
        {
          name: 'patch a version',
          method: 'PATCH',
          url: `${WS}/connectors/base/versions/${versionId}`,
          body: { description: 'd' },
          min: 'editor',
        },
        {
          name: 'delete a version',
          method: 'DELETE',
          url: `${WS}/connectors/base/versions/${versionId}`,
          min: 'editor',
        },
        {
          name: 'create a connection',
          method: 'POST',
          url: `${WS}/connections`,
          body: { connectorId: 'base', name: 'c2', type: 'http' },
          min: 'editor',
        },
        {
          name: 'replace a connection',
          method: 'PUT',
          url: `${WS}/connections/${connectionId}`,
          body: { connectorId: 'base', name: 'c1b', type: 'http' },
          min: 'editor',
        },
        {
          name: 'patch a connection',
          method: 'PATCH',
          url: `${WS}/connections/${connectionId}`,
          body: { description: 'd' },
          min: 'editor',
        },
        { name: 'delete a connection', method: 'DELETE', url: `${WS}/connections/${connectionId}`, min: 'editor' },
        { name: 'list API keys', method: 'GET', url: `${WS}/api-keys`, min: 'admin' },
        {
          name: 'create an API key',
          method: 'POST',
          url: `${WS}/api-keys`,
          body: { name: 'k', role: 'viewer' },
          min: 'admin',
        },
        { name: 'revoke an API key', method: 'DELETE', url: `${WS}/api-keys/${target.id}`, min: 'admin' },
        { name: 'list webhooks', method: 'GET', url: `${WS}/webhooks`, min: 'admin' },
        {
          name: 'create a webhook',
          method: 'POST',
          url: `${WS}/webhooks`,
          body: { url: 'http://127.0.0.1:9/hook', eventTypes: ['connection.connected'] },
          min: 'admin',
        },
        {
          name: "change a member's role",
          method: 'PUT',
          url: `${WS}/members/${target.principalId}`,
          body: { role: 'editor' },
          min: 'admin',
        },
        { name: 'remove a member', method: 'DELETE', url: `${WS}/members/${target.principalId}`, min: 'admin' },
        { name: 'replace the workspace', method: 'PUT', url: WS, body: { name: 'Renamed' }, min: 'admin' },
        {
          name: 'rename the workspace with a patch',
          method: 'PATCH',
          url: WS,
          body: { name: 'Renamed' },
          min: 'admin',
        },
        { name: 'delete the workspace', method: 'DELETE', url: `${WS}?force=true`, min: 'owner' },
      ] as { name: string; method: string; url: string; body?: unknown; min: Role }[];

    async function snapshot() {
      const urls = [
        WS,
        `${WS}/connectors/base`,
        `${WS}/connections/${connectionId}`,
        `${WS}/members`,
        `${WS}/api-keys`,
      ];
      return Promise.all(urls.map(async (url) => (await app.call('GET', url)).text));
    }

    for (const role of ['viewer', 'editor', 'admin'] as const) {
      it(`refuses ${role === 'viewer' ? 'a' : 'an'} ${role} every write its role does not allow with 403 forbidden, changing nothing`, async () => {
        const before = await snapshot();
        const refused = writes().filter((w) => RANK[role] < RANK[w.min]);
        assert.ok(refused.length > 0);
        const answers: Record<string, string> = {};
        for (const w of refused) {
          const reply = await app.call(w.method, w.url, { body: w.body, key: keys[role].key });
          answers[w.name] = `${reply.status} ${reply.body?.code}`;
          assert.match(String(reply.headers['content-type']), /^application\/problem\+json/, w.name);
        }
        assert.deepEqual(answers, Object.fromEntries(refused.map((w) => [w.name, '403 forbidden'])));
        assert.deepEqual(await snapshot(), before);
      });
    }

    it('lets a viewer read the workspace, connectors, their parts, connections and members', async () => {
      const key = keys.viewer.key;
      for (const url of [
        WS,
        `${WS}/connectors`,
        `${WS}/connectors/base`,
        `${WS}/connectors/base/connection-count`,
        `${WS}/connectors/base/auth-scheme-configs`,
        `${WS}/connectors/base/auth-scheme-configs/cfg`,
        `${WS}/connectors/base/versions`,
        `${WS}/connectors/base/versions/${versionId}`,
        `${WS}/connections`,
        `${WS}/connections/${connectionId}`,
        `${WS}/members`,
        `${WS}/members/${target.principalId}`,
      ]) {
        const reply = await app.call('GET', url, { key });
        assert.equal(reply.status, 200, `${url}: ${reply.text}`);
      }
      const connectors = await app.call('GET', `${WS}/connectors`, { key });
      assert.deepEqual(
        connectors.body.items.map((c: any) => c.id),
        ['base'],
      );
    });

    it('lets an editor create, change and delete connectors, their parts and connections', async () => {
      const key = keys.editor.key;
      const steps: [string, string, unknown, number][] = [
        [
          'POST',
          `${WS}/connectors`,
          { id: 'ed', name: 'Editor', authSchemeConfigs: [{ id: 'a', schemeType: 'bearer' }] },
          201,
        ],
        ['PUT', `${WS}/connectors/ed`, { name: 'Editor 2', description: 'x' }, 200],
        ['PATCH', `${WS}/connectors/ed`, { description: null }, 200],
        ['POST', `${WS}/connectors/ed/auth-scheme-configs`, { id: 'b', schemeType: 'basic-auth' }, 201],
        ['PATCH', `${WS}/connectors/ed/auth-scheme-configs/b`, { description: 'second' }, 200],
        ['PUT', `${WS}/connectors/ed/auth-scheme-configs/b`, { schemeType: 'api-key' }, 200],
        ['DELETE', `${WS}/connectors/ed/auth-scheme-configs/b`, undefined, 204],
        ['POST', `${WS}/connectors/ed/versions`, { name: 'v1' }, 201],
        ['POST', `${WS}/connections`, { connectorId: 'ed', name: 'ec', type: 'http', content: { password: 'p' } }, 201],
      ];
      for (const [method, url, body, status] of steps) {
        const reply = await app.call(method, url, { body, key });
        assert.equal(reply.status, status, `${method} ${url}: ${reply.text}`);
      }
      const connection = (await app.call('GET', `${WS}/connections?connectorId=ed`, { key })).body.items[0];
      const base = `${WS}/connections/${connection.id}`;
      assert.equal(
        (await app.call('PUT', base, { key, body: { connectorId: 'ed', name: 'ec2', type: 'http' } })).status,
        200,
      );
      assert.equal((await app.call('PATCH', base, { key, body: { description: 'changed' } })).status, 200);
      assert.equal((await app.call('DELETE', base, { key })).status, 204);
      assert.equal((await app.call('DELETE', `${WS}/connectors/ed`, { key })).status, 204);
      assertProblem(await app.call('GET', `${WS}/connectors/ed`, { key }), 404, 'not-found');
    });

    it('lets an admin manage keys and members and rename the workspace, but not create an owner key', async () => {
      const key = keys.admin.key;
      const viewer = await createKey(app, 'default', 'viewer', key, 'made by admin');
      const admin2 = await createKey(app, 'default', 'admin', key, 'second admin');
      assert.equal((await me(app, viewer.key)).roles.default, 'viewer');
      assert.equal((await me(app, admin2.key)).roles.default, 'admin');

      const owner = await app.call('POST', `${WS}/api-keys`, { key, body: { name: 'boss', role: 'owner' } });
      assertProblem(owner, 400, 'validation-failed');
      assert.deepEqual(
        owner.body.errors.map((e: any) => e.path),
        ['/role'],
      );

      const listed = await app.call('GET', `${WS}/api-keys`, { key });
      assert.equal(listed.status, 200);
      assert.ok(listed.body.items.some((k: any) => k.id === viewer.id));

      const promoted = await app.call('PUT', `${WS}/members/${viewer.principalId}`, { key, body: { role: 'editor' } });
      assert.equal(promoted.status, 200, promoted.text);
      assert.equal(promoted.body.role, 'editor');
      assert.equal((await me(app, viewer.key)).roles.default, 'editor');

      assert.equal((await app.call('DELETE', `${WS}/api-keys/${admin2.id}`, { key })).status, 204);
      assertProblem(await app.call('GET', `${API}/me`, { key: admin2.key }), 401, 'unauthenticated');
      assert.equal((await app.call('DELETE', `${WS}/members/${viewer.principalId}`, { key })).status, 204);
      assertProblem(await app.call('GET', WS, { key: viewer.key }), 404, 'not-found');

      const renamed = await app.call('PATCH', WS, { key, body: { name: 'Renamed by admin' } });
      assert.equal(renamed.status, 200, renamed.text);
      assert.equal(renamed.body.name, 'Renamed by admin');
      const replaced = await app.call('PUT', WS, { key, body: { name: 'Default workspace' } });
      assert.equal(replaced.status, 200, replaced.text);
      assert.equal(replaced.body.name, 'Default workspace');

      assertProblem(await app.call('DELETE', WS, { key }), 403, 'forbidden');
      assert.equal((await app.call('GET', WS)).status, 200);
    });

    it('lets the owner create an owner key, and that key may delete a workspace', async () => {
      const created = await app.call('POST', `${API}/workspaces`, { body: { id: 'doomed', name: 'Doomed' } });
      assert.equal(created.status, 201, created.text);
      const owner2 = await createKey(app, 'doomed', 'owner');
      assert.equal((await me(app, owner2.key)).roles.doomed, 'owner');
      assert.equal((await app.call('DELETE', `${API}/workspaces/doomed`, { key: owner2.key })).status, 204);
      assertProblem(await app.call('GET', `${API}/workspaces/doomed`), 404, 'not-found');
    });
  });

  describe(`workspace isolation [${engine}]`, () => {
    let app: TestApp;
    let keyA: IssuedKey; // admin of default (A)
    let keyB: IssuedKey; // admin of ws-b
    let connectionB: number;
    const B = `${API}/workspaces/ws-b`;

    before(async () => {
      app = await startTestApp(engine);
      assert.equal((await app.call('POST', `${API}/workspaces`, { body: { id: 'ws-b', name: 'B' } })).status, 201);
      keyA = await createKey(app, 'default', 'admin');
      keyB = await createKey(app, 'ws-b', 'admin');
      assert.equal(
        (
          await app.call('POST', `${B}/connectors`, {
            body: { id: 'cb', name: 'CB', authSchemeConfigs: [{ id: 'cfg', schemeType: 'bearer' }] },
          })
        ).status,
        201,
      );
      assert.equal((await app.call('POST', `${B}/connectors/cb/versions`, { body: { name: 'v1' } })).status, 201);
      const connection = await app.call('POST', `${B}/connections`, {
        body: { connectorId: 'cb', name: 'secret-db', type: 'mysql', content: { password: 'pw' } },
      });
      assert.equal(connection.status, 201, connection.text);
      connectionB = connection.body.id;
    });
    after(async () => {
      await app?.stop();
    });

    /** Requests into a workspace, for a key that must not learn anything about it. */
    const probes = (ws: string, connectionId: number | string) => {
      const base = `${API}/workspaces/${ws}`;
      return [
        { method: 'GET', url: base },
        { method: 'PUT', url: base, body: { name: 'taken over' } },
        { method: 'PATCH', url: base, body: { name: 'taken over' } },
        { method: 'DELETE', url: `${base}?force=true` },
        { method: 'GET', url: `${base}/connectors` },
        { method: 'POST', url: `${base}/connectors`, body: { name: 'planted' } },
        { method: 'GET', url: `${base}/connectors/cb` },
        { method: 'PATCH', url: `${base}/connectors/cb`, body: { name: 'x' } },
        { method: 'DELETE', url: `${base}/connectors/cb?force=true` },
        { method: 'GET', url: `${base}/connectors/cb/connection-count` },
        { method: 'GET', url: `${base}/connectors/cb/auth-scheme-configs` },
        { method: 'GET', url: `${base}/connectors/cb/versions` },
        { method: 'GET', url: `${base}/connections` },
        { method: 'POST', url: `${base}/connections`, body: { name: 'planted', type: 'http' } },
        { method: 'GET', url: `${base}/connections/${connectionId}` },
        {
          method: 'PUT',
          url: `${base}/connections/${connectionId}`,
          body: { connectorId: 'cb', name: 'x', type: 'http' },
        },
        { method: 'DELETE', url: `${base}/connections/${connectionId}` },
        { method: 'GET', url: `${base}/members` },
        { method: 'GET', url: `${base}/members/${keyB.principalId}` },
        { method: 'PUT', url: `${base}/members/${keyB.principalId}`, body: { role: 'viewer' } },
        { method: 'GET', url: `${base}/api-keys` },
        { method: 'POST', url: `${base}/api-keys`, body: { name: 'backdoor', role: 'admin' } },
        { method: 'DELETE', url: `${base}/api-keys/${keyB.id}` },
      ];
    };

    it('answers 404, never 403, to a key of another workspace, for every route into it', async () => {
      const before = (await app.call('GET', `${B}/connectors/cb`)).text;
      for (const probe of probes('ws-b', connectionB)) {
        const reply = await app.call(probe.method, probe.url, { body: probe.body, key: keyA.key });
        assertProblem(reply, 404, 'not-found', `${probe.method} ${probe.url}`);
      }
      assert.equal((await app.call('GET', `${B}/connectors/cb`)).text, before);
      assert.equal((await app.call('GET', `${B}/connections/${connectionB}`)).status, 200);
      assert.equal((await app.call('GET', `${API}/me`, { key: keyB.key })).status, 200);
    });

    it('lists only the workspaces a key belongs to', async () => {
      const a = await app.call('GET', `${API}/workspaces`, { key: keyA.key });
      assert.deepEqual(
        a.body.items.map((w: any) => w.id),
        ['default'],
      );
      const b = await app.call('GET', `${API}/workspaces`, { key: keyB.key });
      assert.deepEqual(
        b.body.items.map((w: any) => w.id),
        ['ws-b'],
      );
      const owner = await app.call('GET', `${API}/workspaces`);
      assert.deepEqual(owner.body.items.map((w: any) => w.id).sort(), ['default', 'ws-b']);
      assert.deepEqual((await me(app, keyA.key)).roles, { default: 'admin' });
    });

    it('gives the same 404 for a workspace that exists but is not yours as for one that does not exist', async () => {
      const strip = (reply: Reply) => ({
        status: reply.status,
        type: reply.headers['content-type'],
        body: { ...reply.body, requestId: undefined },
      });
      const ask = async () =>
        Promise.all(
          probes('ws-later', 1).map(async (p) =>
            strip(await app.call(p.method, p.url, { body: p.body, key: keyA.key })),
          ),
        );
      const missing = await ask();
      assert.equal(
        (await app.call('POST', `${API}/workspaces`, { body: { id: 'ws-later', name: 'Later' } })).status,
        201,
      );
      assert.equal(
        (await app.call('POST', `${API}/workspaces/ws-later/connectors`, { body: { id: 'cb', name: 'CB' } })).status,
        201,
      );
      const connection = await app.call('POST', `${API}/workspaces/ws-later/connections`, {
        body: { name: 'first', type: 'http' },
      });
      assert.equal(connection.status, 201);
      const hidden = await ask();
      assert.deepEqual(hidden, missing);
      for (const reply of hidden) assert.equal(reply.status, 404);
    });

    it("does not find a connection or connector of workspace B under workspace A's path", async () => {
      for (const key of [OWNER_KEY, keyA.key]) {
        for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
          const body = method === 'PUT' ? { name: 'x', type: 'http' } : method === 'PATCH' ? { name: 'x' } : undefined;
          assertProblem(
            await app.call(method, `${WS}/connections/${connectionB}`, { key, body }),
            404,
            'not-found',
            `${method} connection`,
          );
          const connectorBody = method === 'PUT' ? { name: 'x' } : body;
          assertProblem(
            await app.call(method, `${WS}/connectors/cb`, { key, body: connectorBody }),
            404,
            'not-found',
            `${method} connector`,
          );
        }
        assertProblem(await app.call('GET', `${WS}/connectors/cb/versions`, { key }), 404, 'not-found');
        const list = await app.call('GET', `${WS}/connections`, { key });
        assert.equal(list.status, 200);
        assert.ok(!list.body.items.some((c: any) => c.id === connectionB));
      }
      const still = await app.call('GET', `${B}/connections/${connectionB}`);
      assert.equal(still.status, 200);
      assert.equal(still.body.name, 'secret-db');
    });

    it('does not let a key of workspace B revoke keys or change members of workspace A', async () => {
      assertProblem(await app.call('DELETE', `${B}/api-keys/${keyA.id}`, { key: keyB.key }), 404, 'not-found');
      assertProblem(await app.call('DELETE', `${B}/members/${keyA.principalId}`, { key: keyB.key }), 404, 'not-found');
      assertProblem(
        await app.call('PUT', `${B}/members/${keyA.principalId}`, { key: keyB.key, body: { role: 'viewer' } }),
        404,
        'not-found',
      );
      assert.deepEqual((await me(app, keyA.key)).roles, { default: 'admin' });
    });
  });

  describe(`members and API keys [${engine}]`, () => {
    let app: TestApp;
    let ownerId: string;

    before(async () => {
      app = await startTestApp(engine);
      ownerId = (await me(app, OWNER_KEY)).principalId;
    });
    after(async () => {
      await app?.stop();
    });

    it('lists the members of a workspace with their roles', async () => {
      const editor = await createKey(app, 'default', 'editor', OWNER_KEY, 'the editor');
      const reply = await app.call('GET', `${WS}/members`);
      assert.equal(reply.status, 200);
      const roles = Object.fromEntries(reply.body.items.map((m: any) => [m.principalId, m.role]));
      assert.equal(roles[ownerId], 'owner');
      assert.equal(roles[editor.principalId], 'editor');
      const one = await app.call('GET', `${WS}/members/${editor.principalId}`);
      assert.equal(one.status, 200);
      assert.equal(one.body.name, 'the editor');
      assert.equal(one.body.kind, 'service');
      assertProblem(await app.call('GET', `${WS}/members/nobody`), 404, 'not-found');
    });

    it("changes a member's role, and the new role takes effect on the next request", async () => {
      const member = await createKey(app, 'default', 'viewer');
      assertProblem(
        await app.call('POST', `${WS}/connectors`, { key: member.key, body: { name: 'x' } }),
        403,
        'forbidden',
      );
      const changed = await app.call('PUT', `${WS}/members/${member.principalId}`, { body: { role: 'editor' } });
      assert.equal(changed.status, 200, changed.text);
      assert.equal(changed.body.role, 'editor');
      assert.equal((await app.call('POST', `${WS}/connectors`, { key: member.key, body: { name: 'x' } })).status, 201);
      assert.deepEqual((await me(app, member.key)).roles, { default: 'editor' });
      assertProblem(await app.call('PUT', `${WS}/members/nobody`, { body: { role: 'editor' } }), 404, 'not-found');
      const bad = await app.call('PUT', `${WS}/members/${member.principalId}`, { body: { role: 'root' } });
      assertProblem(bad, 400, 'validation-failed');
      assert.ok(bad.body.errors.some((e: any) => e.path === '/role'));
    });

    it('keeps the last owner: demoting or removing the only owner is a conflict', async () => {
      assertProblem(await app.call('PUT', `${WS}/members/${ownerId}`, { body: { role: 'admin' } }), 409, 'conflict');
      assertProblem(await app.call('DELETE', `${WS}/members/${ownerId}`), 409, 'conflict');
      assert.deepEqual((await me(app, OWNER_KEY)).roles, { default: 'owner' });
    });

    it('lets an owner step down once there is another owner', async () => {
      assert.equal(
        (await app.call('POST', `${API}/workspaces`, { body: { id: 'handover', name: 'Handover' } })).status,
        201,
      );
      const base = `${API}/workspaces/handover`;
      const heir = await createKey(app, 'handover', 'owner', OWNER_KEY, 'heir');
      const stepped = await app.call('PUT', `${base}/members/${ownerId}`, { body: { role: 'admin' } });
      assert.equal(stepped.status, 200, stepped.text);
      assert.equal((await me(app, OWNER_KEY)).roles.handover, 'admin');
      assertProblem(
        await app.call('PUT', `${base}/members/${heir.principalId}`, { key: heir.key, body: { role: 'editor' } }),
        409,
        'conflict',
      );
      assertProblem(
        await app.call('DELETE', `${base}/members/${heir.principalId}`, { key: heir.key }),
        409,
        'conflict',
      );
      assertProblem(await app.call('DELETE', base, { key: OWNER_KEY }), 403, 'forbidden');
    });

    it("does not let an admin change an owner's membership or grant owner", async () => {
      const admin = await createKey(app, 'default', 'admin');
      const viewer = await createKey(app, 'default', 'viewer');
      assertProblem(
        await app.call('PUT', `${WS}/members/${ownerId}`, { key: admin.key, body: { role: 'viewer' } }),
        403,
        'forbidden',
      );
      assertProblem(
        await app.call('PUT', `${WS}/members/${ownerId}`, { key: admin.key, body: { role: 'owner' } }),
        403,
        'forbidden',
      );
      assertProblem(await app.call('DELETE', `${WS}/members/${ownerId}`, { key: admin.key }), 403, 'forbidden');
      assertProblem(
        await app.call('PUT', `${WS}/members/${viewer.principalId}`, { key: admin.key, body: { role: 'owner' } }),
        403,
        'forbidden',
      );
      const ownerKeyId = (await app.call('GET', `${WS}/api-keys?limit=200`)).body.items.find(
        (k: any) => k.principalId === ownerId,
      ).id;
      assertProblem(await app.call('DELETE', `${WS}/api-keys/${ownerKeyId}`, { key: admin.key }), 403, 'forbidden');
      assert.deepEqual((await me(app, OWNER_KEY)).roles.default, 'owner');
      assert.equal(
        (await app.call('PUT', `${WS}/members/${viewer.principalId}`, { key: admin.key, body: { role: 'admin' } }))
          .status,
        200,
      );
    });

    it('makes a revoked API key fail with 401 on the very next request', async () => {
      const issued = await createKey(app, 'default', 'editor');
      assert.equal((await app.call('GET', `${WS}/connectors`, { key: issued.key })).status, 200);
      assert.equal((await app.call('DELETE', `${WS}/api-keys/${issued.id}`)).status, 204);
      for (const url of [`${API}/me`, `${WS}/connectors`, `${API}/workspaces`]) {
        assertProblem(await app.call('GET', url, { key: issued.key }), 401, 'unauthenticated', url);
      }
      assertProblem(await app.call('DELETE', `${WS}/api-keys/${issued.id}`), 404, 'not-found');
      assertProblem(await app.call('DELETE', `${WS}/api-keys/no-such-key`), 404, 'not-found');
    });

    it('manages a key only from the workspace it was issued for', async () => {
      // A viewer of default creates a workspace of its own and so owns it; its key still belongs to default:
      // it is neither listed nor revocable through the other workspace.
      const viewer = await createKey(app, 'default', 'viewer');
      const own = await app.call('POST', `${API}/workspaces`, {
        key: viewer.key,
        body: { id: 'viewers-own', name: 'Own' },
      });
      assert.equal(own.status, 201, own.text);
      const listed = await app.call('GET', `${API}/workspaces/viewers-own/api-keys?limit=200`, { key: viewer.key });
      assert.equal(listed.status, 200, listed.text);
      assert.ok(!listed.body.items.some((k: any) => k.id === viewer.id));
      assertProblem(
        await app.call('DELETE', `${API}/workspaces/viewers-own/api-keys/${viewer.id}`, { key: viewer.key }),
        404,
        'not-found',
      );
      assert.ok((await app.call('GET', `${WS}/api-keys?limit=200`)).body.items.some((k: any) => k.id === viewer.id));
    });

    it('lists API keys by prefix only, never the key itself', async () => {
      const issued = [await createKey(app, 'default', 'viewer'), await createKey(app, 'default', 'admin')];
      const created = await app.call('POST', `${WS}/api-keys`, { body: { name: 'no-store', role: 'viewer' } });
      assert.equal(created.headers['cache-control'], 'no-store');
      issued.push({ key: created.body.key, id: created.body.id, principalId: created.body.principalId });
      const reply = await app.call('GET', `${WS}/api-keys?limit=200`);
      assert.equal(reply.status, 200);
      for (const { key, id } of [...issued, { key: OWNER_KEY, id: undefined }]) {
        assert.ok(!reply.text.includes(key), 'a listed key leaks');
        if (id === undefined) continue;
        const item = reply.body.items.find((k: any) => k.id === id);
        assert.ok(item, `key ${id} is listed`);
        assert.equal(item.key, undefined);
        assert.equal(item.prefix, key.slice(0, item.prefix.length));
        assert.ok(item.prefix.length < 16, `prefix "${item.prefix}" is short`);
      }
      for (const item of reply.body.items)
        assert.deepEqual(Object.keys(item).sort(), [
          'createdAt',
          'defaultWorkspaceId',
          'id',
          'name',
          'prefix',
          'principalId',
        ]);
    });

    it('shuts a removed member out of the workspace while its key still identifies it', async () => {
      const member = await createKey(app, 'default', 'editor');
      assert.equal((await app.call('DELETE', `${WS}/members/${member.principalId}`)).status, 204);
      assertProblem(await app.call('GET', `${WS}/connectors`, { key: member.key }), 404, 'not-found');
      assert.deepEqual((await me(app, member.key)).roles, {});
      assertProblem(await app.call('GET', `${WS}/members/${member.principalId}`), 404, 'not-found');
    });
  });

  describe(`creating workspaces [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine);
    });
    after(async () => {
      await app?.stop();
    });

    it('makes the creator the owner of a new workspace', async () => {
      const created = await app.call('POST', `${API}/workspaces`, { body: { id: 'team', name: 'Team' } });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.headers.location, `${API}/workspaces/team`);
      assert.ok(created.headers.etag);
      assert.equal(created.body.id, 'team');
      assert.equal(created.body.name, 'Team');
      const mine = await me(app, OWNER_KEY);
      assert.deepEqual(mine.roles, { default: 'owner', team: 'owner' });
      const members = await app.call('GET', `${API}/workspaces/team/members`);
      assert.deepEqual(
        members.body.items.map((m: any) => [m.principalId, m.role]),
        [[mine.principalId, 'owner']],
      );
    });

    it('lets any member, even a viewer, create a workspace and own it', async () => {
      const viewer = await createKey(app, 'default', 'viewer');
      const created = await app.call('POST', `${API}/workspaces`, { key: viewer.key, body: { name: "Viewer's own" } });
      assert.equal(created.status, 201, created.text);
      assert.match(created.body.id, /^[A-Za-z0-9_-]{1,64}$/);
      assert.deepEqual((await me(app, viewer.key)).roles, { default: 'viewer', [created.body.id]: 'owner' });
      assert.equal(
        (
          await app.call('POST', `${API}/workspaces/${created.body.id}/connectors`, {
            key: viewer.key,
            body: { name: 'mine' },
          })
        ).status,
        201,
      );
      assertProblem(await app.call('GET', `${API}/workspaces/${created.body.id}`), 404, 'not-found');
    });

    it('gives every workspace a distinct positive integer projectId', async () => {
      for (const name of ['p1', 'p2', 'p3'])
        assert.equal((await app.call('POST', `${API}/workspaces`, { body: { id: name, name } })).status, 201);
      assert.equal((await app.call('POST', `${API}/workspaces`, { body: { name: 'generated id' } })).status, 201);
      const list = await app.call('GET', `${API}/workspaces?limit=200`);
      const ids = list.body.items.map((w: any) => w.projectId);
      assert.ok(ids.length >= 6);
      for (const id of ids) assert.ok(Number.isSafeInteger(id) && id > 0, `projectId ${id}`);
      assert.equal(new Set(ids).size, ids.length);
      const p1 = (await app.call('GET', `${API}/workspaces/p1`)).body;
      const renamed = await app.call('PATCH', `${API}/workspaces/p1`, { body: { name: 'renamed' } });
      assert.equal(renamed.body.projectId, p1.projectId);
    });

    it('refuses a duplicate workspace id with 409', async () => {
      assert.equal((await app.call('POST', `${API}/workspaces`, { body: { id: 'dup', name: 'first' } })).status, 201);
      assertProblem(
        await app.call('POST', `${API}/workspaces`, { body: { id: 'dup', name: 'second' } }),
        409,
        'conflict',
      );
      assertProblem(
        await app.call('POST', `${API}/workspaces`, { body: { id: 'default', name: 'again' } }),
        409,
        'conflict',
      );
      assert.equal((await app.call('GET', `${API}/workspaces/dup`)).body.name, 'first');
    });

    it('refuses an invalid workspace id or name', async () => {
      const reply = await app.call('POST', `${API}/workspaces`, { body: { id: 'bad id', name: '' } });
      assertProblem(reply, 400, 'validation-failed');
      assert.deepEqual(reply.body.errors.map((e: any) => e.path).sort(), ['/id', '/name']);
    });

    it("shows the caller's principal, name and roles at /me", async () => {
      const editor = await createKey(app, 'default', 'editor', OWNER_KEY, 'robot');
      const body = await me(app, editor.key);
      assert.deepEqual(body, { principalId: editor.principalId, name: 'robot', roles: { default: 'editor' } });
    });
  });
}
