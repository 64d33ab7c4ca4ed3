import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { ENGINES, startTestApp, type Reply, type TestApp } from './support/stores.js';

const API = '/api/v1/workspaces';
const WS = `${API}/default`;
const UPDATED = 'plugboard-connections-updated';

let unique = 0;
/** A slug no other test in this file uses. */
const fresh = (prefix: string) => `${prefix}-${++unique}`;

/** The JSON Pointer paths of a problem response. */
const pathsOf = (reply: Reply): string[] => ((reply.body?.errors ?? []) as any[]).map((e) => e.path);

function assertProblem(reply: Reply, status: number, path?: string) {
  assert.equal(reply.status, status, reply.text);
  assert.match(String(reply.headers['content-type']), /^application\/problem\+json/);
  if (path !== undefined)
    assert.ok(pathsOf(reply).includes(path), `expected an error at ${path}, got ${JSON.stringify(reply.body?.errors)}`);
}

for (const engine of ENGINES) {
  describe(`connectors [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine);
    });
    after(async () => {
      await app?.stop();
    });

    async function createConnector(body: Record<string, unknown>, ws = WS): Promise<any> {
      const reply = await app.call('POST', `${ws}/connectors`, { body });
      assert.equal(reply.status, 201, reply.text);
      return reply.body;
    }

    async function getConnector(id: string): Promise<Reply> {
      const reply = await app.call('GET', `${WS}/connectors/${id}`);
      assert.equal(reply.status, 200, reply.text);
      return reply;
    }

    async function createConnection(body: Record<string, unknown>): Promise<any> {
      const reply = await app.call('POST', `${WS}/connections`, { body: { type: 'http', ...body } });
      assert.equal(reply.status, 201, reply.text);
      return reply.body;
    }

    async function getConnection(id: number): Promise<any> {
      const reply = await app.call('GET', `${WS}/connections/${id}`);
      assert.equal(reply.status, 200, reply.text);
      return reply.body;
    }

    /** Every page of a list, following nextCursor; asserts each page's size against the limit. */
    async function allPages(url: string, limit: number): Promise<{ pages: any[][]; cursors: (string | null)[] }> {
      const pages: any[][] = [];
      const cursors: (string | null)[] = [];
      let cursor: string | null = null;
      for (let guard = 0; guard < 100; guard++) {
        const sep = url.includes('?') ? '&' : '?';
        const reply = await app.call(
          'GET',
          `${url}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        assert.equal(reply.status, 200, reply.text);
        assert.ok(reply.body.items.length <= limit);
        pages.push(reply.body.items);
        cursors.push(reply.body.nextCursor);
        cursor = reply.body.nextCursor;
        if (cursor === null) return { pages, cursors };
      }
      throw new Error('the list never ended');
    }

    describe('create, read, list and delete', () => {
      it('creates a connector with a generated conn_ id, a Location header and an ETag', async () => {
        const reply = await app.call('POST', `${WS}/connectors`, {
          body: { name: 'Generated', baseUrl: 'https://api.example.com' },
        });
        assert.equal(reply.status, 201, reply.text);
        assert.match(reply.body.id, /^conn_[a-z0-9]+$/);
        assert.equal(reply.headers.location, `${WS}/connectors/${reply.body.id}`);
        assert.match(String(reply.headers.etag), /^"[^"]+"$/);
        assert.equal(reply.body.workspaceId, 'default');
        assert.equal(reply.body.name, 'Generated');
        assert.equal(reply.body.baseUrl, 'https://api.example.com');
        assert.equal(reply.body.protocolType, 'http');
        assert.equal(reply.body.status, 'active');
        assert.equal(reply.body.revision, 1);
        assert.deepEqual(reply.body.authSchemeConfigs, []);
        assert.deepEqual(reply.body.connectionVariables, []);
        assert.deepEqual(reply.body.versions, []);

        const read = await getConnector(reply.body.id);
        assert.deepEqual(read.body, reply.body);
        assert.equal(read.headers.etag, reply.headers.etag);
      });

      it('creates a connector under a client-chosen id and refuses the same id again with 409', async () => {
        const id = fresh('github');
        const first = await app.call('POST', `${WS}/connectors`, { body: { id, name: 'GitHub' } });
        assert.equal(first.status, 201, first.text);
        assert.equal(first.body.id, id);
        assert.equal(first.headers.location, `${WS}/connectors/${id}`);

        const again = await app.call('POST', `${WS}/connectors`, { body: { id, name: 'Another GitHub' } });
        assertProblem(again, 409);
        assert.equal(again.body.code, 'conflict');
        assert.equal((await getConnector(id)).body.name, 'GitHub');
      });

      it('gets a connector by id and answers 404 for an id that names none', async () => {
        const created = await createConnector({
          id: fresh('gettable'),
          name: 'Gettable',
          description: 'd',
          protocolType: 'mcp',
        });
        const read = await getConnector(created.id);
        assert.equal(read.body.description, 'd');
        assert.equal(read.body.protocolType, 'mcp');

        const missing = await app.call('GET', `${WS}/connectors/no-such-connector`);
        assertProblem(missing, 404);
        assert.equal(missing.body.code, 'not-found');
      });

      it('pages through the list with cursors in a stable order, without duplicates or gaps', async () => {
        const ws = fresh('paging');
        const created = await app.call('POST', API, { body: { id: ws, name: 'Paging' } });
        assert.equal(created.status, 201, created.text);
        const ids: string[] = [];
        for (let i = 0; i < 7; i++) ids.push((await createConnector({ name: `Paged ${i}` }, `${API}/${ws}`)).id);

        const { pages, cursors } = await allPages(`${API}/${ws}/connectors`, 3);
        assert.deepEqual(
          pages.map((p) => p.length),
          [3, 3, 1],
        );
        assert.equal(typeof cursors[0], 'string');
        assert.equal(typeof cursors[1], 'string');
        assert.equal(cursors[2], null);
        const listed = pages.flat().map((c) => c.id);
        assert.equal(new Set(listed).size, 7, 'no duplicates');
        assert.deepEqual([...listed].sort(), [...ids].sort(), 'no gaps');
        assert.deepEqual(listed, [...listed].sort(), 'ordered by id');

        // The same walk again gives the same order, and one big page agrees with it.
        const again = await allPages(`${API}/${ws}/connectors`, 3);
        assert.deepEqual(
          again.pages.flat().map((c) => c.id),
          listed,
        );
        const whole = await app.call('GET', `${API}/${ws}/connectors?limit=7`);
        assert.equal(whole.status, 200);
        assert.deepEqual(
          whole.body.items.map((c: any) => c.id),
          listed,
        );
        assert.equal(whole.body.nextCursor, null, 'a page that ends exactly at the end has no next cursor');
      });

      it('rejects a cursor the list never handed out with 400', async () => {
        for (const cursor of ['garbage!!', 'eyJrIjoxfQ' /* {"k":1}: a number where an id belongs */, 'bm90IGpzb24']) {
          const reply = await app.call('GET', `${WS}/connectors?limit=3&cursor=${encodeURIComponent(cursor)}`);
          assertProblem(reply, 400, 'query/cursor');
        }
      });

      it('searches names with ?q= case-insensitively, treating % and _ as plain characters', async () => {
        const names = ['Zebra 50% Off', 'Zebra 50x Off', 'Zebra_Under', 'ZebraXUnder'];
        for (const name of names) await createConnector({ name });
        const search = async (q: string) => {
          const reply = await app.call('GET', `${WS}/connectors?limit=200&q=${encodeURIComponent(q)}`);
          assert.equal(reply.status, 200, reply.text);
          return (reply.body.items as any[]).map((c) => c.name).sort();
        };
        assert.deepEqual(await search('zEBRA'), [...names].sort());
        assert.deepEqual(await search('50%'), ['Zebra 50% Off']);
        assert.deepEqual(await search('%'), ['Zebra 50% Off']);
        assert.deepEqual(await search('a_u'), ['Zebra_Under']);
        assert.deepEqual(await search('_'), ['Zebra_Under']);
        assert.deepEqual(await search('no connector is called this'), []);
      });

      it('folds the case of non-ASCII letters in ?q= and treats a backslash as a plain character', async () => {
        const names = ['Évian Über Straße', 'Slash\\Back', 'Slash Back'];
        for (const name of names) await createConnector({ name });
        const search = async (q: string) => {
          const reply = await app.call('GET', `${WS}/connectors?limit=200&q=${encodeURIComponent(q)}`);
          assert.equal(reply.status, 200, reply.text);
          return (reply.body.items as any[]).map((c) => c.name).sort();
        };
        assert.deepEqual(await search('Évian'), ['Évian Über Straße'], 'the exact name finds itself');
        assert.deepEqual(await search('évian über'), ['Évian Über Straße']);
        assert.deepEqual(await search('ÉVIAN ÜBER'), ['Évian Über Straße']);
        assert.deepEqual(await search('\\'), ['Slash\\Back']);
        assert.deepEqual(await search('h\\b'), ['Slash\\Back']);
      });

      it('deletes a connector with 204, after which it is 404', async () => {
        const { id } = await createConnector({ name: 'Short-lived' });
        const deleted = await app.call('DELETE', `${WS}/connectors/${id}`);
        assert.equal(deleted.status, 204, deleted.text);
        assert.equal(deleted.text, '');
        assertProblem(await app.call('GET', `${WS}/connectors/${id}`), 404);
        assertProblem(await app.call('DELETE', `${WS}/connectors/${id}`), 404);
      });
    });

    describe('validation', () => {
      it('rejects an empty or over-long name at /name and accepts 128 characters', async () => {
        assertProblem(await app.call('POST', `${WS}/connectors`, { body: { name: '' } }), 400, '/name');
        assertProblem(await app.call('POST', `${WS}/connectors`, { body: { name: 'n'.repeat(129) } }), 400, '/name');
        assertProblem(await app.call('POST', `${WS}/connectors`, { body: {} }), 400, '/name');
        const ok = await app.call('POST', `${WS}/connectors`, { body: { name: 'n'.repeat(128) } });
        assert.equal(ok.status, 201, ok.text);

        assertProblem(await app.call('PUT', `${WS}/connectors/${ok.body.id}`, { body: { name: '' } }), 400, '/name');
        assertProblem(
          await app.call('PATCH', `${WS}/connectors/${ok.body.id}`, { body: { name: 'n'.repeat(129) } }),
          400,
          '/name',
        );
        assertProblem(
          await app.call('PATCH', `${WS}/connectors/${ok.body.id}`, { body: { name: null } }),
          400,
          '/name',
        );
        assert.equal((await getConnector(ok.body.id)).body.revision, 1);
      });

      it('rejects a baseUrl, documentationUrl or iconUrl that is not an absolute http(s) URL', async () => {
        for (const bad of ['ftp://x', 'not a url', '/relative/path', 'https//missing-colon']) {
          assertProblem(
            await app.call('POST', `${WS}/connectors`, { body: { name: 'Bad URL', baseUrl: bad } }),
            400,
            '/baseUrl',
          );
        }
        assertProblem(
          await app.call('POST', `${WS}/connectors`, { body: { name: 'Bad URL', documentationUrl: 'ftp://x' } }),
          400,
          '/documentationUrl',
        );
        assertProblem(
          await app.call('POST', `${WS}/connectors`, { body: { name: 'Bad URL', iconUrl: 'mailto:a@b.c' } }),
          400,
          '/iconUrl',
        );

        const { id } = await createConnector({ name: 'URL edits', baseUrl: 'http://ok.example' });
        assertProblem(
          await app.call('PUT', `${WS}/connectors/${id}`, { body: { name: 'URL edits', baseUrl: 'ftp://x' } }),
          400,
          '/baseUrl',
        );
        assertProblem(
          await app.call('PATCH', `${WS}/connectors/${id}`, { body: { baseUrl: 'not a url' } }),
          400,
          '/baseUrl',
        );
        assert.equal((await getConnector(id)).body.baseUrl, 'http://ok.example');
      });

      it('rejects a protocolType outside the enum at /protocolType', async () => {
        assertProblem(
          await app.call('POST', `${WS}/connectors`, { body: { name: 'Soap', protocolType: 'soap' } }),
          400,
          '/protocolType',
        );
        assertProblem(
          await app.call('POST', `${WS}/connectors`, { body: { name: 'Caps', protocolType: 'HTTP' } }),
          400,
          '/protocolType',
        );
        const { id } = await createConnector({ name: 'Typed', protocolType: 'postgresql' });
        assertProblem(
          await app.call('PATCH', `${WS}/connectors/${id}`, { body: { protocolType: 'soap' } }),
          400,
          '/protocolType',
        );
        assert.equal((await getConnector(id)).body.protocolType, 'postgresql');
      });

      it('rejects a client id with a space or longer than 64 characters at /id', async () => {
        assertProblem(await app.call('POST', `${WS}/connectors`, { body: { id: 'has space', name: 'X' } }), 400, '/id');
        assertProblem(
          await app.call('POST', `${WS}/connectors`, { body: { id: 'a'.repeat(65), name: 'X' } }),
          400,
          '/id',
        );
        assertProblem(await app.call('POST', `${WS}/connectors`, { body: { id: '', name: 'X' } }), 400, '/id');
        const ok = await app.call('POST', `${WS}/connectors`, { body: { id: `b${'a'.repeat(63)}`, name: 'X' } });
        assert.equal(ok.status, 201, ok.text);
      });

      it('rejects duplicate connection-variable names at the index of the repeat', async () => {
        const vars = [
          { name: 'org', value: 'a' },
          { name: 'org', value: 'b' },
        ];
        const created = await app.call('POST', `${WS}/connectors`, {
          body: { name: 'Dup vars', connectionVariables: vars },
        });
        assertProblem(created, 400, '/connectionVariables/1/name');

        const { id } = await createConnector({ name: 'Dup vars later' });
        const three = [
          { name: 'a', value: '1' },
          { name: 'b', value: '2' },
          { name: 'a', value: '3' },
        ];
        assertProblem(
          await app.call('PUT', `${WS}/connectors/${id}`, {
            body: { name: 'Dup vars later', connectionVariables: three },
          }),
          400,
          '/connectionVariables/2/name',
        );
        assertProblem(
          await app.call('PATCH', `${WS}/connectors/${id}`, { body: { connectionVariables: vars } }),
          400,
          '/connectionVariables/1/name',
        );
        const read = await getConnector(id);
        assert.deepEqual(read.body.connectionVariables, []);
        assert.equal(read.body.revision, 1);
      });

      it('rejects unknown fields', async () => {
        assertProblem(
          await app.call('POST', `${WS}/connectors`, { body: { name: 'X', colour: 'blue' } }),
          400,
          '/colour',
        );
      });
    });

    describe('auth-scheme configs', () => {
      const configsOf = (id: string) => `${WS}/connectors/${id}/auth-scheme-configs`;

      it('creates configs under a client id or a generated one and lists them in creation order', async () => {
        const { id } = await createConnector({ name: 'Configs' });
        const first = await app.call('POST', configsOf(id), { body: { id: 'token', schemeType: 'bearer' } });
        assert.equal(first.status, 201, first.text);
        assert.equal(first.body.id, 'token');
        assert.equal(first.headers.location, `${configsOf(id)}/token`);
        assert.equal(first.body.schemeType, 'bearer');
        assert.equal(first.body.description, null);
        assert.deepEqual(first.body.config, {});
        assert.deepEqual(first.body.validationMessages, []);

        const second = await app.call('POST', configsOf(id), {
          body: { schemeType: 'basic-auth', description: 'fallback' },
        });
        assert.equal(second.status, 201, second.text);
        assert.match(second.body.id, /^[A-Za-z0-9_-]{1,64}$/);
        assert.notEqual(second.body.id, 'token');
        assert.equal(second.headers.location, `${configsOf(id)}/${second.body.id}`);

        const list = await app.call('GET', configsOf(id));
        assert.equal(list.status, 200, list.text);
        assert.deepEqual(
          list.body.items.map((c: any) => c.id),
          ['token', second.body.id],
        );
        assert.equal(list.body.nextCursor, null);
        assert.deepEqual(
          (await getConnector(id)).body.authSchemeConfigs.map((c: any) => c.id),
          ['token', second.body.id],
        );

        const got = await app.call('GET', `${configsOf(id)}/${second.body.id}`);
        assert.equal(got.status, 200, got.text);
        assert.deepEqual(got.body, second.body);
        assertProblem(await app.call('GET', `${configsOf(id)}/nope`), 404);
        assertProblem(await app.call('GET', `${WS}/connectors/no-such-connector/auth-scheme-configs`), 404);
      });

      it('pages the configs with cursors in list order', async () => {
        const { id } = await createConnector({ name: 'Many configs' });
        const ids = ['e', 'c', 'a', 'd', 'b'];
        for (const configId of ids) {
          assert.equal(
            (await app.call('POST', configsOf(id), { body: { id: configId, schemeType: 'none' } })).status,
            201,
          );
        }
        const { pages, cursors } = await allPages(configsOf(id), 2);
        assert.deepEqual(
          pages.map((p) => p.map((c) => c.id)),
          [['e', 'c'], ['a', 'd'], ['b']],
        );
        assert.equal(cursors[2], null);
        assertProblem(await app.call('GET', `${configsOf(id)}?cursor=garbage!!`), 400, 'query/cursor');
      });

      it('refuses a second config with the same id with 409', async () => {
        const { id } = await createConnector({
          name: 'Dup config',
          authSchemeConfigs: [{ id: 'k', schemeType: 'bearer' }],
        });
        const revision = (await getConnector(id)).body.revision;
        const dup = await app.call('POST', configsOf(id), { body: { id: 'k', schemeType: 'none' } });
        assertProblem(dup, 409);
        const read = await getConnector(id);
        assert.equal(read.body.revision, revision);
        assert.deepEqual(
          read.body.authSchemeConfigs.map((c: any) => [c.id, c.schemeType]),
          [['k', 'bearer']],
        );
      });

      it('refuses duplicate config ids inside a connector create', async () => {
        const reply = await app.call('POST', `${WS}/connectors`, {
          body: {
            name: 'Dup inline',
            authSchemeConfigs: [
              { id: 'x', schemeType: 'none' },
              { id: 'x', schemeType: 'bearer' },
            ],
          },
        });
        assertProblem(reply, 400, '/authSchemeConfigs/1/id');
      });

      it('computes validationMessages on the server and ignores the ones a client sends', async () => {
        const { id } = await createConnector({ name: 'Messages' });
        const bare = await app.call('POST', configsOf(id), {
          body: { id: 'key', schemeType: 'api-key', validationMessages: [] },
        });
        assert.equal(bare.status, 201, bare.text);
        assert.ok(bare.body.validationMessages.length > 0, 'an api-key config without config.name gets a message');
        assert.ok(bare.body.validationMessages.some((m: string) => m.includes('name')));

        const complete = await app.call('POST', configsOf(id), {
          body: {
            id: 'key2',
            schemeType: 'api-key',
            config: { name: 'X-Api-Key', in: 'header' },
            validationMessages: ['made up by the client'],
          },
        });
        assert.equal(complete.status, 201, complete.text);
        assert.deepEqual(complete.body.validationMessages, []);

        // PATCH in the missing setting and the message goes away; PUT it out and it comes back.
        const patched = await app.call('PATCH', `${configsOf(id)}/key`, {
          body: { config: { name: 'X-Key' }, validationMessages: ['ignored'] },
        });
        assert.equal(patched.status, 200, patched.text);
        assert.deepEqual(patched.body.validationMessages, []);
        const replaced = await app.call('PUT', `${configsOf(id)}/key`, {
          body: { schemeType: 'api-key', validationMessages: [] },
        });
        assert.equal(replaced.status, 200, replaced.text);
        assert.ok(replaced.body.validationMessages.length > 0);

        const inline = await createConnector({
          name: 'Inline messages',
          authSchemeConfigs: [{ id: 'o', schemeType: 'oauth2-client-credentials', validationMessages: ['x'] }],
        });
        assert.ok(inline.authSchemeConfigs[0].validationMessages.some((m: string) => m.includes('tokenUrl')));
        assert.ok(!inline.authSchemeConfigs[0].validationMessages.includes('x'));
      });

      it('replaces a config with PUT, changes part of it with PATCH and deletes it', async () => {
        const { id } = await createConnector({
          name: 'Edit configs',
          authSchemeConfigs: [
            { id: 'a', schemeType: 'bearer', description: 'first' },
            { id: 'b', schemeType: 'none' },
          ],
        });

        const put = await app.call('PUT', `${configsOf(id)}/a`, {
          body: { schemeType: 'api-key', config: { name: 'X-Key', in: 'query' } },
        });
        assert.equal(put.status, 200, put.text);
        assert.deepEqual(put.body, {
          id: 'a',
          schemeType: 'api-key',
          description: null,
          config: { name: 'X-Key', in: 'query' },
          validationMessages: [],
        });

        const patch = await app.call('PATCH', `${configsOf(id)}/a`, {
          body: { description: 'patched', config: { in: 'header' } },
        });
        assert.equal(patch.status, 200, patch.text);
        assert.deepEqual(patch.body, {
          id: 'a',
          schemeType: 'api-key',
          description: 'patched',
          config: { name: 'X-Key', in: 'header' },
          validationMessages: [],
        });

        const renamed = await app.call('PUT', `${configsOf(id)}/a`, { body: { id: 'z', schemeType: 'none' } });
        assertProblem(renamed, 400, '/id');
        assertProblem(
          await app.call('PUT', `${configsOf(id)}/a`, { body: { schemeType: 'kerberos' } }),
          400,
          '/schemeType',
        );
        assertProblem(
          await app.call('PATCH', `${configsOf(id)}/a`, { body: { schemeType: 'kerberos' } }),
          400,
          '/schemeType',
        );
        assertProblem(await app.call('PUT', `${configsOf(id)}/missing`, { body: { schemeType: 'none' } }), 404);

        const read = await getConnector(id);
        assert.deepEqual(
          read.body.authSchemeConfigs.map((c: any) => c.id),
          ['a', 'b'],
          'edits keep the position',
        );
        assert.equal(read.body.authSchemeConfigs[0].description, 'patched');

        const deleted = await app.call('DELETE', `${configsOf(id)}/a`);
        assert.equal(deleted.status, 204, deleted.text);
        assertProblem(await app.call('GET', `${configsOf(id)}/a`), 404);
        assertProblem(await app.call('DELETE', `${configsOf(id)}/a`), 404);
        assert.deepEqual(
          (await getConnector(id)).body.authSchemeConfigs.map((c: any) => c.id),
          ['b'],
        );
      });

      it('bumps the connector revision on every config change and answers with the connector ETag', async () => {
        const { id } = await createConnector({ name: 'Revisions' });
        let revision = (await getConnector(id)).body.revision;
        const expectStep = async (reply: Reply, status: number) => {
          assert.equal(reply.status, status, reply.text);
          const connector = await getConnector(id);
          assert.equal(connector.body.revision, revision + 1);
          revision = connector.body.revision;
          if (status !== 204)
            assert.equal(reply.headers.etag, connector.headers.etag, 'a config shares its connector ETag');
        };
        await expectStep(await app.call('POST', configsOf(id), { body: { id: 'r', schemeType: 'bearer' } }), 201);
        await expectStep(
          await app.call('PUT', `${configsOf(id)}/r`, { body: { schemeType: 'bearer', description: 'put' } }),
          200,
        );
        await expectStep(await app.call('PATCH', `${configsOf(id)}/r`, { body: { description: 'patch' } }), 200);
        await expectStep(await app.call('DELETE', `${configsOf(id)}/r`), 204);

        // GET of a config carries the connector's ETag too.
        await app.call('POST', configsOf(id), { body: { id: 's', schemeType: 'none' } });
        const config = await app.call('GET', `${configsOf(id)}/s`);
        assert.equal(config.headers.etag, (await getConnector(id)).headers.etag);

        // A write that changes nothing keeps the revision.
        const same = await app.call('PUT', `${configsOf(id)}/s`, { body: { schemeType: 'none' } });
        assert.equal(same.status, 200, same.text);
        assert.equal(same.headers.etag, config.headers.etag);
      });

      it('refuses a config write with a stale connector ETag with 412 and changes nothing', async () => {
        const { id } = await createConnector({ name: 'Stale', authSchemeConfigs: [{ id: 'c', schemeType: 'bearer' }] });
        const stale = String((await getConnector(id)).headers.etag);
        await app.call('PATCH', `${WS}/connectors/${id}`, { body: { description: 'moved on' } });
        const current = await getConnector(id);
        const headers = { 'if-match': stale };

        assertProblem(await app.call('POST', configsOf(id), { body: { id: 'd', schemeType: 'none' }, headers }), 412);
        assertProblem(await app.call('PUT', `${configsOf(id)}/c`, { body: { schemeType: 'none' }, headers }), 412);
        assertProblem(await app.call('PATCH', `${configsOf(id)}/c`, { body: { description: 'x' }, headers }), 412);
        assertProblem(await app.call('DELETE', `${configsOf(id)}/c`, { headers }), 412);
        assert.deepEqual((await getConnector(id)).body, current.body);

        const fresh = await app.call('PATCH', `${configsOf(id)}/c`, {
          body: { description: 'x' },
          headers: { 'if-match': String(current.headers.etag) },
        });
        assert.equal(fresh.status, 200, fresh.text);
      });
    });

    describe('reordering auth-scheme configs', () => {
      const ids = (connector: any) => connector.authSchemeConfigs.map((c: any) => c.id);
      const threeConfigs = [
        { id: 'a', schemeType: 'bearer' },
        { id: 'b', schemeType: 'basic-auth' },
        { id: 'c', schemeType: 'none' },
      ];

      it('reorders the configs when a PUT names a permutation of their ids', async () => {
        const { id } = await createConnector({ name: 'Order', authSchemeConfigs: threeConfigs });
        const reply = await app.call('PUT', `${WS}/connectors/${id}`, {
          body: { name: 'Order', authSchemeConfigIds: ['c', 'a', 'b'] },
        });
        assert.equal(reply.status, 200, reply.text);
        assert.deepEqual(ids(reply.body), ['c', 'a', 'b']);
        assert.deepEqual(ids((await getConnector(id)).body), ['c', 'a', 'b']);
        const list = await app.call('GET', `${WS}/connectors/${id}/auth-scheme-configs`);
        assert.deepEqual(
          list.body.items.map((c: any) => c.id),
          ['c', 'a', 'b'],
        );
        assert.deepEqual(
          reply.body.authSchemeConfigs.find((c: any) => c.id === 'b'),
          { id: 'b', schemeType: 'basic-auth', description: null, config: {}, validationMessages: [] },
        );
      });

      it('reorders the configs through PATCH', async () => {
        const { id } = await createConnector({ name: 'Order patch', authSchemeConfigs: threeConfigs });
        const reply = await app.call('PATCH', `${WS}/connectors/${id}`, {
          body: { authSchemeConfigIds: ['b', 'c', 'a'] },
        });
        assert.equal(reply.status, 200, reply.text);
        assert.deepEqual(ids(reply.body), ['b', 'c', 'a']);
        assert.deepEqual(ids((await getConnector(id)).body), ['b', 'c', 'a']);
      });

      it('refuses a reorder that leaves out, invents or repeats an id, and keeps the order', async () => {
        const { id } = await createConnector({ name: 'Order bad', authSchemeConfigs: threeConfigs });
        const before = await getConnector(id);
        const cases: [string[], string][] = [
          [['a', 'b'], '/authSchemeConfigIds'],
          [['a', 'b', 'x'], '/authSchemeConfigIds/2'],
          [['a', 'b', 'c', 'x'], '/authSchemeConfigIds/3'],
          [['a', 'b', 'b'], '/authSchemeConfigIds/2'],
          [['a', 'b', 'c', 'a'], '/authSchemeConfigIds/3'],
          [[], '/authSchemeConfigIds'],
        ];
        for (const [order, path] of cases) {
          assertProblem(
            await app.call('PUT', `${WS}/connectors/${id}`, {
              body: { name: 'Order bad', authSchemeConfigIds: order },
            }),
            400,
            path,
          );
          assertProblem(
            await app.call('PATCH', `${WS}/connectors/${id}`, { body: { authSchemeConfigIds: order } }),
            400,
            path,
          );
        }
        const after = await getConnector(id);
        assert.deepEqual(ids(after.body), ['a', 'b', 'c']);
        assert.equal(after.body.revision, before.body.revision);
      });

      it('accepts a PUT that echoes authSchemeConfigs unchanged and refuses one that edits them', async () => {
        const { id } = await createConnector({ name: 'Echo', authSchemeConfigs: threeConfigs });
        const read = (await getConnector(id)).body;
        const echoed = await app.call('PUT', `${WS}/connectors/${id}`, { body: { ...read, description: 'echoed' } });
        assert.equal(echoed.status, 200, echoed.text);
        assert.deepEqual(ids(echoed.body), ['a', 'b', 'c']);
        const edited = { ...read, authSchemeConfigs: [...read.authSchemeConfigs].reverse() };
        assertProblem(await app.call('PUT', `${WS}/connectors/${id}`, { body: edited }), 400, '/authSchemeConfigs');
      });
    });

    describe('versions', () => {
      const versionsOf = (id: string) => `${WS}/connectors/${id}/versions`;

      async function listVersions(id: string): Promise<any[]> {
        const reply = await app.call('GET', `${versionsOf(id)}?limit=200`);
        assert.equal(reply.status, 200, reply.text);
        return reply.body.items;
      }

      /** Exactly one latest (none only when there are no versions) and at most one default, by name. */
      async function assertFlags(id: string, latest: string | undefined, defaultName?: string | null): Promise<void> {
        const versions = await listVersions(id);
        const latestOnes = versions.filter((v) => v.isLatest);
        assert.equal(
          latestOnes.length,
          versions.length === 0 ? 0 : 1,
          `exactly one latest in ${JSON.stringify(versions.map((v) => [v.name, v.isLatest]))}`,
        );
        assert.equal(latestOnes[0]?.name, latest);
        const defaults = versions.filter((v) => v.isDefault);
        assert.ok(defaults.length <= 1, 'at most one default');
        if (defaultName !== undefined) assert.equal(defaults[0]?.name ?? null, defaultName);
        // The connector shows the same list.
        assert.deepEqual((await getConnector(id)).body.versions, versions);
      }

      async function createVersion(id: string, body: Record<string, unknown>): Promise<any> {
        const reply = await app.call('POST', versionsOf(id), { body });
        assert.equal(reply.status, 201, reply.text);
        assert.equal(reply.headers.location, `${versionsOf(id)}/${reply.body.id}`);
        return reply.body;
      }

      it('rejects the reserved names default and latest in any case', async () => {
        const { id } = await createConnector({ name: 'Reserved' });
        for (const name of ['default', 'latest', 'DEFAULT', 'Latest', 'lAtEsT']) {
          assertProblem(await app.call('POST', versionsOf(id), { body: { name } }), 400, '/name');
        }
        const v1 = await createVersion(id, { name: 'v1' });
        assertProblem(await app.call('PUT', `${versionsOf(id)}/${v1.id}`, { body: { name: 'Default' } }), 400, '/name');
        assertProblem(
          await app.call('PATCH', `${versionsOf(id)}/${v1.id}`, { body: { name: 'LATEST' } }),
          400,
          '/name',
        );
        assert.deepEqual(
          (await listVersions(id)).map((v) => v.name),
          ['v1'],
        );
      });

      it('rejects a second version with a name the connector already has', async () => {
        const { id } = await createConnector({ name: 'Dup versions' });
        await createVersion(id, { name: 'v1' });
        const v2 = await createVersion(id, { name: 'v2' });
        assertProblem(await app.call('POST', versionsOf(id), { body: { name: 'v1' } }), 400, '/name');
        assertProblem(await app.call('PATCH', `${versionsOf(id)}/${v2.id}`, { body: { name: 'v1' } }), 400, '/name');
        // Renaming a version to its own name is no conflict.
        const same = await app.call('PUT', `${versionsOf(id)}/${v2.id}`, {
          body: { name: 'v2', description: 'again' },
        });
        assert.equal(same.status, 200, same.text);
        assert.deepEqual(
          (await listVersions(id)).map((v) => v.name),
          ['v1', 'v2'],
        );
        // The same name under another connector is fine.
        const other = await createConnector({ name: 'Other versions' });
        await createVersion(other.id, { name: 'v1' });
      });

      it('keeps exactly one latest version: the first, then each new one, unless created with isLatest false', async () => {
        const { id } = await createConnector({ name: 'Latest' });
        await assertFlags(id, undefined);
        const v1 = await createVersion(id, { name: 'v1' });
        assert.equal(v1.isLatest, true, 'the first version is latest');
        assert.equal(v1.isDefault, false);
        await assertFlags(id, 'v1');
        const v2 = await createVersion(id, { name: 'v2' });
        assert.equal(v2.isLatest, true);
        await assertFlags(id, 'v2');
        const v3 = await createVersion(id, { name: 'v3', isLatest: false });
        assert.equal(v3.isLatest, false);
        await assertFlags(id, 'v2');
        const v4 = await createVersion(id, { name: 'v4', isLatest: true });
        assert.equal(v4.isLatest, true);
        await assertFlags(id, 'v4');
      });

      it('refuses isLatest false on a version that would be the only one, and on the only version', async () => {
        const { id } = await createConnector({ name: 'First not latest' });
        const refused = await app.call('POST', versionsOf(id), { body: { name: 'v1', isLatest: false } });
        assert.equal(refused.status, 400, refused.text);
        assert.equal(refused.body.errors[0].path, '/isLatest');
        assert.equal((await getConnector(id)).body.versions.length, 0);
        const v1 = await createVersion(id, { name: 'v1' });
        const unlatest = await app.call('PATCH', `${versionsOf(id)}/${v1.id}`, { body: { isLatest: false } });
        assert.equal(unlatest.status, 400, unlatest.text);
        await assertFlags(id, 'v1');
      });

      it('refuses to delete an auth-scheme config that connections hold credentials for', async () => {
        const { id } = await createConnector({
          name: 'Config in use',
          authSchemeConfigs: [
            { id: 'keyX1', schemeType: 'api-key' },
            { id: 'key_1', schemeType: 'bearer' },
          ],
        });
        const connection = await app.call('POST', '/api/v1/workspaces/default/connections', {
          body: {
            connectorId: id,
            name: 'uses-key',
            type: 'http',
            credentials: [{ kind: 'action', authSchemeConfigId: 'keyX1', secret: 's' }],
          },
        });
        assert.equal(connection.status, 201, connection.text);
        const refused = await app.call(
          'DELETE',
          `/api/v1/workspaces/default/connectors/${id}/auth-scheme-configs/keyX1`,
        );
        assert.equal(refused.status, 409, refused.text);
        // "_" is a LIKE wildcard: key_1 must not look used because keyX1 is.
        const unused = await app.call(
          'DELETE',
          `/api/v1/workspaces/default/connectors/${id}/auth-scheme-configs/key_1`,
        );
        assert.equal(unused.status, 204, unused.text);
      });

      it('moves the latest flag to an older version with PATCH isLatest true', async () => {
        const { id } = await createConnector({ name: 'Move latest' });
        const v1 = await createVersion(id, { name: 'v1' });
        await createVersion(id, { name: 'v2' });
        const before = (await getConnector(id)).body.revision;
        const moved = await app.call('PATCH', `${versionsOf(id)}/${v1.id}`, { body: { isLatest: true } });
        assert.equal(moved.status, 200, moved.text);
        assert.equal(moved.body.isLatest, true);
        assert.equal(moved.body.name, 'v1');
        await assertFlags(id, 'v1');
        const connector = await getConnector(id);
        assert.equal(connector.body.revision, before + 1);
        assert.equal(moved.headers.etag, connector.headers.etag, 'a version shares its connector ETag');
      });

      it('refuses to clear isLatest on the latest version and keeps the flags', async () => {
        const { id } = await createConnector({ name: 'Keep latest' });
        await createVersion(id, { name: 'v1' });
        const v2 = await createVersion(id, { name: 'v2' });
        assertProblem(
          await app.call('PATCH', `${versionsOf(id)}/${v2.id}`, { body: { isLatest: false } }),
          400,
          '/isLatest',
        );
        assertProblem(
          await app.call('PUT', `${versionsOf(id)}/${v2.id}`, { body: { name: 'v2', isLatest: false } }),
          400,
          '/isLatest',
        );
        await assertFlags(id, 'v2');
      });

      it('keeps at most one default version: setting it on another moves it', async () => {
        const { id } = await createConnector({ name: 'Defaults' });
        const v1 = await createVersion(id, { name: 'v1', isDefault: true });
        assert.equal(v1.isDefault, true);
        await assertFlags(id, 'v1', 'v1');
        const v2 = await createVersion(id, { name: 'v2', isDefault: true });
        assert.equal(v2.isDefault, true);
        await assertFlags(id, 'v2', 'v2');
        const back = await app.call('PATCH', `${versionsOf(id)}/${v1.id}`, { body: { isDefault: true } });
        assert.equal(back.status, 200, back.text);
        await assertFlags(id, 'v2', 'v1');
        const cleared = await app.call('PATCH', `${versionsOf(id)}/${v1.id}`, { body: { isDefault: false } });
        assert.equal(cleared.status, 200, cleared.text);
        await assertFlags(id, 'v2', null);
        await createVersion(id, { name: 'v3' });
        await assertFlags(id, 'v3', null);
      });

      it('makes the newest remaining version latest when the latest is deleted', async () => {
        const { id } = await createConnector({ name: 'Delete latest' });
        const v1 = await createVersion(id, { name: 'v1' });
        await createVersion(id, { name: 'v2' });
        const v3 = await createVersion(id, { name: 'v3' });
        const deleted = await app.call('DELETE', `${versionsOf(id)}/${v3.id}`);
        assert.equal(deleted.status, 204, deleted.text);
        assertProblem(await app.call('GET', `${versionsOf(id)}/${v3.id}`), 404);
        await assertFlags(id, 'v2');

        // Deleting a version that is not latest leaves the flag where it is.
        await app.call('PATCH', `${versionsOf(id)}/${v1.id}`, { body: { isLatest: true } });
        await assertFlags(id, 'v1');
        const v4 = await createVersion(id, { name: 'v4', isLatest: false });
        assert.equal((await app.call('DELETE', `${versionsOf(id)}/${v4.id}`)).status, 204);
        await assertFlags(id, 'v1');
        assert.equal((await app.call('DELETE', `${versionsOf(id)}/${v1.id}`)).status, 204);
        await assertFlags(id, 'v2');
        const last = (await listVersions(id))[0];
        assert.equal((await app.call('DELETE', `${versionsOf(id)}/${last.id}`)).status, 204);
        assert.deepEqual(await listVersions(id), []);
      });

      it('leaves isLatest and isDefault unchanged when a PUT omits them', async () => {
        const { id } = await createConnector({ name: 'Put flags' });
        const v1 = await createVersion(id, { name: 'v1', isDefault: true });
        const v2 = await createVersion(id, { name: 'v2' });
        const put1 = await app.call('PUT', `${versionsOf(id)}/${v1.id}`, {
          body: { name: 'v1-renamed', description: 'older' },
        });
        assert.equal(put1.status, 200, put1.text);
        assert.equal(put1.body.isDefault, true);
        assert.equal(put1.body.isLatest, false);
        const put2 = await app.call('PUT', `${versionsOf(id)}/${v2.id}`, { body: { name: 'v2' } });
        assert.equal(put2.status, 200, put2.text);
        assert.equal(put2.body.isLatest, true);
        assert.equal(put2.body.isDefault, false);
        await assertFlags(id, 'v2', 'v1-renamed');
        const got = await app.call('GET', `${versionsOf(id)}/${v1.id}`);
        assert.equal(got.status, 200, got.text);
        assert.equal(got.body.description, 'older');
        assert.equal(got.body.createdAt, v1.createdAt);
      });

      it('pages versions with cursors and answers 404 for an unknown version', async () => {
        const { id } = await createConnector({ name: 'Paged versions' });
        for (const name of ['a', 'b', 'c', 'd', 'e']) await createVersion(id, { name });
        const { pages } = await allPages(versionsOf(id), 2);
        assert.deepEqual(
          pages.map((p) => p.map((v) => v.name)),
          [['a', 'b'], ['c', 'd'], ['e']],
        );
        assertProblem(await app.call('GET', `${versionsOf(id)}/ver_missing`), 404);
        assertProblem(await app.call('PATCH', `${versionsOf(id)}/ver_missing`, { body: { name: 'x' } }), 404);
        assertProblem(await app.call('DELETE', `${versionsOf(id)}/ver_missing`), 404);
      });
    });

    describe('connection-variable propagation', () => {
      /** A connector with three connections (the third with variables of its own) and one other connector with one. */
      async function setUp() {
        const connector = await createConnector({
          name: 'Propagating',
          connectionVariables: [{ name: 'org', value: 'acme' }],
        });
        const other = await createConnector({
          name: 'Bystander',
          connectionVariables: [{ name: 'org', value: 'acme' }],
        });
        const a = await createConnection({ connectorId: connector.id, name: 'a' });
        const b = await createConnection({ connectorId: connector.id, name: 'b' });
        const c = await createConnection({
          connectorId: connector.id,
          name: 'c',
          variables: [
            { name: 'org', value: 'own' },
            { name: 'extra', value: '1' },
          ],
        });
        const bystander = await createConnection({ connectorId: other.id, name: 'bystander' });
        const loose = await createConnection({ name: fresh('loose'), variables: [{ name: 'org', value: 'acme' }] });
        assert.deepEqual(a.variables, [{ name: 'org', value: 'acme' }]);
        assert.deepEqual(c.variables, [
          { name: 'org', value: 'own' },
          { name: 'extra', value: '1' },
        ]);
        return { connector, other, mine: [a, b, c], untouched: [bystander, loose] };
      }

      async function assertUntouched(connections: any[]) {
        for (const connection of connections) assert.deepEqual(await getConnection(connection.id), connection);
      }

      it('leaves connections alone when a GET body with the same variables is sent back by PUT', async () => {
        const { connector, mine, untouched } = await setUp();
        const read = await app.call('GET', `${WS}/connectors/${connector.id}`);
        const reply = await app.call('PUT', `${WS}/connectors/${connector.id}`, {
          body: { ...read.body, description: 'edited' },
        });
        assert.equal(reply.status, 200, reply.text);
        assert.equal(reply.headers[UPDATED], '0');
        await assertUntouched([...mine, ...untouched]);
      });

      it('rewrites every connection of the connector on PUT and reports how many changed', async () => {
        const { connector, mine, untouched } = await setUp();
        const vars = [
          { name: 'org', value: 'acme-eu' },
          { name: 'region', value: 'eu' },
        ];
        const reply = await app.call('PUT', `${WS}/connectors/${connector.id}`, {
          body: { name: 'Propagating', connectionVariables: vars },
        });
        assert.equal(reply.status, 200, reply.text);
        assert.equal(reply.headers[UPDATED], '3');
        assert.deepEqual(reply.body.connectionVariables, vars);
        for (const before of mine) {
          const now = await getConnection(before.id);
          assert.deepEqual(now.variables, vars);
          assert.equal(now.revision, before.revision + 1);
        }
        await assertUntouched(untouched);

        // The same list again changes nothing anywhere.
        const again = await app.call('PUT', `${WS}/connectors/${connector.id}`, {
          body: { name: 'Propagating', connectionVariables: vars },
        });
        assert.equal(again.status, 200, again.text);
        assert.equal(again.headers[UPDATED], '0');
        assert.equal(again.body.revision, reply.body.revision);
      });

      it('rewrites every connection of the connector on PATCH, and counts only those whose variables changed', async () => {
        const { connector, mine, untouched } = await setUp();
        // The connector's own list stays the same: only the connection with its own variables changes.
        const same = await app.call('PATCH', `${WS}/connectors/${connector.id}`, {
          body: { connectionVariables: [{ name: 'org', value: 'acme' }] },
        });
        assert.equal(same.status, 200, same.text);
        assert.equal(same.headers[UPDATED], '1');
        const [a, b, c] = mine;
        assert.deepEqual(await getConnection(a.id), a);
        assert.deepEqual(await getConnection(b.id), b);
        const cNow = await getConnection(c.id);
        assert.deepEqual(cNow.variables, [{ name: 'org', value: 'acme' }]);
        assert.equal(cNow.revision, c.revision + 1);

        const cleared = await app.call('PATCH', `${WS}/connectors/${connector.id}`, {
          body: { connectionVariables: [] },
        });
        assert.equal(cleared.status, 200, cleared.text);
        assert.equal(cleared.headers[UPDATED], '3');
        assert.deepEqual(cleared.body.connectionVariables, []);
        for (const connection of mine) assert.deepEqual((await getConnection(connection.id)).variables, []);

        const set = await app.call('PATCH', `${WS}/connectors/${connector.id}`, {
          body: { connectionVariables: [{ name: 'k', value: 'v' }] },
        });
        assert.equal(set.headers[UPDATED], '3');
        const nulled = await app.call('PATCH', `${WS}/connectors/${connector.id}`, {
          body: { connectionVariables: null },
        });
        assert.equal(nulled.status, 200, nulled.text);
        assert.equal(nulled.headers[UPDATED], '3');
        assert.deepEqual(nulled.body.connectionVariables, []);
        await assertUntouched(untouched);
      });

      it('reports 0 and touches no connection when a write leaves connectionVariables out', async () => {
        const { connector, mine, untouched } = await setUp();
        const patch = await app.call('PATCH', `${WS}/connectors/${connector.id}`, {
          body: { description: 'no variables here' },
        });
        assert.equal(patch.status, 200, patch.text);
        assert.equal(patch.headers[UPDATED], '0');
        const put = await app.call('PUT', `${WS}/connectors/${connector.id}`, {
          body: { name: 'Propagating, renamed' },
        });
        assert.equal(put.status, 200, put.text);
        assert.equal(put.headers[UPDATED], '0');
        assert.deepEqual(put.body.connectionVariables, [{ name: 'org', value: 'acme' }], 'an omitted list is kept');
        await assertUntouched([...mine, ...untouched]);
      });

      it('gives the number of connections of a connector at connection-count', async () => {
        const { connector, other } = await setUp();
        const count = await app.call('GET', `${WS}/connectors/${connector.id}/connection-count`);
        assert.equal(count.status, 200, count.text);
        assert.deepEqual(count.body, { connections: 3 });
        assert.deepEqual((await app.call('GET', `${WS}/connectors/${other.id}/connection-count`)).body, {
          connections: 1,
        });
        const empty = await createConnector({ name: 'No connections' });
        assert.deepEqual((await app.call('GET', `${WS}/connectors/${empty.id}/connection-count`)).body, {
          connections: 0,
        });
        assertProblem(await app.call('GET', `${WS}/connectors/no-such-connector/connection-count`), 404);
      });

      it('changes no connection when the connector write fails validation', async () => {
        const { connector, mine, untouched } = await setUp();
        const before = await getConnector(connector.id);
        const vars = [{ name: 'org', value: 'changed' }];
        const put = await app.call('PUT', `${WS}/connectors/${connector.id}`, {
          body: { name: 'Propagating', baseUrl: 'ftp://x', connectionVariables: vars },
        });
        assertProblem(put, 400, '/baseUrl');
        const patch = await app.call('PATCH', `${WS}/connectors/${connector.id}`, {
          body: { baseUrl: 'not a url', connectionVariables: vars },
        });
        assertProblem(patch, 400, '/baseUrl');
        const reorder = await app.call('PATCH', `${WS}/connectors/${connector.id}`, {
          body: { authSchemeConfigIds: ['nope'], connectionVariables: vars },
        });
        assertProblem(reorder, 400, '/authSchemeConfigIds/0');
        assert.deepEqual((await getConnector(connector.id)).body, before.body);
        await assertUntouched([...mine, ...untouched]);
      });

      it('rolls the connector and every connection back when the store fails halfway through propagation', async () => {
        const { connector, mine, untouched } = await setUp();
        const before = await getConnector(connector.id);
        const lastId = Math.max(...mine.map((c) => c.id));
        const db = app.db.kysely;
        // The last connection propagation reaches refuses the update, after the others have been written.
        if (engine === 'sqlite') {
          await sql`create trigger refuse_update before update on connections when old.id = ${sql.lit(lastId)} begin select raise(abort, 'refused by test'); end`.execute(
            db,
          );
        } else {
          await sql`create function refuse_update() returns trigger language plpgsql as $$ begin raise exception 'refused by test'; end $$`.execute(
            db,
          );
          await sql`create trigger refuse_update before update on connections for each row when (old.id = ${sql.lit(lastId)}) execute function refuse_update()`.execute(
            db,
          );
        }
        try {
          const reply = await app.call('PATCH', `${WS}/connectors/${connector.id}`, {
            body: { description: 'new', connectionVariables: [{ name: 'org', value: 'rolled-back' }] },
          });
          assert.equal(reply.status, 500, reply.text);
        } finally {
          if (engine === 'sqlite') {
            await sql`drop trigger refuse_update`.execute(db);
          } else {
            await sql`drop trigger refuse_update on connections`.execute(db);
            await sql`drop function refuse_update()`.execute(db);
          }
        }
        assert.deepEqual((await getConnector(connector.id)).body, before.body);
        await assertUntouched([...mine, ...untouched]);
        const rows = await db
          .selectFrom('connections')
          .select(['id', 'variables', 'revision'])
          .where('connector_id', '=', connector.id)
          .orderBy('id')
          .execute();
        assert.deepEqual(
          rows.map((r) => [Number(r.id), JSON.parse(r.variables), r.revision]),
          mine.map((c) => [c.id, c.variables, c.revision]),
        );
      });
    });

    describe('deleting a connector that has connections', () => {
      it('refuses with 409 without force, and keeps the connector and its connections', async () => {
        const connector = await createConnector({ name: 'In use' });
        const connection = await createConnection({ connectorId: connector.id, name: 'user' });
        const reply = await app.call('DELETE', `${WS}/connectors/${connector.id}`);
        assertProblem(reply, 409);
        assert.equal(reply.body.code, 'conflict');
        await getConnector(connector.id);
        assert.deepEqual(await getConnection(connection.id), connection);
        assertProblem(await app.call('DELETE', `${WS}/connectors/${connector.id}?force=false`), 409);
      });

      it('deletes the connector and its connections with force=true, and leaves other connections alone', async () => {
        const connector = await createConnector({ name: 'Forced' });
        const other = await createConnector({ name: 'Stays' });
        const gone = [
          await createConnection({ connectorId: connector.id, name: 'x' }),
          await createConnection({ connectorId: connector.id, name: 'y' }),
        ];
        const kept = await createConnection({ connectorId: other.id, name: 'x' });
        const reply = await app.call('DELETE', `${WS}/connectors/${connector.id}?force=true`);
        assert.equal(reply.status, 204, reply.text);
        assertProblem(await app.call('GET', `${WS}/connectors/${connector.id}`), 404);
        for (const connection of gone) assertProblem(await app.call('GET', `${WS}/connections/${connection.id}`), 404);
        assert.deepEqual(await getConnection(kept.id), kept);
        const listed = await app.call('GET', `${WS}/connections?connectorId=${connector.id}`);
        assert.deepEqual(listed.body.items, []);
      });
    });
  });
}
