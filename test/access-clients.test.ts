// Access clients of the gateway: CRUD, update semantics, tokens shown once, rotation and authentication, on both stores.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENGINES, startTestApp, type Reply, type TestApp } from './support/stores.js';

const API = '/api/v1/workspaces';
const WS = `${API}/default`;
const CLIENTS = `${WS}/access-clients`;
const TOKEN = /^pbac_[A-Za-z0-9_-]{43}$/;

let unique = 0;
/** An id no other test in this file uses. */
const fresh = (prefix: string) => `${prefix}-${++unique}`;

const pathsOf = (reply: Reply): string[] => ((reply.body?.errors ?? []) as any[]).map((e) => e.path);

function assertProblem(reply: Reply, status: number, path?: string) {
  assert.equal(reply.status, status, reply.text);
  assert.match(String(reply.headers['content-type']), /^application\/problem\+json/);
  if (path !== undefined)
    assert.ok(pathsOf(reply).includes(path), `expected an error at ${path}, got ${JSON.stringify(reply.body?.errors)}`);
}

for (const engine of ENGINES) {
  describe(`access clients [${engine}]`, () => {
    let app: TestApp;
    // The clock the app reads; tests move it forward to let grace periods run out.
    let offsetMs = 0;
    const clock = { now: () => new Date(Date.now() + offsetMs).toISOString() };

    before(async () => {
      app = await startTestApp(engine, { clock });
    });
    after(async () => {
      await app?.stop();
    });

    async function create(body: Record<string, unknown> = {}, ws = WS): Promise<{ client: any; secret: string }> {
      const reply = await app.call('POST', `${ws}/access-clients`, {
        body: { id: fresh('client'), name: 'Agent', ...body },
      });
      assert.equal(reply.status, 201, reply.text);
      const { secret, ...client } = reply.body;
      return { client, secret };
    }

    async function get(id: string): Promise<Reply> {
      return app.call('GET', `${CLIENTS}/${id}`);
    }

    const authenticate = (token: string) => app.services.accessClients.authenticateClient(token);

    async function issueKey(role: string, ws = 'default'): Promise<string> {
      const reply = await app.call('POST', `${API}/${ws}/api-keys`, {
        body: { name: `${role} ${fresh('key')}`, role },
      });
      assert.equal(reply.status, 201, reply.text);
      return reply.body.key;
    }

    describe('create and read', () => {
      it('creates a client with a generated id, defaults, a Location, an ETag and its token once', async () => {
        const reply = await app.call('POST', CLIENTS, { body: { name: 'Support bot' } });
        assert.equal(reply.status, 201, reply.text);
        assert.match(reply.body.id, /^ac-[a-z0-9]{16}$/);
        assert.equal(reply.headers.location, `${CLIENTS}/${reply.body.id}`);
        assert.match(String(reply.headers.etag), /^"[^"]+"$/);
        assert.equal(reply.headers['cache-control'], 'no-store');
        assert.match(reply.body.secret, TOKEN);
        const { secret, secrets, createdAt, updatedAt, ...rest } = reply.body;
        assert.match(reply.body.uid, /^acu_[a-z0-9]{16}$/);
        assert.deepEqual(rest, {
          id: reply.body.id,
          uid: reply.body.uid,
          workspaceId: 'default',
          name: 'Support bot',
          description: null,
          toolsets: [],
          tools: [],
          rateLimit: null,
          status: 'active',
          revision: 1,
        });
        assert.equal(createdAt, updatedAt);
        assert.equal(secrets.length, 1);
        assert.deepEqual(Object.keys(secrets[0]).sort(), ['createdAt', 'expiresAt', 'id', 'prefix']);
        assert.equal(secrets[0].prefix, secret.slice(0, 12));
        assert.equal(secrets[0].expiresAt, null);
      });

      it('takes a client-given id and every field, and refuses a second client with the same id with 409', async () => {
        const id = fresh('Mixed-Case-9');
        const body = {
          id,
          name: 'n'.repeat(64),
          description: 'Runs the nightly report',
          toolsets: ['weather', 'crm_v2-eu'],
          rateLimit: 25,
          status: 'disabled',
        };
        const reply = await app.call('POST', CLIENTS, { body });
        assert.equal(reply.status, 201, reply.text);
        assert.deepEqual(
          {
            id: reply.body.id,
            name: reply.body.name,
            description: reply.body.description,
            toolsets: reply.body.toolsets,
            rateLimit: reply.body.rateLimit,
            status: reply.body.status,
          },
          body,
        );
        const dup = await app.call('POST', CLIENTS, { body: { id, name: 'Again' } });
        assertProblem(dup, 409);
        assert.equal(dup.body.code, 'conflict');
        assert.equal((await get(id)).body.name, 'n'.repeat(64));
      });

      it('accepts an id of 64 characters and ["*"] for every toolset', async () => {
        const id = `a${'-'.repeat(62)}z`;
        const { client } = await create({ id, toolsets: ['*'] });
        assert.equal(client.id, id);
        assert.deepEqual(client.toolsets, ['*']);
      });

      it('gets a client without its token, answers 304 to a matching If-None-Match and 404 to an unknown id', async () => {
        const { client, secret } = await create({ toolsets: ['weather'] });
        const reply = await get(client.id);
        assert.equal(reply.status, 200, reply.text);
        assert.deepEqual(reply.body, client);
        assert.equal('secret' in reply.body, false);
        assert.equal(reply.text.includes(secret), false);
        assert.equal(reply.headers['cache-control'], undefined);
        const cached = await app.call('GET', `${CLIENTS}/${client.id}`, {
          headers: { 'if-none-match': String(reply.headers.etag) },
        });
        assert.equal(cached.status, 304);
        assertProblem(await get('no-such-client'), 404);
      });

      it('lists clients in id order over cursor pages, without tokens', async () => {
        const ws = fresh('list-ws');
        assert.equal((await app.call('POST', API, { body: { id: ws, name: 'Lists' } })).status, 201);
        const secrets: string[] = [];
        for (const id of ['c-3', 'c-1', 'c-2', 'c-5', 'c-4'])
          secrets.push((await create({ id }, `${API}/${ws}`)).secret);
        const seen: string[] = [];
        let url = `${API}/${ws}/access-clients?limit=2`;
        for (;;) {
          const page = await app.call('GET', url);
          assert.equal(page.status, 200, page.text);
          for (const secret of secrets) assert.equal(page.text.includes(secret), false);
          assert.ok(page.body.items.every((c: any) => !('secret' in c) && c.secrets.length === 1));
          seen.push(...page.body.items.map((c: any) => c.id));
          if (page.body.nextCursor === null) break;
          url = `${API}/${ws}/access-clients?limit=2&cursor=${page.body.nextCursor}`;
        }
        assert.deepEqual(seen, ['c-1', 'c-2', 'c-3', 'c-4', 'c-5']);
      });
    });

    describe('validation', () => {
      const invalid: [string, Record<string, unknown>, string][] = [
        ['an id with an underscore', { id: 'has_underscore', name: 'x' }, '/id'],
        ['an id of 65 characters', { id: 'a'.repeat(65), name: 'x' }, '/id'],
        ['an empty id', { id: '', name: 'x' }, '/id'],
        ['an id with a dot', { id: 'a.b', name: 'x' }, '/id'],
        ['no name', {}, '/name'],
        ['an empty name', { name: '' }, '/name'],
        ['a name of 65 characters', { name: 'n'.repeat(65) }, '/name'],
        ['a description of 1025 characters', { name: 'x', description: 'd'.repeat(1025) }, '/description'],
        ['"*" mixed with toolset names', { name: 'x', toolsets: ['*', 'weather'] }, '/toolsets'],
        ['a toolset named twice', { name: 'x', toolsets: ['weather', 'crm', 'weather'] }, '/toolsets/2'],
        ['"*" twice', { name: 'x', toolsets: ['*', '*'] }, '/toolsets/1'],
        ['an upper-case toolset name', { name: 'x', toolsets: ['Weather'] }, '/toolsets/0'],
        ['a toolset name starting with a hyphen', { name: 'x', toolsets: ['-weather'] }, '/toolsets/0'],
        ['a toolset name of 65 characters', { name: 'x', toolsets: ['t'.repeat(65)] }, '/toolsets/0'],
        ['toolsets that are not a list', { name: 'x', toolsets: 'weather' }, '/toolsets'],
        ['a rate limit of 0', { name: 'x', rateLimit: 0 }, '/rateLimit'],
        ['a negative rate limit', { name: 'x', rateLimit: -5 }, '/rateLimit'],
        ['a fractional rate limit', { name: 'x', rateLimit: 1.5 }, '/rateLimit'],
        ['a rate limit as text', { name: 'x', rateLimit: '10' }, '/rateLimit'],
        ['an unknown status', { name: 'x', status: 'paused' }, '/status'],
        ['an unknown field', { name: 'x', secret: 'pbac_mine' }, '/secret'],
      ];

      for (const [what, body, path] of invalid) {
        it(`refuses ${what} with 400 at ${path} and creates nothing`, async () => {
          const before = (await app.call('GET', `${CLIENTS}?limit=200`)).body.items.length;
          const reply = await app.call('POST', CLIENTS, { body });
          assertProblem(reply, 400, path);
          assert.equal(reply.body.code, 'validation-failed');
          assert.equal((await app.call('GET', `${CLIENTS}?limit=200`)).body.items.length, before);
        });
      }

      it('refuses the same values in a PUT and a PATCH, changing nothing', async () => {
        const { client } = await create({ toolsets: ['weather'], rateLimit: 3 });
        const url = `${CLIENTS}/${client.id}`;
        assertProblem(
          await app.call('PUT', url, { body: { name: 'x', toolsets: ['*', 'weather'] } }),
          400,
          '/toolsets',
        );
        assertProblem(await app.call('PUT', url, { body: { name: 'x', rateLimit: 0 } }), 400, '/rateLimit');
        assertProblem(await app.call('PATCH', url, { body: { toolsets: ['a', 'a'] } }), 400, '/toolsets/1');
        assertProblem(await app.call('PATCH', url, { body: { rateLimit: 0 } }), 400, '/rateLimit');
        assertProblem(await app.call('PATCH', url, { body: { name: 'n'.repeat(65) } }), 400, '/name');
        assert.deepEqual((await get(client.id)).body, client);
      });

      it('answers 400 to a path id with an underscore or of 65 characters', async () => {
        assertProblem(await get('has_underscore'), 400);
        assertProblem(await get('a'.repeat(65)), 400);
        assertProblem(await app.call('POST', `${CLIENTS}/has_underscore/secrets`, { body: {} }), 400);
      });
    });

    describe('PUT and PATCH', () => {
      it('replaces with PUT: omitted optional fields are unset, tokens are kept', async () => {
        const { client, secret } = await create({
          description: 'd',
          toolsets: ['weather'],
          rateLimit: 9,
          status: 'disabled',
        });
        const reply = await app.call('PUT', `${CLIENTS}/${client.id}`, { body: { name: 'Renamed' } });
        assert.equal(reply.status, 200, reply.text);
        assert.equal(reply.body.name, 'Renamed');
        assert.equal(reply.body.description, null);
        assert.deepEqual(reply.body.toolsets, []);
        assert.equal(reply.body.rateLimit, null);
        assert.equal(reply.body.status, 'active');
        assert.equal(reply.body.revision, 2);
        assert.deepEqual(reply.body.secrets, client.secrets);
        assert.equal(reply.headers.etag, (await get(client.id)).headers.etag);
        assert.equal((await authenticate(secret))?.client.id, client.id);
      });

      it('refuses a PUT without a name with 400', async () => {
        const { client } = await create();
        assertProblem(
          await app.call('PUT', `${CLIENTS}/${client.id}`, { body: { description: 'no name' } }),
          400,
          '/name',
        );
      });

      it('accepts a GET body sent back with PUT, ignoring server-managed fields, and keeps the revision when nothing changed', async () => {
        const { client } = await create({ description: 'same', toolsets: ['*'], rateLimit: 4 });
        const echoed = { ...client, id: 'ignored-id', workspaceId: 'elsewhere', revision: 99, secrets: [] };
        const reply = await app.call('PUT', `${CLIENTS}/${client.id}`, { body: echoed });
        assert.equal(reply.status, 200, reply.text);
        assert.deepEqual(reply.body, client);
        const history = await app.call('GET', `${WS}/audit?resourceType=access-client&resourceId=${client.id}`);
        assert.deepEqual(
          history.body.items.map((e: any) => e.action),
          ['access-client:create'],
        );
      });

      it('merges with PATCH: only given fields change, null unsets, a required field cannot be unset', async () => {
        const { client } = await create({ description: 'keep me', toolsets: ['weather', 'crm'], rateLimit: 7 });
        const url = `${CLIENTS}/${client.id}`;
        const renamed = await app.call('PATCH', url, { body: { name: 'Patched' } });
        assert.equal(renamed.status, 200, renamed.text);
        assert.deepEqual({ ...renamed.body, updatedAt: 0 }, { ...client, name: 'Patched', revision: 2, updatedAt: 0 });
        const unset = await app.call('PATCH', url, { body: { rateLimit: null, toolsets: null, description: null } });
        assert.equal(unset.status, 200, unset.text);
        assert.equal(unset.body.rateLimit, null);
        assert.deepEqual(unset.body.toolsets, []);
        assert.equal(unset.body.description, null);
        assert.equal(unset.body.name, 'Patched');
        const replacedList = await app.call('PATCH', url, { body: { toolsets: ['*'] } }); // arrays replace, never merge
        assert.deepEqual(replacedList.body.toolsets, ['*']);
        assertProblem(await app.call('PATCH', url, { body: { name: null } }), 400, '/name');
        assertProblem(await app.call('PATCH', url, { body: { secrets: [] } }), 400, '/secrets');
        const same = await app.call('PATCH', url, { body: { toolsets: ['*'] } });
        assert.equal(same.body.revision, replacedList.body.revision);
      });

      it('answers 404 to a PUT, PATCH, DELETE or rotation of an unknown client', async () => {
        assertProblem(await app.call('PUT', `${CLIENTS}/ghost`, { body: { name: 'x' } }), 404);
        assertProblem(await app.call('PATCH', `${CLIENTS}/ghost`, { body: { name: 'x' } }), 404);
        assertProblem(await app.call('DELETE', `${CLIENTS}/ghost`), 404);
        assertProblem(await app.call('POST', `${CLIENTS}/ghost/secrets`, { body: {} }), 404);
      });
    });

    describe('ETags and preconditions', () => {
      it('refuses a stale If-Match on PUT, PATCH, DELETE and rotation with 412 and applies a current one', async () => {
        const { client } = await create();
        const url = `${CLIENTS}/${client.id}`;
        const stale = String((await get(client.id)).headers.etag);
        const changed = await app.call('PATCH', url, {
          body: { description: 'moved on' },
          headers: { 'if-match': stale },
        });
        assert.equal(changed.status, 200, changed.text);
        assert.notEqual(changed.headers.etag, stale);
        for (const [method, suffix, body] of [
          ['PUT', '', { name: 'x' }],
          ['PATCH', '', { name: 'x' }],
          ['DELETE', '', undefined],
          ['POST', '/secrets', {}],
        ] as const) {
          const reply = await app.call(method, `${url}${suffix}`, { body, headers: { 'if-match': stale } });
          assertProblem(reply, 412);
          assert.equal(reply.body.code, 'precondition-failed');
        }
        assert.equal((await get(client.id)).body.revision, 2);
        const current = String(changed.headers.etag);
        const put = await app.call('PUT', url, { body: { name: 'Fresh' }, headers: { 'if-match': current } });
        assert.equal(put.status, 200, put.text);
        assert.equal(
          (await app.call('DELETE', url, { headers: { 'if-match': String(put.headers.etag) } })).status,
          204,
        );
      });
    });

    describe('tokens', () => {
      it('never shows a token again: not in GET, list, audit, nor the raw rows, which hold only its SHA-256 digest', async () => {
        const { client, secret } = await create({ id: fresh('hidden') });
        const rotated = await app.call('POST', `${CLIENTS}/${client.id}/secrets`, { body: {} });
        assert.equal(rotated.status, 200, rotated.text);
        const tokens = [secret, rotated.body.secret];
        const visible = [
          await get(client.id),
          await app.call('GET', `${CLIENTS}?limit=200`),
          await app.call('GET', `${WS}/audit?limit=200`),
          await app.call('GET', `${WS}/audit?resourceType=access-client&resourceId=${client.id}`),
        ];
        for (const reply of visible) {
          assert.equal(reply.status, 200, reply.text);
          for (const token of tokens) assert.equal(reply.text.includes(token), false, reply.text);
          // The body part after the prefix, too: a prefix is shown, the rest never.
          for (const token of tokens) assert.equal(reply.text.includes(token.slice(12)), false);
        }
        const clientRows = await app.db.kysely.selectFrom('access_clients').selectAll().execute();
        const secretRows = await app.db.kysely
          .selectFrom('access_client_secrets')
          .selectAll()
          .where('client_id', '=', client.id)
          .execute();
        const raw = JSON.stringify([clientRows, secretRows]);
        for (const token of tokens) {
          assert.equal(raw.includes(token), false);
          assert.equal(raw.includes(token.slice(12)), false);
        }
        const digests = tokens.map((t) => createHash('sha256').update(t).digest('hex'));
        assert.deepEqual(secretRows.map((r) => r.token_hash).sort(), [...digests].sort());
        if (engine === 'sqlite') {
          const dir = app.store.env.DATA_DIR!;
          for (const name of readdirSync(dir).filter((n) => n.startsWith('plugboard.db'))) {
            const bytes = readFileSync(join(dir, name));
            for (const token of tokens)
              assert.equal(bytes.includes(token.slice(12)), false, `${name} contains a token`);
          }
          assert.ok(existsSync(join(dir, 'plugboard.db')));
        }
      });

      it('authenticates a token to its workspace and client, and refuses unknown and malformed tokens', async () => {
        const { client, secret } = await create({ toolsets: ['weather'] });
        const found = await authenticate(secret);
        assert.ok(found);
        assert.equal(found.workspaceId, 'default');
        assert.deepEqual(found.client, (await get(client.id)).body);
        assert.equal(JSON.stringify(found).includes(secret), false);
        assert.equal(await authenticate(`pbac_${'A'.repeat(43)}`), undefined);
        assert.equal(await authenticate(secret.slice(0, -1)), undefined);
        assert.equal(await authenticate(secret.replace('pbac_', 'pbk_')), undefined);
        assert.equal(await authenticate(''), undefined);
      });

      it('refuses the token of a disabled client, and accepts it again once the client is active', async () => {
        const { client, secret } = await create();
        const url = `${CLIENTS}/${client.id}`;
        assert.equal((await app.call('PATCH', url, { body: { status: 'disabled' } })).status, 200);
        assert.equal(await authenticate(secret), undefined);
        assert.equal((await app.call('PATCH', url, { body: { status: 'active' } })).status, 200);
        assert.equal((await authenticate(secret))?.client.id, client.id);
      });

      it('rotates with a grace period: the old token works until it runs out, the new one from the start', async () => {
        const { client, secret: old } = await create();
        const rotated = await app.call('POST', `${CLIENTS}/${client.id}/secrets`, {
          body: { gracePeriodSeconds: 600 },
        });
        assert.equal(rotated.status, 200, rotated.text);
        assert.equal(rotated.headers['cache-control'], 'no-store');
        assert.match(rotated.body.secret, TOKEN);
        assert.notEqual(rotated.body.secret, old);
        assert.equal(rotated.body.revision, 2);
        assert.equal(rotated.headers.etag, (await get(client.id)).headers.etag);
        const [previous, next] = rotated.body.secrets;
        assert.equal(rotated.body.secrets.length, 2);
        assert.equal(previous.id, client.secrets[0].id);
        assert.equal(Date.parse(previous.expiresAt) - Date.parse(rotated.body.updatedAt), 600_000);
        assert.equal(next.expiresAt, null);
        assert.equal(next.prefix, rotated.body.secret.slice(0, 12));

        assert.equal((await authenticate(old))?.client.id, client.id);
        assert.equal((await authenticate(rotated.body.secret))?.client.id, client.id);
        offsetMs += 599_000;
        assert.equal((await authenticate(old))?.client.id, client.id, 'still inside the grace period');
        offsetMs += 2_000;
        assert.equal(await authenticate(old), undefined);
        assert.equal((await authenticate(rotated.body.secret))?.client.id, client.id);
      });

      it('rotates with the default grace period of an hour when the body is empty or absent', async () => {
        const { client, secret: old } = await create();
        for (const body of [undefined, {}]) {
          const rotated = await app.call('POST', `${CLIENTS}/${client.id}/secrets`, { body });
          assert.equal(rotated.status, 200, rotated.text);
          const retiring = rotated.body.secrets.filter((s: any) => s.expiresAt !== null);
          assert.ok(
            retiring.every((s: any) => Date.parse(s.expiresAt) - Date.parse(rotated.body.updatedAt) <= 3_600_000),
          );
          assert.equal(Date.parse(retiring.at(-1).expiresAt) - Date.parse(rotated.body.updatedAt), 3_600_000);
        }
        assert.equal((await authenticate(old))?.client.id, client.id);
        offsetMs += 3_601_000;
        assert.equal(await authenticate(old), undefined);
      });

      it('keeps the earlier expiry of a token already retired when rotating again', async () => {
        const { client } = await create();
        const url = `${CLIENTS}/${client.id}/secrets`;
        const first = await app.call('POST', url, { body: { gracePeriodSeconds: 60 } });
        const second = await app.call('POST', url, { body: { gracePeriodSeconds: 3600 } });
        assert.equal(second.status, 200, second.text);
        const original = second.body.secrets.find((s: any) => s.id === client.secrets[0].id);
        assert.equal(original.expiresAt, first.body.secrets[0].expiresAt);
        assert.equal(second.body.secrets.length, 3);
      });

      it('revokes the previous tokens at once with a grace period of 0', async () => {
        const { client, secret: old } = await create();
        const rotated = await app.call('POST', `${CLIENTS}/${client.id}/secrets`, { body: { gracePeriodSeconds: 0 } });
        assert.equal(rotated.status, 200, rotated.text);
        assert.equal(await authenticate(old), undefined);
        assert.equal((await authenticate(rotated.body.secret))?.client.id, client.id);
        assert.deepEqual(
          rotated.body.secrets.map((s: any) => s.prefix),
          [rotated.body.secret.slice(0, 12)],
        );
      });

      it('refuses a grace period outside 0..604800 seconds with 400, changing nothing', async () => {
        const { client, secret } = await create();
        for (const gracePeriodSeconds of [-1, 604_801, 1.5, '60']) {
          assertProblem(
            await app.call('POST', `${CLIENTS}/${client.id}/secrets`, { body: { gracePeriodSeconds } }),
            400,
            '/gracePeriodSeconds',
          );
        }
        assertProblem(
          await app.call('POST', `${CLIENTS}/${client.id}/secrets`, { body: { token: 'mine' } }),
          400,
          '/token',
        );
        assert.deepEqual((await get(client.id)).body, client);
        assert.equal((await authenticate(secret))?.client.id, client.id);
      });

      it('deletes a client with its tokens', async () => {
        const { client, secret } = await create();
        assert.equal((await app.call('DELETE', `${CLIENTS}/${client.id}`)).status, 204);
        assertProblem(await get(client.id), 404);
        assert.equal(await authenticate(secret), undefined);
        const rows = await app.db.kysely
          .selectFrom('access_client_secrets')
          .selectAll()
          .where('client_id', '=', client.id)
          .execute();
        assert.deepEqual(rows, []);
      });

      it('does not replay a response that carried a token for a repeated Idempotency-Key', async () => {
        const headers = { 'idempotency-key': fresh('idem') };
        const body = { id: fresh('idem-client'), name: 'Once' };
        assert.equal((await app.call('POST', CLIENTS, { body, headers })).status, 201);
        const again = await app.call('POST', CLIENTS, { body, headers });
        assertProblem(again, 409);
        assert.equal(again.text.includes('pbac_'), false);
      });
    });

    describe('audit', () => {
      it('records create, update, rotation and delete with field names only, in a history kept after the delete', async () => {
        const { client, secret } = await create({ toolsets: ['weather'] });
        const url = `${CLIENTS}/${client.id}`;
        await app.call('PATCH', url, { body: { rateLimit: 5, description: 'x' } });
        const rotated = await app.call('POST', `${url}/secrets`, { body: { gracePeriodSeconds: 0 } });
        await app.call('DELETE', url);
        const reply = await app.call('GET', `${url}/history`);
        assert.equal(reply.status, 200, reply.text);
        const events = [...reply.body.items]
          .reverse()
          .map((e: any) => [e.action, e.fromRevision, e.toRevision, e.changedFields]);
        assert.deepEqual(events.slice(1), [
          ['access-client:update', 1, 2, ['description', 'rateLimit']],
          ['access-client:rotate-secret', 2, 3, ['secrets']],
          ['access-client:delete', 3, null, events[3]![3]],
        ]);
        assert.equal(events[0]![0], 'access-client:create');
        assert.equal(events[0]![2], 1);
        for (const token of [secret, rotated.body.secret]) assert.equal(reply.text.includes(token), false);
      });
    });

    describe('roles and workspaces', () => {
      it('lets a viewer read clients but refuses every write with 403, changing nothing', async () => {
        const { client } = await create();
        const key = await issueKey('viewer');
        assert.equal((await app.call('GET', CLIENTS, { key })).status, 200);
        assert.equal((await app.call('GET', `${CLIENTS}/${client.id}`, { key })).status, 200);
        const writes = [
          ['POST', CLIENTS, { name: 'planted' }],
          ['PUT', `${CLIENTS}/${client.id}`, { name: 'x' }],
          ['PATCH', `${CLIENTS}/${client.id}`, { name: 'x' }],
          ['DELETE', `${CLIENTS}/${client.id}`, undefined],
          ['POST', `${CLIENTS}/${client.id}/secrets`, {}],
        ] as const;
        for (const [method, url, body] of writes) {
          const reply = await app.call(method, url, { key, body });
          assertProblem(reply, 403);
          assert.equal(reply.body.code, 'forbidden', `${method} ${url}`);
        }
        assert.deepEqual((await get(client.id)).body, client);
      });

      it('lets an editor create, change, rotate and delete clients', async () => {
        const key = await issueKey('editor');
        const created = await app.call('POST', CLIENTS, { key, body: { name: 'By editor' } });
        assert.equal(created.status, 201, created.text);
        const url = `${CLIENTS}/${created.body.id}`;
        assert.equal((await app.call('PATCH', url, { key, body: { toolsets: ['*'] } })).status, 200);
        assert.equal((await app.call('PUT', url, { key, body: { name: 'Again' } })).status, 200);
        assert.equal((await app.call('POST', `${url}/secrets`, { key, body: {} })).status, 200);
        assert.equal((await app.call('DELETE', url, { key })).status, 204);
      });

      it('answers 404 to a key of another workspace on every route, and keeps clients apart per workspace', async () => {
        const other = fresh('other-ws');
        assert.equal((await app.call('POST', API, { body: { id: other, name: 'Other' } })).status, 201);
        const key = await issueKey('admin', other);
        const { client } = await create();
        const url = `${CLIENTS}/${client.id}`;
        for (const [method, target, body] of [
          ['GET', CLIENTS, undefined],
          ['POST', CLIENTS, { name: 'planted' }],
          ['GET', url, undefined],
          ['PUT', url, { name: 'x' }],
          ['PATCH', url, { name: 'x' }],
          ['DELETE', url, undefined],
          ['POST', `${url}/secrets`, {}],
        ] as const) {
          const reply = await app.call(method, target, { key, body });
          assertProblem(reply, 404);
        }
        // The same id in another workspace names a different client.
        assertProblem(await app.call('GET', `${API}/${other}/access-clients/${client.id}`), 404);
        const twin = await create({ id: client.id, name: 'Twin' }, `${API}/${other}`);
        assert.equal(twin.client.workspaceId, other);
        assert.equal((await authenticate(twin.secret))?.workspaceId, other);
        assert.deepEqual((await get(client.id)).body, client);
      });
    });
  });

  describe(`access clients with REQUIRE_IF_MATCH [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine, { env: { REQUIRE_IF_MATCH: 'true' } });
    });
    after(async () => {
      await app?.stop();
    });

    it('refuses PUT, PATCH and DELETE without If-Match with 428, but rotates without one', async () => {
      const created = await app.call('POST', CLIENTS, { body: { id: 'guarded', name: 'Guarded' } });
      assert.equal(created.status, 201, created.text);
      const url = `${CLIENTS}/guarded`;
      for (const [method, body] of [
        ['PUT', { name: 'x' }],
        ['PATCH', { name: 'x' }],
        ['DELETE', undefined],
      ] as const) {
        const reply = await app.call(method, url, { body });
        assertProblem(reply, 428);
        assert.equal(reply.body.code, 'precondition-required');
      }
      const rotated = await app.call('POST', `${url}/secrets`, { body: {} });
      assert.equal(rotated.status, 200, rotated.text);
      const put = await app.call('PUT', url, {
        body: { name: 'x' },
        headers: { 'if-match': String(rotated.headers.etag) },
      });
      assert.equal(put.status, 200, put.text);
    });
  });
}
