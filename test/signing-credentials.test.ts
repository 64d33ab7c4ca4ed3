// Access keys for signed requests (Alibaba AccessKey pairs, Huawei AK/SK) and short-lived X-Auth-Token tokens:
// management over the native API and the CLI, and the lookups the vendor dialects use, on both stores.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadMasterKeys } from '../src/app.js';
import { createKeyRotationService } from '../src/services/key-rotation-service.js';
import { createVault } from '../src/services/vault.js';
import { ENGINES, OWNER_KEY, startTestApp, type Reply, type TestApp } from './support/stores.js';
import { openStored } from './support/sealed.js';

const API = '/api/v1';
const WS = `${API}/workspaces/default`;
const ALIBABA = { id: /^LTAI[A-Za-z0-9]{20}$/, secret: /^[A-Za-z0-9]{30}$/ };
const HUAWEI = { id: /^[A-Z0-9]{20}$/, secret: /^[A-Za-z0-9]{40}$/ };
const VIEW_FIELDS = ['createdAt', 'defaultWorkspaceId', 'id', 'kind', 'name', 'principalId', 'revision', 'status'];

function assertProblem(reply: Reply, status: number, code: string, what = '') {
  assert.equal(reply.status, status, `${what} answered ${reply.status}: ${reply.text}`);
  assert.match(String(reply.headers['content-type']), /^application\/problem\+json/, what);
  assert.equal(reply.body.code, code, what);
}

async function createApiKey(
  app: TestApp,
  role: string,
  workspaceId = 'default',
): Promise<{ key: string; id: string; principalId: string }> {
  const reply = await app.call('POST', `${API}/workspaces/${workspaceId}/api-keys`, {
    body: { name: `${role} key`, role },
  });
  assert.equal(reply.status, 201, reply.text);
  return reply.body;
}

async function createAccessKey(
  app: TestApp,
  body: Record<string, unknown>,
  key = OWNER_KEY,
  workspaceId = 'default',
): Promise<any> {
  const reply = await app.call('POST', `${API}/workspaces/${workspaceId}/access-keys`, { body, key });
  assert.equal(reply.status, 201, reply.text);
  return reply.body;
}

/** Runs the CLI to its end with the test store's environment. */
function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

