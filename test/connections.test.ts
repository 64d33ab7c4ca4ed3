import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { ENGINES, startTestApp, type Reply, type TestApp } from './support/stores.js';

const API = '/api/v1/workspaces';
const WS = `${API}/default`;

let unique = 0;
/** A name or slug no other test in this file uses. */
const fresh = (prefix: string) => `${prefix}-${++unique}`;

const pathsOf = (reply: Reply): string[] => ((reply.body?.errors ?? []) as any[]).map((e) => e.path);

function assertProblem(reply: Reply, status: number, path?: string) {
  assert.equal(reply.status, status, reply.text);
  assert.match(String(reply.headers['content-type']), /^application\/problem\+json/);
  if (path !== undefined)
    assert.ok(pathsOf(reply).includes(path), `expected an error at ${path}, got ${JSON.stringify(reply.body?.errors)}`);
}

for (const engine of ENGINES) {
  describe(`connections [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine);
    });
    after(async () => {
      await app?.stop();
    });

    async function createConnector(body: Record<string, unknown>, ws = WS): Promise<any> {
      const reply = await app.call('POST', `${ws}/connectors`, { body: { id: fresh('cr'), ...body } });
      assert.equal(reply.status, 201, reply.text);
      return reply.body;
    }

    async function createConnection(body: Record<string, unknown>, ws = WS): Promise<any> {
      const reply = await app.call('POST', `${ws}/connections`, { body: { type: 'http', ...body } });
      assert.equal(reply.status, 201, reply.text);
      return reply.body;
    }

    async function getConnection(id: number): Promise<any> {
      const reply = await app.call('GET', `${WS}/connections/${id}`);
      assert.equal(reply.status, 200, reply.text);
      return reply.body;
    }

    describe('ids, create and read', () => {
      it('creates connections with positive integer ids that increase, a Location header and an ETag', async () => {
        const ids: number[] = [];
        for (let i = 0; i < 4; i++) {
          const reply = await app.call('POST', `${WS}/connections`, {
            body: { name: fresh('numbered'), type: 'mysql', content: { host: 'db', port: 3306 } },
          });
          assert.equal(reply.status, 201, reply.text);
          assert.equal(typeof reply.body.id, 'number');
          assert.ok(Number.isSafeInteger(reply.body.id) && reply.body.id > 0, `id ${reply.body.id}`);
          assert.match(reply.text, new RegExp(`"id":${reply.body.id}[,}]`), 'the id is a JSON number, not a string');
          assert.equal(reply.headers.location, `${WS}/connections/${reply.body.id}`);
          assert.match(String(reply.headers.etag), /^"[^"]+"$/);
          assert.equal(reply.body.workspaceId, 'default');
          assert.equal(reply.body.connectorId, null);
          assert.equal(reply.body.envType, 0);
          assert.equal(reply.body.status, 'active');
          assert.equal(reply.body.revision, 1);
          assert.deepEqual(reply.body.health, { state: 'unknown', checkedAt: null, message: null });
          ids.push(reply.body.id);
        }
        for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `ids increase: ${ids.join(', ')}`);
      });

      it('gets a connection by id, and answers 404 for an id that names none', async () => {
        const created = await createConnection({
          name: fresh('readable'),
          description: 'd',
          envType: 1,
          content: { host: 'h' },
        });
        const reply = await app.call('GET', `${WS}/connections/${created.id}`);
        assert.equal(reply.status, 200, reply.text);
        assert.deepEqual(reply.body, created);
        assert.equal(reply.headers.etag, (await app.call('GET', `${WS}/connections/${created.id}`)).headers.etag);
        assertProblem(await app.call('GET', `${WS}/connections/${created.id + 100000}`), 404);
      });

      it('answers 400 or 404, never 500, for ids that are not positive integers or are too large', async () => {
        const body = { name: 'whatever', type: 'http' };
        const bad = [
          'abc',
          '0',
          '-1',
          '1.5',
          '1e3',
          '0x10',
          '007',
          '99999999999999999999',
          '9007199254740993',
          '9999999999999999',
          '%20',
        ];
        for (const id of bad) {
          for (const [method, options] of [
            ['GET', {}],
            ['PUT', { body }],
            ['PATCH', { body: { description: 'x' } }],
            ['DELETE', {}],
          ] as const) {
            const reply = await app.call(method, `${WS}/connections/${id}`, options);
            assert.ok(
              reply.status === 400 || reply.status === 404,
              `${method} /connections/${id} gave ${reply.status}: ${reply.text}`,
            );
            assert.match(String(reply.headers['content-type']), /^application\/problem\+json/);
          }
        }
        assertProblem(await app.call('GET', `${WS}/connections/99999999999999999999`), 400, 'path/connectionId');
      });
    });

    describe('names', () => {
      it('keeps a name unique within its connector with 409', async () => {
        const connector = await createConnector({ name: 'Names' });
        const first = await createConnection({ connectorId: connector.id, name: 'prod' });
        const dup = await app.call('POST', `${WS}/connections`, {
          body: { connectorId: connector.id, name: 'prod', type: 'http' },
        });
        assertProblem(dup, 409);
        assert.equal(dup.body.code, 'conflict');
        const listed = await app.call('GET', `${WS}/connections?connectorId=${connector.id}`);
        assert.deepEqual(
          listed.body.items.map((c: any) => c.id),
          [first.id],
        );
      });

      it('allows the same name under another connector and without a connector', async () => {
        const one = await createConnector({ name: 'One' });
        const two = await createConnector({ name: 'Two' });
        const name = fresh('shared');
        const a = await createConnection({ connectorId: one.id, name });
        const b = await createConnection({ connectorId: two.id, name });
        const c = await createConnection({ name });
        assert.equal(new Set([a.id, b.id, c.id]).size, 3);
      });

      it('keeps the name of a connection without a connector unique within the workspace', async () => {
        const name = fresh('loose');
        await createConnection({ name });
        const dup = await app.call('POST', `${WS}/connections`, { body: { name, type: 'redis', connectorId: null } });
        assertProblem(dup, 409);
        // Another workspace may use it.
        const ws = fresh('names-ws');
        assert.equal((await app.call('POST', API, { body: { id: ws, name: 'Names' } })).status, 201);
        await createConnection({ name }, `${API}/${ws}`);
      });

      it('refuses a rename onto a name taken in the same scope with 409 and keeps the old name', async () => {
        const connector = await createConnector({ name: 'Renames' });
        await createConnection({ connectorId: connector.id, name: 'taken' });
        const other = await createConnection({ connectorId: connector.id, name: 'free' });
        assertProblem(await app.call('PATCH', `${WS}/connections/${other.id}`, { body: { name: 'taken' } }), 409);
        assertProblem(
          await app.call('PUT', `${WS}/connections/${other.id}`, { body: { name: 'taken', type: 'http' } }),
          409,
        );
        assert.deepEqual(await getConnection(other.id), other);
      });
    });

    describe('references and credentials', () => {
      it('rejects a connectorId that names no connector at /connectorId', async () => {
        const reply = await app.call('POST', `${WS}/connections`, {
          body: { connectorId: 'no-such-connector', name: fresh('orphan'), type: 'http' },
        });
        assertProblem(reply, 400, '/connectorId');
        assertProblem(
          await app.call('POST', `${WS}/connections`, { body: { connectorId: 'has space', name: 'x', type: 'http' } }),
          400,
          '/connectorId',
        );
      });

      it('rejects a credential whose authSchemeConfigId is not a config of the connector', async () => {
        const connector = await createConnector({
          name: 'Creds',
          authSchemeConfigs: [{ id: 'token', schemeType: 'bearer' }],
        });
        const elsewhere = await createConnector({
          name: 'Elsewhere',
          authSchemeConfigs: [{ id: 'other', schemeType: 'bearer' }],
        });
        const reply = await app.call('POST', `${WS}/connections`, {
          body: {
            connectorId: connector.id,
            name: 'c',
            type: 'http',
            credentials: [{ kind: 'action', authSchemeConfigId: 'other', secret: 's' }],
          },
        });
        assertProblem(reply, 400, '/credentials/0/authSchemeConfigId');
        const second = await app.call('POST', `${WS}/connections`, {
          body: {
            connectorId: connector.id,
            name: 'c',
            type: 'http',
            credentials: [
              { kind: 'action', authSchemeConfigId: 'token', secret: 's' },
              { kind: 'trigger', authSchemeConfigId: 'missing', secret: 's' },
            ],
          },
        });
        assertProblem(second, 400, '/credentials/1/authSchemeConfigId');
        assert.ok(!pathsOf(second).includes('/credentials/0/authSchemeConfigId'));

        const ok = await createConnection({
          connectorId: connector.id,
          name: 'c',
          credentials: [{ kind: 'action', authSchemeConfigId: 'token', secret: 's' }],
        });
        assertProblem(
          await app.call('PATCH', `${WS}/connections/${ok.id}`, {
            body: { credentials: [{ kind: 'action', authSchemeConfigId: 'other', secret: 's' }] },
          }),
          400,
          '/credentials/0/authSchemeConfigId',
        );
        assert.deepEqual(await getConnection(ok.id), ok);
        assert.ok(elsewhere.id);
      });

      // Only PostgreSQL lets a write in between: a SQLite change holds the write lock from its read to its commit.
      if (engine === 'postgres')
        it('refuses a credential for a config deleted while the change waited to commit', async () => {
          const connector = await createConnector({
            name: 'Racing',
            authSchemeConfigs: [
              { id: 'kept', schemeType: 'bearer' },
              { id: 'doomed', schemeType: 'bearer' },
            ],
          });
          const connection = await createConnection({
            connectorId: connector.id,
            name: 'racing',
            credentials: [{ kind: 'action', authSchemeConfigId: 'kept', secret: 's' }],
          });
          const side = new pg.Client({ connectionString: app.store.env.DATABASE_URL });
          await side.connect();
          let patched: Promise<Reply>;
          try {
            await side.query('begin');
            await side.query('select 1 from connections where id = $1 for update', [connection.id]);
            // The change has read the connector (or not) and computed the row; it waits for the row to write it.
            patched = app.call('PATCH', `${WS}/connections/${connection.id}`, {
              body: {
                credentials: [
                  { kind: 'action', authSchemeConfigId: 'kept', secret: '******' },
                  { kind: 'trigger', authSchemeConfigId: 'doomed', secret: 't' },
                ],
              },
            });
            const deadline = Date.now() + 10_000;
            for (;;) {
              // Waiting on this transaction's lock: the text pg_stat_activity shows of a prepared statement can be an older one.
              const { rows } = await side.query(
                'select count(*)::int as n from pg_stat_activity where pg_backend_pid() = any(pg_blocking_pids(pid))',
              );
              if (rows[0].n > 0) break;
              assert.ok(Date.now() < deadline, 'the change never waited on the locked row');
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
            // No stored connection names the config yet, so its deletion goes ahead.
            const removed = await app.call('DELETE', `${WS}/connectors/${connector.id}/auth-scheme-configs/doomed`);
            assert.equal(removed.status, 204, removed.text);
            await side.query('commit');
          } finally {
            await side.end();
          }
          assertProblem(await patched, 400, '/credentials/1/authSchemeConfigId');
          assert.deepEqual(
            (await getConnection(connection.id)).credentials.map((c: any) => c.authSchemeConfigId),
            ['kept'],
          );
        });

      it('rejects two credentials with the same kind and authSchemeConfigId', async () => {
        const connector = await createConnector({
          name: 'Dup creds',
          authSchemeConfigs: [{ id: 'token', schemeType: 'bearer' }],
        });
        const reply = await app.call('POST', `${WS}/connections`, {
          body: {
            connectorId: connector.id,
            name: 'dup',
            type: 'http',
            credentials: [
              { kind: 'action', authSchemeConfigId: 'token', secret: 'a' },
              { kind: 'trigger', authSchemeConfigId: 'token', secret: 'b' },
              { kind: 'action', authSchemeConfigId: 'token', secret: 'c' },
            ],
          },
        });
        assertProblem(reply, 400);
        assert.ok(
          pathsOf(reply).some((p) => p.startsWith('/credentials/2')),
          JSON.stringify(reply.body.errors),
        );
        const noConnector = await app.call('POST', `${WS}/connections`, {
          body: {
            name: fresh('dup'),
            type: 'http',
            credentials: [
              { kind: 'action', authSchemeConfigId: 'x' },
              { kind: 'action', authSchemeConfigId: 'x' },
            ],
          },
        });
        assertProblem(noConnector, 400);
        assert.ok(pathsOf(noConnector).some((p) => p.startsWith('/credentials/1')));
      });

      it('keeps credentials in the order they were written', async () => {
        const connector = await createConnector({
          name: 'Ordered creds',
          authSchemeConfigs: [
            { id: 'a', schemeType: 'bearer' },
            { id: 'b', schemeType: 'api-key', config: { name: 'X-Key' } },
            { id: 'c', schemeType: 'basic-auth' },
          ],
        });
        const order = (c: any) => c.credentials.map((x: any) => `${x.kind}:${x.authSchemeConfigId}`);
        const created = await createConnection({
          connectorId: connector.id,
          name: 'ordered',
          credentials: [
            { kind: 'trigger', authSchemeConfigId: 'c', secret: 'sc' },
            { kind: 'action', authSchemeConfigId: 'a', secret: 'sa' },
            { kind: 'action', authSchemeConfigId: 'b', secret: null },
          ],
        });
        assert.deepEqual(order(created), ['trigger:c', 'action:a', 'action:b']);
        assert.deepEqual(
          created.credentials.map((c: any) => c.secret),
          ['******', '******', null],
        );
        assert.deepEqual(order(await getConnection(created.id)), ['trigger:c', 'action:a', 'action:b']);

        const put = await app.call('PUT', `${WS}/connections/${created.id}`, {
          body: {
            name: 'ordered',
            type: 'http',
            credentials: [
              { kind: 'action', authSchemeConfigId: 'b', secret: null },
              { kind: 'trigger', authSchemeConfigId: 'c', secret: '******' },
              { kind: 'action', authSchemeConfigId: 'a', secret: '******' },
            ],
          },
        });
        assert.equal(put.status, 200, put.text);
        assert.deepEqual(order(put.body), ['action:b', 'trigger:c', 'action:a']);
        const read = await getConnection(created.id);
        assert.deepEqual(order(read), ['action:b', 'trigger:c', 'action:a']);
        assert.deepEqual(
          read.credentials.map((c: any) => c.secret),
          [null, '******', '******'],
          'the masks kept the stored secrets',
        );
        assert.equal(read.connectorId, connector.id, 'a PUT that omits connectorId keeps it');

        const listed = await app.call('GET', `${WS}/connections?connectorId=${connector.id}`);
        assert.deepEqual(order(listed.body.items[0]), ['action:b', 'trigger:c', 'action:a']);
      });
    });

    describe('field rules', () => {
      it('accepts envType 0 and 1 only', async () => {
        assert.equal((await createConnection({ name: fresh('dev'), envType: 0 })).envType, 0);
        const prod = await createConnection({ name: fresh('prod'), envType: 1 });
        assert.equal(prod.envType, 1);
        for (const envType of ['1', 2, -1, 0.5, true]) {
          assertProblem(
            await app.call('POST', `${WS}/connections`, { body: { name: fresh('env'), type: 'http', envType } }),
            400,
            '/envType',
          );
        }
        assertProblem(
          await app.call('PATCH', `${WS}/connections/${prod.id}`, { body: { envType: '0' } }),
          400,
          '/envType',
        );
        assertProblem(
          await app.call('PUT', `${WS}/connections/${prod.id}`, {
            body: { name: prod.name, type: 'http', envType: 2 },
          }),
          400,
          '/envType',
        );
        assert.equal((await getConnection(prod.id)).envType, 1);
      });

      it('requires type to match its pattern', async () => {
        for (const type of ['mysql', 'postgresql', 'redis', 'x', 'my-sql2'])
          await createConnection({ name: fresh('typed'), type });
        for (const type of ['', 'MySQL', '1sql', 'my_sql', 'my sql', '-http', 'a'.repeat(33)]) {
          assertProblem(
            await app.call('POST', `${WS}/connections`, { body: { name: fresh('typed'), type } }),
            400,
            '/type',
          );
        }
        assertProblem(await app.call('POST', `${WS}/connections`, { body: { name: fresh('untyped') } }), 400, '/type');
      });

      it('starts a new connection with the connector variables, overridden by given ones of the same name', async () => {
        const connector = await createConnector({
          name: 'Inherit',
          connectionVariables: [
            { name: 'org', value: 'acme' },
            { name: 'region', value: 'us' },
          ],
        });
        const plain = await createConnection({ connectorId: connector.id, name: 'plain' });
        assert.deepEqual(plain.variables, [
          { name: 'org', value: 'acme' },
          { name: 'region', value: 'us' },
        ]);
        const custom = await createConnection({
          connectorId: connector.id,
          name: 'custom',
          variables: [
            { name: 'region', value: 'eu' },
            { name: 'team', value: 'core' },
          ],
        });
        const byName = Object.fromEntries(custom.variables.map((v: any) => [v.name, v.value]));
        assert.deepEqual(byName, { org: 'acme', region: 'eu', team: 'core' });
        assert.equal(custom.variables.length, 3);
        assert.deepEqual((await getConnection(custom.id)).variables, custom.variables);
        const loose = await createConnection({ name: fresh('no-connector'), variables: [{ name: 'x', value: '1' }] });
        assert.deepEqual(loose.variables, [{ name: 'x', value: '1' }]);
        assertProblem(
          await app.call('POST', `${WS}/connections`, {
            body: {
              connectorId: connector.id,
              name: 'dupvars',
              type: 'http',
              variables: [
                { name: 'a', value: '1' },
                { name: 'a', value: '2' },
              ],
            },
          }),
          400,
          '/variables/1/name',
        );
      });
    });

    describe('connectorId is fixed at creation', () => {
      it('refuses to change connectorId through PUT or PATCH', async () => {
        const one = await createConnector({ name: 'Fixed one' });
        const two = await createConnector({ name: 'Fixed two' });
        const connection = await createConnection({ connectorId: one.id, name: 'fixed' });
        assertProblem(
          await app.call('PUT', `${WS}/connections/${connection.id}`, {
            body: { connectorId: two.id, name: 'fixed', type: 'http' },
          }),
          400,
          '/connectorId',
        );
        assertProblem(
          await app.call('PUT', `${WS}/connections/${connection.id}`, {
            body: { connectorId: null, name: 'fixed', type: 'http' },
          }),
          400,
          '/connectorId',
        );
        assertProblem(
          await app.call('PATCH', `${WS}/connections/${connection.id}`, { body: { connectorId: two.id } }),
          400,
          '/connectorId',
        );
        assertProblem(
          await app.call('PATCH', `${WS}/connections/${connection.id}`, { body: { connectorId: null } }),
          400,
          '/connectorId',
        );
        const loose = await createConnection({ name: fresh('loose') });
        assertProblem(
          await app.call('PUT', `${WS}/connections/${loose.id}`, {
            body: { connectorId: one.id, name: loose.name, type: 'http' },
          }),
          400,
          '/connectorId',
        );
        assertProblem(
          await app.call('PATCH', `${WS}/connections/${loose.id}`, { body: { connectorId: one.id } }),
          400,
          '/connectorId',
        );
        assert.deepEqual(await getConnection(connection.id), connection);
        assert.deepEqual(await getConnection(loose.id), loose);

        // Unsetting what is already unset, or naming the connector it has, changes nothing.
        const sameLoose = await app.call('PATCH', `${WS}/connections/${loose.id}`, { body: { connectorId: null } });
        assert.equal(sameLoose.status, 200, sameLoose.text);
        assert.deepEqual(sameLoose.body, loose);
        const sameConnector = await app.call('PATCH', `${WS}/connections/${connection.id}`, {
          body: { connectorId: one.id },
        });
        assert.equal(sameConnector.status, 200, sameConnector.text);
        assert.deepEqual(sameConnector.body, connection);
      });

      it('keeps connectorId when a PUT omits it or repeats it', async () => {
        const connector = await createConnector({
          name: 'Kept',
          authSchemeConfigs: [{ id: 'k', schemeType: 'bearer' }],
        });
        const connection = await createConnection({ connectorId: connector.id, name: 'kept' });
        const omitted = await app.call('PUT', `${WS}/connections/${connection.id}`, {
          body: {
            name: 'kept',
            type: 'http',
            description: 'omitted',
            credentials: [{ kind: 'action', authSchemeConfigId: 'k', secret: 't' }],
          },
        });
        assert.equal(omitted.status, 200, omitted.text);
        assert.equal(omitted.body.connectorId, connector.id);
        assert.equal(omitted.body.revision, connection.revision + 1);
        // The credential check still uses the kept connector.
        assertProblem(
          await app.call('PUT', `${WS}/connections/${connection.id}`, {
            body: { name: 'kept', type: 'http', credentials: [{ kind: 'action', authSchemeConfigId: 'nope' }] },
          }),
          400,
          '/credentials/0/authSchemeConfigId',
        );
        const repeated = await app.call('PUT', `${WS}/connections/${connection.id}`, {
          body: { ...omitted.body, description: 'repeated' },
        });
        assert.equal(repeated.status, 200, repeated.text);
        assert.equal(repeated.body.connectorId, connector.id);
        assert.equal((await getConnection(connection.id)).connectorId, connector.id);
      });
    });

    describe('listing', () => {
      it('filters the list by connectorId and pages it with cursors in id order', async () => {
        const connector = await createConnector({ name: 'Listed' });
        const other = await createConnector({ name: 'Not listed' });
        const ids: number[] = [];
        for (let i = 0; i < 5; i++) {
          ids.push((await createConnection({ connectorId: connector.id, name: `l${i}` })).id);
          await createConnection({ connectorId: other.id, name: `o${i}` });
        }
        const pages: number[][] = [];
        let cursor: string | null = null;
        do {
          const reply: Reply = await app.call(
            'GET',
            `${WS}/connections?connectorId=${connector.id}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          );
          assert.equal(reply.status, 200, reply.text);
          pages.push(reply.body.items.map((c: any) => c.id));
          for (const item of reply.body.items) assert.equal(item.connectorId, connector.id);
          cursor = reply.body.nextCursor;
        } while (cursor !== null && pages.length < 10);
        assert.deepEqual(pages, [ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);

        const none = await app.call('GET', `${WS}/connections?connectorId=no-such-connector`);
        assert.equal(none.status, 200, none.text);
        assert.deepEqual(none.body, { items: [], nextCursor: null });
      });

      it('pages the whole workspace list in numeric id order without duplicates or gaps', async () => {
        const ws = fresh('list-ws');
        assert.equal((await app.call('POST', API, { body: { id: ws, name: 'Listing' } })).status, 201);
        const ids: number[] = [];
        for (let i = 0; i < 11; i++) ids.push((await createConnection({ name: `n${i}` }, `${API}/${ws}`)).id);
        const seen: number[] = [];
        const sizes: number[] = [];
        let cursor: string | null = null;
        do {
          const reply: Reply = await app.call(
            'GET',
            `${API}/${ws}/connections?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          );
          assert.equal(reply.status, 200, reply.text);
          sizes.push(reply.body.items.length);
          seen.push(...reply.body.items.map((c: any) => c.id));
          cursor = reply.body.nextCursor;
        } while (cursor !== null && sizes.length < 10);
        assert.deepEqual(sizes, [4, 4, 3]);
        assert.deepEqual(seen, ids);
        assert.deepEqual(
          seen,
          [...seen].sort((a, b) => a - b),
        );
      });

      it('rejects a cursor the list never handed out with 400', async () => {
        const stringKey = Buffer.from(JSON.stringify({ k: 'conn_x' })).toString('base64url');
        for (const cursor of ['garbage!!', stringKey]) {
          assertProblem(
            await app.call('GET', `${WS}/connections?cursor=${encodeURIComponent(cursor)}`),
            400,
            'query/cursor',
          );
        }
        assertProblem(await app.call('GET', `${WS}/connections?limit=0`), 400);
        assertProblem(await app.call('GET', `${WS}/connections?limit=201`), 400);
      });
    });

    describe('deleting', () => {
      it('deletes a connection with 204, after which it is 404', async () => {
        const connection = await createConnection({ name: fresh('deleted') });
        assert.equal((await app.call('DELETE', `${WS}/connections/${connection.id}`)).status, 204);
        assertProblem(await app.call('GET', `${WS}/connections/${connection.id}`), 404);
        assertProblem(await app.call('DELETE', `${WS}/connections/${connection.id}`), 404);
      });

      it('deletes a workspace that holds connectors and connections only with force=true', async () => {
        const ws = fresh('doomed');
        const created = await app.call('POST', API, { body: { id: ws, name: 'Doomed' } });
        assert.equal(created.status, 201, created.text);
        const connector = await createConnector({ name: 'Doomed connector' }, `${API}/${ws}`);
        const withConnector = await createConnection({ connectorId: connector.id, name: 'a' }, `${API}/${ws}`);
        await createConnection({ name: 'b' }, `${API}/${ws}`);

        const refused = await app.call('DELETE', `${API}/${ws}`);
        assertProblem(refused, 409);
        assert.equal((await app.call('GET', `${API}/${ws}/connections/${withConnector.id}`)).status, 200);

        const forced = await app.call('DELETE', `${API}/${ws}?force=true`);
        assert.equal(forced.status, 204, forced.text);
        assertProblem(await app.call('GET', `${API}/${ws}`), 404);
        assertProblem(await app.call('GET', `${API}/${ws}/connections/${withConnector.id}`), 404);
        const db = app.db.kysely;
        assert.equal(
          (await db.selectFrom('connections').select('id').where('workspace_id', '=', ws).execute()).length,
          0,
        );
        assert.equal(
          (await db.selectFrom('connectors').select('id').where('workspace_id', '=', ws).execute()).length,
          0,
        );

        // An empty workspace goes without force, and `default` is untouched by all of this.
        const empty = fresh('empty');
        assert.equal((await app.call('POST', API, { body: { id: empty, name: 'Empty' } })).status, 201);
        assert.equal((await app.call('DELETE', `${API}/${empty}`)).status, 204);
        assert.equal((await app.call('GET', WS)).status, 200);
      });
    });
  });
}