for (const engine of ENGINES) {
  describe(`access keys [${engine}]`, () => {
    let app: TestApp;
    let admin: { key: string };
    let editor: { key: string };
    let viewer: { key: string };

    before(async () => {
      app = await startTestApp(engine);
      admin = await createApiKey(app, 'admin');
      editor = await createApiKey(app, 'editor');
      viewer = await createApiKey(app, 'viewer');
      assert.equal((await app.call('POST', `${API}/workspaces`, { body: { id: 'other', name: 'Other' } })).status, 201);
    });
    after(async () => {
      await app?.stop();
    });

    for (const [kind, format] of [
      ['alibaba', ALIBABA],
      ['huawei', HUAWEI],
    ] as const) {
      it(`creates a key pair of kind ${kind} whose secret is shown once and stored sealed`, async () => {
        const reply = await app.call('POST', `${WS}/access-keys`, {
          body: { name: `${kind} signer`, kind, role: 'editor' },
        });
        assert.equal(reply.status, 201, reply.text);
        const created = reply.body;
        assert.match(created.id, format.id);
        assert.match(created.secret, format.secret);
        assert.equal(created.kind, kind);
        assert.equal(created.name, `${kind} signer`);
        assert.equal(created.role, 'editor');
        assert.equal(created.defaultWorkspaceId, 'default');
        assert.match(created.principalId, /^prn_/);
        assert.equal(reply.headers.location, `${WS}/access-keys/${created.id}`);
        assert.equal(reply.headers['cache-control'], 'no-store');

        const one = await app.call('GET', `${WS}/access-keys/${created.id}`);
        assert.equal(one.status, 200, one.text);
        assert.deepEqual(Object.keys(one.body).sort(), VIEW_FIELDS);
        assert.ok(!one.text.includes(created.secret));
        const list = await app.call('GET', `${WS}/access-keys?limit=200`);
        assert.equal(list.status, 200);
        assert.ok(!list.text.includes(created.secret), 'a listed key leaks its secret');
        const item = list.body.items.find((k: any) => k.id === created.id);
        assert.deepEqual(item, one.body);
        for (const listed of list.body.items) assert.deepEqual(Object.keys(listed).sort(), VIEW_FIELDS);

        const row = await app.db.kysely
          .selectFrom('access_keys')
          .selectAll()
          .where('id', '=', created.id)
          .executeTakeFirstOrThrow();
        assert.ok(!JSON.stringify(row).includes(created.secret), 'the stored row holds the plaintext secret');
        assert.match(row.secret, /^"pbenc:v2:/);
        const found =
          kind === 'alibaba'
            ? await app.services.accessKeys.findAccessKey(created.id)
            : await app.services.accessKeys.findAkSk(created.id);
        assert.ok(found);
        assert.equal(found.secret, created.secret);
        assert.equal(found.principal.id, created.principalId);
        assert.equal(found.principal.roles.get('default'), 'editor');
        assert.equal(found.defaultWorkspaceId, 'default');
      });
    }

    it('looks a key up only as its own kind, and not at all when unknown', async () => {
      const alibaba = await createAccessKey(app, { name: 'a', kind: 'alibaba' });
      const huawei = await createAccessKey(app, { name: 'h', kind: 'huawei' });
      assert.equal(await app.services.accessKeys.findAkSk(alibaba.id), undefined);
      assert.equal(await app.services.accessKeys.findAccessKey(huawei.id), undefined);
      assert.equal(await app.services.accessKeys.findAccessKey('LTAI00000000000000000000'), undefined);
      assert.equal(await app.services.accessKeys.findAkSk('NOSUCHAK000000000000'), undefined);
    });

    it('gives the key a new service principal that is a viewer unless told otherwise', async () => {
      const created = await createAccessKey(app, { name: 'reader', kind: 'huawei' });
      assert.equal(created.role, 'viewer');
      const member = await app.call('GET', `${WS}/members/${created.principalId}`);
      assert.equal(member.status, 200, member.text);
      assert.deepEqual(
        { name: member.body.name, kind: member.body.kind, role: member.body.role },
        { name: 'reader', kind: 'service', role: 'viewer' },
      );
      assert.deepEqual(
        [...(await app.services.accessKeys.findAkSk(created.id))!.principal.roles],
        [['default', 'viewer']],
      );
    });

    it("refuses a role above the caller's own, and lets an admin grant up to admin", async () => {
      const refused = await app.call('POST', `${WS}/access-keys`, {
        key: admin.key,
        body: { name: 'up', kind: 'alibaba', role: 'owner' },
      });
      assertProblem(refused, 400, 'validation-failed');
      assert.deepEqual(
        refused.body.errors.map((e: any) => e.path),
        ['/role'],
      );
      const granted = await createAccessKey(app, { name: 'peer', kind: 'alibaba', role: 'admin' }, admin.key);
      assert.equal(granted.role, 'admin');
    });

    it('refuses viewers and editors every access-key route with 403', async () => {
      const target = await createAccessKey(app, { name: 'target', kind: 'alibaba' });
      for (const key of [viewer.key, editor.key]) {
        assertProblem(await app.call('GET', `${WS}/access-keys`, { key }), 403, 'forbidden');
        assertProblem(await app.call('GET', `${WS}/access-keys/${target.id}`, { key }), 403, 'forbidden');
        assertProblem(
          await app.call('POST', `${WS}/access-keys`, { key, body: { name: 'x', kind: 'alibaba', role: 'viewer' } }),
          403,
          'forbidden',
        );
        assertProblem(
          await app.call('PATCH', `${WS}/access-keys/${target.id}`, { key, body: { status: 'disabled' } }),
          403,
          'forbidden',
        );
        assertProblem(await app.call('DELETE', `${WS}/access-keys/${target.id}`, { key }), 403, 'forbidden');
      }
      assert.equal((await app.call('GET', `${WS}/access-keys/${target.id}`)).status, 200);
    });

    it('refuses a body without a name or with an unknown kind or field', async () => {
      const cases: [unknown, string][] = [
        [{ kind: 'alibaba' }, '/name'],
        [{ name: 'x' }, '/kind'],
        [{ name: 'x', kind: 'aws' }, '/kind'],
        [{ name: 'x', kind: 'huawei', secret: 'mine' }, '/secret'],
        [{ name: '', kind: 'huawei' }, '/name'],
      ];
      for (const [body, path] of cases) {
        const reply = await app.call('POST', `${WS}/access-keys`, { body });
        assertProblem(reply, 400, 'validation-failed', JSON.stringify(body));
        assert.ok(
          reply.body.errors.some((e: any) => e.path === path),
          `${JSON.stringify(body)}: ${reply.text}`,
        );
      }
    });

    it('revokes a key: it is gone from the API and from the lookups', async () => {
      const created = await createAccessKey(app, { name: 'short-lived', kind: 'alibaba', role: 'editor' });
      assert.equal((await app.call('DELETE', `${WS}/access-keys/${created.id}`)).status, 204);
      assertProblem(await app.call('GET', `${WS}/access-keys/${created.id}`), 404, 'not-found');
      assertProblem(await app.call('DELETE', `${WS}/access-keys/${created.id}`), 404, 'not-found');
      assert.equal(await app.services.accessKeys.findAccessKey(created.id), undefined);
      const list = await app.call('GET', `${WS}/access-keys?limit=200`);
      assert.ok(!list.body.items.some((k: any) => k.id === created.id));
    });

    it('renames, disables and enables a key with PATCH: a disabled key is found by no lookup, each change audited', async () => {
      const created = await createAccessKey(app, { name: 'toggled', kind: 'huawei', role: 'editor' });
      const read = await app.call('GET', `${WS}/access-keys/${created.id}`);
      assert.deepEqual([read.body.status, read.body.revision], ['active', 1]);
      const renamed = await app.call('PATCH', `${WS}/access-keys/${created.id}`, {
        body: { name: 'renamed', status: 'disabled' },
        headers: { 'if-match': read.headers.etag as string },
      });
      assert.equal(renamed.status, 200, renamed.text);
      assert.deepEqual([renamed.body.name, renamed.body.status, renamed.body.revision], ['renamed', 'disabled', 2]);
      assert.equal(await app.services.accessKeys.findAkSk(created.id), undefined);
      const stale = await app.call('PATCH', `${WS}/access-keys/${created.id}`, {
        body: { status: 'active' },
        headers: { 'if-match': read.headers.etag as string },
      });
      assertProblem(stale, 412, 'precondition-failed');
      assertProblem(
        await app.call('PATCH', `${WS}/access-keys/${created.id}`, { body: { status: 'gone' } }),
        400,
        'validation-failed',
      );
      assertProblem(
        await app.call('PATCH', `${WS}/access-keys/${created.id}`, { body: { secret: 'mine' } }),
        400,
        'validation-failed',
      );
      const enabled = await app.call('PATCH', `${WS}/access-keys/${created.id}`, { body: { status: 'active' } });
      assert.deepEqual([enabled.body.status, enabled.body.revision], ['active', 3]);
      assert.ok(await app.services.accessKeys.findAkSk(created.id));
      const audit = await app.call('GET', `${WS}/audit?resourceType=access-key&resourceId=${created.id}`);
      assert.deepEqual(
        audit.body.items.map((e: any) => [e.action, e.changedFields]),
        [
          ['access-key:update', ['status']],
          ['access-key:update', ['name', 'status']],
          ['access-key:create', ['kind', 'name', 'role']],
        ],
      );
    });

    it('does not let an admin disable the key of an owner-role principal', async () => {
      const strong = await createAccessKey(app, { name: 'strong', kind: 'huawei', role: 'owner' });
      const refused = await app.call('PATCH', `${WS}/access-keys/${strong.id}`, {
        key: admin.key,
        body: { status: 'disabled' },
      });
      assertProblem(refused, 403, 'forbidden');
      assert.ok(await app.services.accessKeys.findAkSk(strong.id), 'nothing of the refused change was kept');
      assert.equal((await app.call('GET', `${WS}/access-keys/${strong.id}`)).body.revision, 1);
    });

    it('does not let an admin revoke the key of an owner-role principal', async () => {
      const strong = await createAccessKey(app, { name: 'strong', kind: 'huawei', role: 'owner' });
      assertProblem(await app.call('DELETE', `${WS}/access-keys/${strong.id}`, { key: admin.key }), 403, 'forbidden');
      assert.ok(await app.services.accessKeys.findAkSk(strong.id));
    });

    it('answers 404 for a key of another workspace, and hides the other workspace from non-members', async () => {
      const elsewhere = await createAccessKey(
        app,
        { name: 'elsewhere', kind: 'alibaba', role: 'editor' },
        OWNER_KEY,
        'other',
      );
      assert.equal(elsewhere.defaultWorkspaceId, 'other');
      assertProblem(await app.call('GET', `${WS}/access-keys/${elsewhere.id}`), 404, 'not-found');
      assertProblem(await app.call('DELETE', `${WS}/access-keys/${elsewhere.id}`), 404, 'not-found');
      const list = await app.call('GET', `${WS}/access-keys?limit=200`);
      assert.ok(!list.body.items.some((k: any) => k.id === elsewhere.id));
      for (const [method, url, body] of [
        ['GET', `${API}/workspaces/other/access-keys`],
        ['GET', `${API}/workspaces/other/access-keys/${elsewhere.id}`],
        ['POST', `${API}/workspaces/other/access-keys`, { name: 'x', kind: 'alibaba' }],
        ['DELETE', `${API}/workspaces/other/access-keys/${elsewhere.id}`],
      ] as const) {
        assertProblem(await app.call(method, url, { key: admin.key, body }), 404, 'not-found', `${method} ${url}`);
      }
      assert.ok(await app.services.accessKeys.findAccessKey(elsewhere.id));
    });

    it('pages through the list with a cursor', async () => {
      for (let i = 0; i < 3; i++) await createAccessKey(app, { name: `paged ${i}`, kind: 'huawei' });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Reply = await app.call('GET', `${WS}/access-keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(page.status, 200, page.text);
        assert.ok(page.body.items.length <= 2);
        seen.push(...page.body.items.map((k: any) => k.id));
        cursor = page.body.nextCursor;
      } while (cursor !== null);
      assert.equal(new Set(seen).size, seen.length);
      const all = await app.call('GET', `${WS}/access-keys?limit=200`);
      assert.deepEqual(
        seen,
        all.body.items.map((k: any) => k.id),
      );
    });

    it('stops finding the keys of a disabled principal', async () => {
      const created = await createAccessKey(app, { name: 'to disable', kind: 'alibaba', role: 'editor' });
      assert.ok(await app.services.accessKeys.findAccessKey(created.id));
      await app.db.kysely
        .updateTable('principals')
        .set({ status: 'disabled' })
        .where('id', '=', created.principalId)
        .execute();
      assert.equal(await app.services.accessKeys.findAccessKey(created.id), undefined);
    });

    it('records an audit event for every create and revoke, without the secret', async () => {
      const created = await app.call('POST', `${WS}/access-keys`, {
        body: { name: 'audited', kind: 'huawei', role: 'editor' },
        headers: { 'x-request-id': 'req-ak-create' },
      });
      assert.equal(created.status, 201);
      assert.equal(
        (
          await app.call('DELETE', `${WS}/access-keys/${created.body.id}`, {
            headers: { 'x-request-id': 'req-ak-delete' },
          })
        ).status,
        204,
      );
      const events = await app.call('GET', `${WS}/audit?resourceType=access-key&resourceId=${created.body.id}`);
      assert.equal(events.status, 200, events.text);
      const owner = (await app.call('GET', `${API}/me`)).body.principalId;
      assert.deepEqual(
        events.body.items.map((e: any) => [e.action, e.requestId, e.principalId, e.changedFields]),
        [
          ['access-key:delete', 'req-ak-delete', owner, []],
          ['access-key:create', 'req-ak-create', owner, ['kind', 'name', 'role']],
        ],
      );
      const rows = await app.db.kysely.selectFrom('audit_events').selectAll().execute();
      assert.ok(!JSON.stringify(rows).includes(created.body.secret));
    });

    it('creates a key pair from the command line, printing the id and then the secret once', async () => {
      const run = await runCli(
        ['admin', 'create-access-key', '-w', 'default', '-r', 'editor', '-n', 'from cli', '--kind', 'huawei'],
        app.store.env,
      );
      assert.equal(run.code, 0, run.stderr);
      const [ak, sk, extra] = run.stdout.split('\n');
      assert.match(ak!, HUAWEI.id);
      assert.match(sk!, HUAWEI.secret);
      assert.equal(extra, '');
      assert.ok(!run.stderr.includes(sk!));
      const found = await app.services.accessKeys.findAkSk(ak!);
      assert.equal(found?.secret, sk);
      assert.equal(found?.principal.roles.get('default'), 'editor');
      const listed = (await app.call('GET', `${WS}/access-keys/${ak}`)).body;
      assert.deepEqual({ name: listed.name, kind: listed.kind }, { name: 'from cli', kind: 'huawei' });

      const missing = await runCli(['admin', 'create-access-key', '-w', 'nowhere', '--kind', 'alibaba'], app.store.env);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /workspace "nowhere" does not exist/);
      const noKind = await runCli(['admin', 'create-access-key', '-w', 'default'], app.store.env);
      assert.notEqual(noKind.code, 0);
      assert.match(noKind.stderr, /--kind/);
    });
  });

  describe(`access keys and master-key rotation [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine);
    });
    after(async () => {
      await app?.stop();
    });

    it('moves access-key secrets onto a new master key when the keys are re-wrapped', async () => {
      const created = await createAccessKey(app, { name: 'rotated', kind: 'alibaba' });
      const vault = createVault([{ id: 'next', key: Buffer.alloc(32, 9) }, ...loadMasterKeys(app.config)]);
      await createKeyRotationService({ db: app.db, vault }).rewrap({ batchSize: 10 });
      const row = await app.db.kysely
        .selectFrom('access_keys')
        .selectAll()
        .where('id', '=', created.id)
        .executeTakeFirstOrThrow();
      const sealed = JSON.parse(row.secret) as string;
      assert.equal(vault.keyIdOf(sealed), 'next');
      assert.equal(await openStored(app.db, vault, sealed), created.secret);
    });
  });

  describe(`tokens [${engine}]`, () => {
    let app: TestApp;
    let offsetMs = 0;
    const clock = { now: () => new Date(Date.now() + offsetMs).toISOString() };

    before(async () => {
      app = await startTestApp(engine, { clock });
      assert.equal((await app.call('POST', `${API}/workspaces`, { body: { id: 'other', name: 'Other' } })).status, 201);
    });
    after(async () => {
      await app?.stop();
    });

    const issue = async (body: unknown = {}, key = OWNER_KEY) => {
      const reply = await app.call('POST', `${API}/tokens`, { body, key });
      assert.equal(reply.status, 201, reply.text);
      return reply.body;
    };
    const withToken = (method: string, url: string, token: string, body?: unknown) =>
      app.call(method, url, { key: null, headers: { 'x-auth-token': token }, body });

    it('issues a token for an hour that acts as its principal in X-Auth-Token', async () => {
      const before = Date.parse(clock.now());
      const reply = await app.call('POST', `${API}/tokens`, { body: {} });
      assert.equal(reply.status, 201, reply.text);
      assert.equal(reply.headers['cache-control'], 'no-store');
      const { token, expiresAt, id, principalId, defaultWorkspaceId } = reply.body;
      assert.match(token, /^pbt_[A-Za-z0-9_-]{40}$/);
      assert.match(id, /^tok_/);
      const lifetime = Date.parse(expiresAt) - before;
      assert.ok(lifetime >= 3600_000 && lifetime < 3610_000, `lifetime ${lifetime} ms`);
      assert.equal(defaultWorkspaceId, 'default');
      const me = await withToken('GET', `${API}/me`, token);
      assert.equal(me.status, 200, me.text);
      assert.equal(me.body.principalId, principalId);
      assert.deepEqual(me.body.roles, { default: 'owner', other: 'owner' });
      assert.equal((await withToken('GET', `${WS}/connectors`, token)).status, 200);
      const created = await withToken('POST', `${WS}/connectors`, token, { id: 'via-token', name: 'Via token' });
      assert.equal(created.status, 201, created.text);
    });

    it('stores only a digest of the token', async () => {
      const { token, id } = await issue();
      const rows = await app.db.kysely.selectFrom('auth_tokens').selectAll().execute();
      assert.ok(rows.some((r) => r.id === id));
      assert.ok(!JSON.stringify(rows).includes(token));
      assert.ok(!JSON.stringify(rows).includes(token.slice(4)));
    });

    it('takes a shorter lifetime within 60 to 86400 seconds and refuses one outside', async () => {
      const before = Date.parse(clock.now());
      const short = await issue({ ttlSeconds: 60 });
      const lifetime = Date.parse(short.expiresAt) - before;
      assert.ok(lifetime >= 60_000 && lifetime < 70_000, `lifetime ${lifetime} ms`);
      for (const ttlSeconds of [59, 86_401, 0, -1, 1.5, '600']) {
        const reply = await app.call('POST', `${API}/tokens`, { body: { ttlSeconds } });
        assertProblem(reply, 400, 'validation-failed', String(ttlSeconds));
        assert.ok(
          reply.body.errors.some((e: any) => e.path === '/ttlSeconds'),
          reply.text,
        );
      }
      assertProblem(await app.call('POST', `${API}/tokens`, { body: { scope: 'all' } }), 400, 'validation-failed');
    });

    it('refuses a token from the moment it expires', async () => {
      const { token } = await issue({ ttlSeconds: 120 });
      offsetMs += 110_000;
      assert.equal((await withToken('GET', `${API}/me`, token)).status, 200);
      offsetMs += 10_000;
      const expired = await withToken('GET', `${API}/me`, token);
      assertProblem(expired, 401, 'unauthenticated');
      assert.match(String(expired.headers['www-authenticate']), /^Bearer /);
      await assert.rejects(app.services.tokens.authenticateToken(token), { code: 'unauthenticated' });
    });

    it('revokes a token: the next request with it gets 401', async () => {
      const { token, id } = await issue();
      assert.equal((await withToken('GET', `${WS}/connectors`, token)).status, 200);
      assert.equal((await app.call('DELETE', `${API}/tokens/${id}`)).status, 204);
      assertProblem(await withToken('GET', `${WS}/connectors`, token), 401, 'unauthenticated');
      assertProblem(await app.call('DELETE', `${API}/tokens/${id}`), 404, 'not-found');
      const self = await issue();
      assert.equal((await withToken('DELETE', `${API}/tokens/${self.id}`, self.token)).status, 204);
      assertProblem(await withToken('GET', `${API}/me`, self.token), 401, 'unauthenticated');
    });

    it('does not let another principal revoke a token', async () => {
      const { token, id } = await issue();
      const other = await createApiKey(app, 'owner');
      assertProblem(await app.call('DELETE', `${API}/tokens/${id}`, { key: other.key }), 404, 'not-found');
      assert.equal((await withToken('GET', `${API}/me`, token)).status, 200);
    });

    it('answers 401 to a token that is unknown, malformed, an API key, or sent along with an API key', async () => {
      const { token } = await issue();
      for (const bad of ['', 'garbage', 'pbt_unknown_token_0123456789abcdefghijklmnop', OWNER_KEY, `${token}x`]) {
        const reply = await withToken('GET', `${WS}/connectors`, bad);
        assertProblem(reply, 401, 'unauthenticated', bad);
        assert.match(String(reply.headers['www-authenticate']), /^Bearer /);
      }
      assertProblem(await app.call('GET', `${API}/me`, { headers: { 'x-auth-token': token } }), 401, 'unauthenticated');
      assertProblem(await app.call('POST', `${API}/tokens`, { key: null, body: {} }), 401, 'unauthenticated');
    });

    it('issues tokens to API keys only, not to other tokens', async () => {
      const { token } = await issue();
      assertProblem(await withToken('POST', `${API}/tokens`, token, {}), 403, 'forbidden');
    });

    it('gives a token the roles of its principal, no more', async () => {
      const viewer = await createApiKey(app, 'viewer');
      const { token, principalId } = await issue({}, viewer.key);
      assert.equal(principalId, viewer.principalId);
      assert.equal((await withToken('GET', `${WS}/connectors`, token)).status, 200);
      assertProblem(await withToken('POST', `${WS}/connectors`, token, { name: 'x' }), 403, 'forbidden');
      assertProblem(await withToken('GET', `${API}/workspaces/other/connectors`, token), 404, 'not-found');
    });

    it('takes a default workspace the caller is a member of, and refuses one it is not', async () => {
      const chosen = await issue({ defaultWorkspaceId: 'other' });
      assert.equal(chosen.defaultWorkspaceId, 'other');
      const found = await app.services.tokens.authenticateToken(chosen.token);
      assert.equal(found.credential.defaultWorkspaceId, 'other');
      assert.equal(found.credential.kind, 'token');
      assert.equal(found.principal.id, chosen.principalId);
      assert.equal(found.principal.roles.get('other'), 'owner');
      const viewer = await createApiKey(app, 'viewer');
      assertProblem(
        await app.call('POST', `${API}/tokens`, { key: viewer.key, body: { defaultWorkspaceId: 'other' } }),
        404,
        'not-found',
      );
      assertProblem(
        await app.call('POST', `${API}/tokens`, { key: viewer.key, body: { defaultWorkspaceId: 'no-such' } }),
        404,
        'not-found',
      );
      assertProblem(
        await app.call('POST', `${API}/tokens`, { body: { defaultWorkspaceId: 'bad id' } }),
        400,
        'validation-failed',
      );
    });

    it('revokes the tokens of a revoked API key', async () => {
      const key = await createApiKey(app, 'editor');
      const { token } = await issue({}, key.key);
      assert.equal((await withToken('GET', `${WS}/connectors`, token)).status, 200);
      assert.equal((await app.call('DELETE', `${WS}/api-keys/${key.id}`)).status, 204);
      assertProblem(await withToken('GET', `${WS}/connectors`, token), 401, 'unauthenticated');
    });

    it('stops accepting the token and API key of a disabled principal', async () => {
      const key = await createApiKey(app, 'editor');
      const { token } = await issue({}, key.key);
      await app.db.kysely
        .updateTable('principals')
        .set({ status: 'disabled' })
        .where('id', '=', key.principalId)
        .execute();
      assertProblem(await withToken('GET', `${API}/me`, token), 401, 'unauthenticated');
      assertProblem(await app.call('GET', `${API}/me`, { key: key.key }), 401, 'unauthenticated');
    });

    it('records the issue and the revocation of a token in its default workspace', async () => {
      const { id } = await issue({ ttlSeconds: 600 });
      assert.equal((await app.call('DELETE', `${API}/tokens/${id}`)).status, 204);
      const events = await app.call('GET', `${WS}/audit?resourceType=token&resourceId=${id}`);
      assert.equal(events.status, 200, events.text);
      assert.deepEqual(
        events.body.items.map((e: any) => [e.action, e.changedFields]),
        [
          ['token:delete', []],
          ['token:create', ['expiresAt']],
        ],
      );
    });

    it('lists the token routes and the X-Auth-Token scheme in /openapi.json', async () => {
      const doc = (await app.call('GET', '/openapi.json')).body;
      assert.deepEqual(doc.components.securitySchemes.authToken, {
        type: 'apiKey',
        in: 'header',
        name: 'X-Auth-Token',
        description: 'A short-lived token from POST /api/v1/tokens: pbt_…',
      });
      assert.ok(doc.paths[`${API}/tokens`].post.summary);
      assert.ok(doc.paths[`${API}/tokens/{tokenId}`].delete.summary);
      for (const method of ['get', 'post'])
        assert.ok(doc.paths[`${API}/workspaces/{workspaceId}/access-keys`][method].summary);
      for (const method of ['get', 'delete'])
        assert.ok(doc.paths[`${API}/workspaces/{workspaceId}/access-keys/{accessKeyId}`][method].summary);
    });
  });
}
