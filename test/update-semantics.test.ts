// PUT replaces, PATCH merges, ETags guard every write (docs/api.md, "How the API behaves"), through the
// HTTP API down to the store, on both engines.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, startTestApp, type Reply, type TestApp } from './support/stores.js';
import { openStored } from './support/sealed.js';

const WS = '/api/v1/workspaces/default';
const CONNECTORS = `${WS}/connectors`;
const CONNECTIONS = `${WS}/connections`;

/** A strong entity tag: quoted, no W/ prefix. */
function assertStrongEtag(reply: Reply): string {
  const etag = reply.headers.etag;
  assert.equal(typeof etag, 'string', `expected an ETag on ${reply.status}`);
  assert.match(etag as string, /^"[^"]+"$/, `not a strong ETag: ${String(etag)}`);
  return etag as string;
}

function assertProblem(reply: Reply, status: number, code: string): void {
  assert.equal(reply.status, status, reply.text);
  assert.match(String(reply.headers['content-type']), /^application\/problem\+json/);
  assert.equal(reply.body.code, code);
  assert.equal(reply.body.status, status);
}

function errorPaths(reply: Reply): string[] {
  return (reply.body.errors as { path: string }[]).map((e) => e.path).sort();
}

/** A connector with every optional field set, two auth-scheme configs and a connection variable. */
function fullConnector(id: string) {
  return {
    id,
    name: `Connector ${id}`,
    description: 'talks to the thing',
    protocolType: 'mcp',
    documentationUrl: 'https://docs.example.com/thing',
    iconUrl: 'https://example.com/thing.png',
    baseUrl: 'https://api.example.com',
    status: 'disabled',
    connectionVariables: [{ name: 'region', value: 'eu-1' }],
    authSchemeConfigs: [
      { id: 'key', schemeType: 'api-key', config: { name: 'X-Api-Key', in: 'header' } },
      { id: 'bearer', schemeType: 'bearer', description: 'a bearer token' },
    ],
  };
}

for (const engine of ENGINES) {
  describe(`update semantics [${engine}]`, () => {
    let app: TestApp;

    before(async () => {
      app = await startTestApp(engine);
    });
    after(async () => {
      await app?.stop();
    });

    async function createConnector(id: string, body: Record<string, unknown> = fullConnector(id)): Promise<any> {
      const reply = await app.call('POST', CONNECTORS, { body });
      assert.equal(reply.status, 201, reply.text);
      return reply.body;
    }

    async function getConnector(id: string): Promise<Reply> {
      const reply = await app.call('GET', `${CONNECTORS}/${id}`);
      assert.equal(reply.status, 200, reply.text);
      return reply;
    }

    /** A connector to hang connections on, and a full connection under it. */
    async function createConnection(
      connectorId: string,
      name: string,
      extra: Record<string, unknown> = {},
    ): Promise<any> {
      const reply = await app.call('POST', CONNECTIONS, {
        body: {
          connectorId,
          name,
          type: 'mysql',
          envType: 1,
          description: 'the production database',
          status: 'disabled',
          content: { host: 'db.internal', port: 3306, database: 'app', password: 'pw-1' },
          variables: [{ name: 'schema', value: 'public' }],
          credentials: [{ kind: 'action', authSchemeConfigId: 'key', secret: 'cred-1' }],
          ...extra,
        },
      });
      assert.equal(reply.status, 201, reply.text);
      return reply.body;
    }

    async function getConnection(id: number): Promise<Reply> {
      const reply = await app.call('GET', `${CONNECTIONS}/${id}`);
      assert.equal(reply.status, 200, reply.text);
      return reply;
    }

    describe('connectors', () => {
      it('unsets every optional field that a PUT with only the name leaves out', async () => {
        const created = await createConnector('put-minimal');
        assert.equal(created.description, 'talks to the thing');
        const reply = await app.call('PUT', `${CONNECTORS}/put-minimal`, { body: { name: 'Only a name' } });
        assert.equal(reply.status, 200, reply.text);
        for (const body of [reply.body, (await getConnector('put-minimal')).body]) {
          assert.equal(body.name, 'Only a name');
          assert.equal(body.description, null);
          assert.equal(body.documentationUrl, null);
          assert.equal(body.iconUrl, null);
          assert.equal(body.baseUrl, null);
          assert.equal(body.protocolType, 'http');
          assert.equal(body.status, 'active');
          assert.equal(body.revision, created.revision + 1);
          assert.equal(body.createdAt, created.createdAt);
        }
      });

      it('refuses a PUT without a name with 400 naming /name and changes nothing', async () => {
        await createConnector('put-no-name');
        const before = await getConnector('put-no-name');
        const reply = await app.call('PUT', `${CONNECTORS}/put-no-name`, {
          body: { description: 'no name here', status: 'active' },
        });
        assertProblem(reply, 400, 'validation-failed');
        assert.deepEqual(errorPaths(reply), ['/name']);
        const afterwards = await getConnector('put-no-name');
        assert.deepEqual(afterwards.body, before.body);
        assert.equal(afterwards.headers.etag, before.headers.etag);
      });

      it('takes a GET body back with edits and ignores the server-managed fields in it', async () => {
        await createConnector('echo-back');
        const read = await getConnector('echo-back');
        const body = {
          ...read.body,
          description: 'edited',
          id: 'someone-else',
          workspaceId: 'elsewhere',
          createdAt: '2001-01-01T00:00:00.000Z',
          updatedAt: '2001-01-01T00:00:00.000Z',
          revision: 999,
        };
        const reply = await app.call('PUT', `${CONNECTORS}/echo-back`, { body });
        assert.equal(reply.status, 200, reply.text);
        assert.equal(reply.body.id, 'echo-back');
        assert.equal(reply.body.workspaceId, 'default');
        assert.equal(reply.body.createdAt, read.body.createdAt);
        assert.notEqual(reply.body.updatedAt, '2001-01-01T00:00:00.000Z');
        assert.equal(reply.body.revision, read.body.revision + 1);
        assert.equal(reply.body.description, 'edited');
        // Everything else the GET showed is kept, because it was sent back.
        assert.equal(reply.body.baseUrl, read.body.baseUrl);
        assert.equal(reply.body.protocolType, 'mcp');
        assert.deepEqual(reply.body.authSchemeConfigs, read.body.authSchemeConfigs);
        assert.deepEqual(reply.body.connectionVariables, read.body.connectionVariables);
        assert.equal((await app.call('GET', `${CONNECTORS}/someone-else`)).status, 404);
        const row = await app.db.kysely
          .selectFrom('connectors')
          .select(['id', 'created_at', 'revision'])
          .where('id', '=', 'echo-back')
          .executeTakeFirstOrThrow();
        assert.equal(row.created_at, read.body.createdAt);
        assert.equal(row.revision, read.body.revision + 1);
      });

      it('changes only the fields a PATCH names and unsets the ones set to null', async () => {
        const created = await createConnector('patch-some');
        const reply = await app.call('PATCH', `${CONNECTORS}/patch-some`, {
          body: { description: 'patched', baseUrl: null, status: null },
        });
        assert.equal(reply.status, 200, reply.text);
        const body = (await getConnector('patch-some')).body;
        assert.deepEqual(reply.body, body);
        assert.equal(body.description, 'patched');
        assert.equal(body.baseUrl, null);
        assert.equal(body.status, 'active');
        assert.equal(body.name, created.name);
        assert.equal(body.protocolType, 'mcp');
        assert.equal(body.documentationUrl, created.documentationUrl);
        assert.equal(body.iconUrl, created.iconUrl);
        assert.deepEqual(body.connectionVariables, created.connectionVariables);
        assert.deepEqual(body.authSchemeConfigs, created.authSchemeConfigs);
        assert.equal(body.revision, created.revision + 1);
      });

      it('refuses an unknown field in a PATCH or a PUT with 400 and changes nothing', async () => {
        await createConnector('unknown-field');
        const before = await getConnector('unknown-field');
        const patch = await app.call('PATCH', `${CONNECTORS}/unknown-field`, {
          body: { description: 'x', colour: 'blue' },
        });
        assertProblem(patch, 400, 'validation-failed');
        assert.deepEqual(errorPaths(patch), ['/colour']);
        const put = await app.call('PUT', `${CONNECTORS}/unknown-field`, { body: { name: 'x', colour: 'blue' } });
        assertProblem(put, 400, 'validation-failed');
        assert.deepEqual(errorPaths(put), ['/colour']);
        const afterwards = await getConnector('unknown-field');
        assert.deepEqual(afterwards.body, before.body);
        assert.equal(afterwards.headers.etag, before.headers.etag);
      });

      it('refuses a PATCH that sets the name to null, since the name is required', async () => {
        await createConnector('patch-null-name');
        const before = await getConnector('patch-null-name');
        const reply = await app.call('PATCH', `${CONNECTORS}/patch-null-name`, { body: { name: null } });
        assertProblem(reply, 400, 'validation-failed');
        assert.deepEqual(errorPaths(reply), ['/name']);
        assert.deepEqual((await getConnector('patch-null-name')).body, before.body);
      });

      it('leaves connectionVariables and the config order untouched when a PUT omits them', async () => {
        await createConnector('put-commands');
        const reply = await app.call('PUT', `${CONNECTORS}/put-commands`, { body: { name: 'kept children' } });
        assert.equal(reply.status, 200, reply.text);
        assert.deepEqual(reply.body.connectionVariables, [{ name: 'region', value: 'eu-1' }]);
        assert.deepEqual(
          reply.body.authSchemeConfigs.map((c: any) => c.id),
          ['key', 'bearer'],
        );
      });

      it('reorders the configs by authSchemeConfigIds and refuses a list that is not a permutation', async () => {
        await createConnector('put-reorder');
        const reordered = await app.call('PUT', `${CONNECTORS}/put-reorder`, {
          body: { name: 'reordered', authSchemeConfigIds: ['bearer', 'key'] },
        });
        assert.equal(reordered.status, 200, reordered.text);
        assert.deepEqual(
          reordered.body.authSchemeConfigs.map((c: any) => c.id),
          ['bearer', 'key'],
        );
        const before = await getConnector('put-reorder');
        for (const ids of [['bearer'], ['bearer', 'key', 'nope'], ['key', 'key']]) {
          const reply = await app.call('PUT', `${CONNECTORS}/put-reorder`, {
            body: { name: 'bad order', authSchemeConfigIds: ids },
          });
          assertProblem(reply, 400, 'validation-failed');
          assert.ok(
            errorPaths(reply).every((p) => p.startsWith('/authSchemeConfigIds')),
            reply.text,
          );
        }
        const afterwards = await getConnector('put-reorder');
        assert.deepEqual(afterwards.body, before.body);
        assert.equal(afterwards.headers.etag, before.headers.etag);
      });

      it('accepts authSchemeConfigs and versions echoed unchanged but refuses a changed echo', async () => {
        await createConnector('echo-children');
        const version = await app.call('POST', `${CONNECTORS}/echo-children/versions`, { body: { name: 'v1' } });
        assert.equal(version.status, 201, version.text);
        const read = await getConnector('echo-children');
        assert.equal(read.body.versions.length, 1);

        const same = await app.call('PUT', `${CONNECTORS}/echo-children`, {
          body: { ...read.body, description: 'echoed' },
        });
        assert.equal(same.status, 200, same.text);
        assert.deepEqual(same.body.authSchemeConfigs, read.body.authSchemeConfigs);
        assert.deepEqual(same.body.versions, read.body.versions);

        const current = await getConnector('echo-children');
        const changedConfigs = read.body.authSchemeConfigs.map((c: any) =>
          c.id === 'bearer' ? { ...c, description: 'changed here' } : c,
        );
        const configs = await app.call('PUT', `${CONNECTORS}/echo-children`, {
          body: { ...current.body, authSchemeConfigs: changedConfigs },
        });
        assertProblem(configs, 400, 'validation-failed');
        assert.deepEqual(errorPaths(configs), ['/authSchemeConfigs']);
        const reversed = await app.call('PUT', `${CONNECTORS}/echo-children`, {
          body: { ...current.body, authSchemeConfigs: [...read.body.authSchemeConfigs].reverse() },
        });
        assertProblem(reversed, 400, 'validation-failed');
        const versions = await app.call('PUT', `${CONNECTORS}/echo-children`, {
          body: { ...current.body, description: 'not applied', versions: [{ ...read.body.versions[0], name: 'v2' }] },
        });
        assertProblem(versions, 400, 'validation-failed');
        assert.deepEqual(errorPaths(versions), ['/versions']);

        const afterwards = await getConnector('echo-children');
        assert.deepEqual(afterwards.body, current.body);
        assert.equal(afterwards.headers.etag, current.headers.etag);
      });
    });

    describe('connections', () => {
      before(async () => {
        await createConnector('conn-host');
      });

      it('unsets every optional field that a PUT with only name and type leaves out', async () => {
        const created = await createConnection('conn-host', 'put-minimal');
        assert.equal(created.envType, 1);
        const reply = await app.call('PUT', `${CONNECTIONS}/${created.id}`, {
          body: { name: 'put-minimal', type: 'mysql' },
        });
        assert.equal(reply.status, 200, reply.text);
        for (const body of [reply.body, (await getConnection(created.id)).body]) {
          assert.equal(body.description, null);
          assert.equal(body.envType, 0);
          assert.equal(body.status, 'active');
          assert.deepEqual(body.content, {});
          assert.deepEqual(body.variables, []);
          assert.deepEqual(body.credentials, []);
          assert.equal(body.connectorId, 'conn-host', 'connectorId is fixed at creation');
          assert.equal(body.revision, created.revision + 1);
        }
        const row = await app.db.kysely
          .selectFrom('connections')
          .select(['content', 'credentials', 'variables'])
          .where('id', '=', created.id)
          .executeTakeFirstOrThrow();
        assert.deepEqual(JSON.parse(row.content), {});
        assert.deepEqual(JSON.parse(row.credentials), []);
        assert.deepEqual(JSON.parse(row.variables), []);
      });

      it('refuses a PUT without name or type with 400 naming each and changes nothing', async () => {
        const created = await createConnection('conn-host', 'put-missing');
        const before = await getConnection(created.id);
        const cases: [Record<string, unknown>, string[]][] = [
          [{ type: 'mysql', description: 'no name' }, ['/name']],
          [{ name: 'put-missing', description: 'no type' }, ['/type']],
          [{ description: 'neither' }, ['/name', '/type']],
        ];
        for (const [body, paths] of cases) {
          const reply = await app.call('PUT', `${CONNECTIONS}/${created.id}`, { body });
          assertProblem(reply, 400, 'validation-failed');
          assert.deepEqual(errorPaths(reply), paths);
        }
        const afterwards = await getConnection(created.id);
        assert.deepEqual(afterwards.body, before.body);
        assert.equal(afterwards.headers.etag, before.headers.etag);
      });

      it('takes a GET body back with edits and ignores the server-managed fields in it', async () => {
        const created = await createConnection('conn-host', 'echo-back');
        const read = await getConnection(created.id);
        const body = {
          ...read.body,
          description: 'edited',
          id: created.id + 1000,
          workspaceId: 'elsewhere',
          createdAt: '2001-01-01T00:00:00.000Z',
          updatedAt: '2001-01-01T00:00:00.000Z',
          revision: 999,
          health: { state: 'ok', checkedAt: '2001-01-01T00:00:00.000Z', message: 'fine' },
        };
        const reply = await app.call('PUT', `${CONNECTIONS}/${created.id}`, { body });
        assert.equal(reply.status, 200, reply.text);
        assert.equal(reply.body.id, created.id);
        assert.equal(reply.body.workspaceId, 'default');
        assert.equal(reply.body.createdAt, created.createdAt);
        assert.equal(reply.body.revision, created.revision + 1);
        assert.deepEqual(reply.body.health, created.health);
        assert.equal(reply.body.description, 'edited');
        assert.deepEqual(reply.body.content, read.body.content);
        assert.deepEqual(reply.body.credentials, read.body.credentials);
        assert.deepEqual(reply.body.variables, read.body.variables);
        assert.equal((await app.call('GET', `${CONNECTIONS}/${created.id + 1000}`)).status, 404);
      });

      it('changes only the fields a PATCH names and unsets the ones set to null', async () => {
        const created = await createConnection('conn-host', 'patch-some');
        const reply = await app.call('PATCH', `${CONNECTIONS}/${created.id}`, {
          body: { description: null, envType: null, status: 'active' },
        });
        assert.equal(reply.status, 200, reply.text);
        const body = (await getConnection(created.id)).body;
        assert.deepEqual(reply.body, body);
        assert.equal(body.description, null);
        assert.equal(body.envType, 0);
        assert.equal(body.status, 'active');
        assert.equal(body.name, 'patch-some');
        assert.equal(body.type, 'mysql');
        assert.deepEqual(body.content, created.content);
        assert.deepEqual(body.variables, created.variables);
        assert.deepEqual(body.credentials, created.credentials);
        assert.equal(body.revision, created.revision + 1);

        const cleared = await app.call('PATCH', `${CONNECTIONS}/${created.id}`, {
          body: { variables: null, credentials: null, content: null },
        });
        assert.equal(cleared.status, 200, cleared.text);
        assert.deepEqual(cleared.body.variables, []);
        assert.deepEqual(cleared.body.credentials, []);
        assert.deepEqual(cleared.body.content, {});
      });

      it('merges a PATCH of content key by key (RFC 7396)', async () => {
        const created = await createConnection('conn-host', 'patch-content', {
          content: {
            host: 'db.internal',
            port: 3306,
            schema: 'public',
            options: { ssl: true, timeout: 5 },
            password: 'pw-1',
          },
        });
        const reply = await app.call('PATCH', `${CONNECTIONS}/${created.id}`, {
          body: { content: { schema: null, options: { timeout: null, charset: 'utf8' }, database: 'app' } },
        });
        assert.equal(reply.status, 200, reply.text);
        assert.deepEqual(reply.body.content, {
          host: 'db.internal',
          port: 3306,
          options: { ssl: true, charset: 'utf8' },
          database: 'app',
          password: '******',
        });
        const row = await app.db.kysely
          .selectFrom('connections')
          .select('content')
          .where('id', '=', created.id)
          .executeTakeFirstOrThrow();
        assert.equal(await openStored(app.db, app.vault, JSON.parse(row.content).password), 'pw-1');
      });

      it('reads a PATCH sent as plain application/json as a merge patch', async () => {
        const created = await createConnection('conn-host', 'patch-plain-json');
        const reply = await app.call('PATCH', `${CONNECTIONS}/${created.id}`, {
          body: { content: { database: 'plain' } },
          contentType: 'application/json',
        });
        assert.equal(reply.status, 200, reply.text);
        assert.deepEqual(reply.body.content, { ...created.content, database: 'plain' });
      });

      it('refuses an unknown field in a PATCH or a PUT with 400 and changes nothing', async () => {
        const created = await createConnection('conn-host', 'unknown-field');
        const before = await getConnection(created.id);
        const patch = await app.call('PATCH', `${CONNECTIONS}/${created.id}`, {
          body: { description: 'x', colour: 'blue' },
        });
        assertProblem(patch, 400, 'validation-failed');
        assert.deepEqual(errorPaths(patch), ['/colour']);
        const put = await app.call('PUT', `${CONNECTIONS}/${created.id}`, {
          body: { name: 'x', type: 'mysql', colour: 'blue' },
        });
        assertProblem(put, 400, 'validation-failed');
        assert.deepEqual(errorPaths(put), ['/colour']);
        const afterwards = await getConnection(created.id);
        assert.deepEqual(afterwards.body, before.body);
        assert.equal(afterwards.headers.etag, before.headers.etag);
      });

      it('refuses to move a connection to another connector', async () => {
        await createConnector('conn-other');
        const created = await createConnection('conn-host', 'fixed-connector');
        const before = await getConnection(created.id);
        for (const method of ['PUT', 'PATCH']) {
          const reply = await app.call(method, `${CONNECTIONS}/${created.id}`, {
            body: { name: 'fixed-connector', type: 'mysql', connectorId: 'conn-other' },
          });
          assertProblem(reply, 400, 'validation-failed');
          assert.deepEqual(errorPaths(reply), ['/connectorId']);
        }
        assert.deepEqual((await getConnection(created.id)).body, before.body);
      });
    });

    describe('workspaces', () => {
      it('replaces a workspace from a GET body and ignores its server-managed fields', async () => {
        const created = await app.call('POST', '/api/v1/workspaces', { body: { id: 'ws-put', name: 'Before' } });
        assert.equal(created.status, 201, created.text);
        const read = await app.call('GET', '/api/v1/workspaces/ws-put');
        const reply = await app.call('PUT', '/api/v1/workspaces/ws-put', {
          body: {
            ...read.body,
            name: 'After',
            id: 'ws-other',
            projectId: 9999,
            createdAt: '2001-01-01T00:00:00.000Z',
            revision: 77,
          },
        });
        assert.equal(reply.status, 200, reply.text);
        assert.equal(reply.body.id, 'ws-put');
        assert.equal(reply.body.name, 'After');
        assert.equal(reply.body.projectId, read.body.projectId);
        assert.equal(reply.body.createdAt, read.body.createdAt);
        assert.equal(reply.body.revision, read.body.revision + 1);
        assertStrongEtag(reply);
      });

      it('refuses a workspace PUT without a name and a PATCH with an unknown field, changing nothing', async () => {
        const created = await app.call('POST', '/api/v1/workspaces', { body: { id: 'ws-bad', name: 'Kept' } });
        assert.equal(created.status, 201, created.text);
        const put = await app.call('PUT', '/api/v1/workspaces/ws-bad', { body: {} });
        assertProblem(put, 400, 'validation-failed');
        assert.deepEqual(errorPaths(put), ['/name']);
        const patch = await app.call('PATCH', '/api/v1/workspaces/ws-bad', { body: { name: 'x', colour: 'blue' } });
        assertProblem(patch, 400, 'validation-failed');
        assert.deepEqual(errorPaths(patch), ['/colour']);
        const read = await app.call('GET', '/api/v1/workspaces/ws-bad');
        assert.equal(read.body.name, 'Kept');
        assert.equal(read.headers.etag, created.headers.etag);
      });

      it('renames a workspace by PATCH and keeps the revision when the name is the same', async () => {
        const created = await app.call('POST', '/api/v1/workspaces', { body: { id: 'ws-patch', name: 'One' } });
        const renamed = await app.call('PATCH', '/api/v1/workspaces/ws-patch', { body: { name: 'Two' } });
        assert.equal(renamed.status, 200, renamed.text);
        assert.equal(renamed.body.name, 'Two');
        assert.equal(renamed.body.revision, created.body.revision + 1);
        const again = await app.call('PATCH', '/api/v1/workspaces/ws-patch', { body: { name: 'Two' } });
        assert.equal(again.status, 200, again.text);
        assert.equal(again.body.revision, renamed.body.revision);
        assert.equal(again.body.updatedAt, renamed.body.updatedAt);
        assert.equal(again.headers.etag, renamed.headers.etag);
      });
    });

    describe('ETags and preconditions', () => {
      it('puts a strong ETag on every single-resource response', async () => {
        const replies: Reply[] = [];
        const created = await app.call('POST', CONNECTORS, { body: fullConnector('etag-all') });
        replies.push(created);
        replies.push(await app.call('GET', `${CONNECTORS}/etag-all`));
        replies.push(await app.call('PUT', `${CONNECTORS}/etag-all`, { body: { name: 'etag' } }));
        replies.push(await app.call('PATCH', `${CONNECTORS}/etag-all`, { body: { description: 'etag' } }));
        replies.push(
          await app.call('POST', `${CONNECTORS}/etag-all/auth-scheme-configs`, {
            body: { id: 'extra', schemeType: 'basic-auth' },
          }),
        );
        replies.push(await app.call('GET', `${CONNECTORS}/etag-all/auth-scheme-configs/extra`));
        replies.push(
          await app.call('PATCH', `${CONNECTORS}/etag-all/auth-scheme-configs/extra`, { body: { description: 'x' } }),
        );
        replies.push(await app.call('POST', `${CONNECTORS}/etag-all/versions`, { body: { name: 'v1' } }));
        const connection = await app.call('POST', CONNECTIONS, {
          body: { connectorId: 'etag-all', name: 'etag', type: 'http' },
        });
        replies.push(connection);
        replies.push(await app.call('GET', `${CONNECTIONS}/${connection.body.id}`));
        replies.push(
          await app.call('PUT', `${CONNECTIONS}/${connection.body.id}`, {
            body: { name: 'etag', type: 'http', description: 'x' },
          }),
        );
        replies.push(await app.call('PATCH', `${CONNECTIONS}/${connection.body.id}`, { body: { description: 'y' } }));
        replies.push(await app.call('GET', WS));
        for (const reply of replies) {
          assert.ok(reply.status === 200 || reply.status === 201, reply.text);
          assertStrongEtag(reply);
        }
        // The config shares its connector's ETag.
        const connector = await app.call('GET', `${CONNECTORS}/etag-all`);
        const config = await app.call('GET', `${CONNECTORS}/etag-all/auth-scheme-configs/extra`);
        assert.equal(config.headers.etag, connector.headers.etag);
      });

      it('answers a stale If-Match with 412 precondition-failed and changes nothing', async () => {
        await createConnector('etag-stale');
        const first = await getConnector('etag-stale');
        const moved = await app.call('PATCH', `${CONNECTORS}/etag-stale`, { body: { description: 'moved on' } });
        assert.equal(moved.status, 200);
        const current = await getConnector('etag-stale');
        const stale = first.headers.etag as string;
        assert.notEqual(current.headers.etag, stale);

        const put = await app.call('PUT', `${CONNECTORS}/etag-stale`, {
          body: { name: 'lost' },
          headers: { 'if-match': stale },
        });
        assertProblem(put, 412, 'precondition-failed');
        const patch = await app.call('PATCH', `${CONNECTORS}/etag-stale`, {
          body: { name: 'lost' },
          headers: { 'if-match': stale },
        });
        assertProblem(patch, 412, 'precondition-failed');
        const weak = await app.call('PATCH', `${CONNECTORS}/etag-stale`, {
          body: { name: 'lost' },
          headers: { 'if-match': `W/${current.headers.etag as string}` },
        });
        assertProblem(weak, 412, 'precondition-failed');
        const remove = await app.call('DELETE', `${CONNECTORS}/etag-stale`, { headers: { 'if-match': stale } });
        assertProblem(remove, 412, 'precondition-failed');

        const afterwards = await getConnector('etag-stale');
        assert.deepEqual(afterwards.body, current.body);
        assert.equal(afterwards.headers.etag, current.headers.etag);
      });

      it('applies a write whose If-Match matches and answers with a new ETag', async () => {
        await createConnector('etag-match');
        const read = await getConnector('etag-match');
        const etag = read.headers.etag as string;
        const reply = await app.call('PATCH', `${CONNECTORS}/etag-match`, {
          body: { description: 'matched' },
          headers: { 'if-match': etag },
        });
        assert.equal(reply.status, 200, reply.text);
        const next = assertStrongEtag(reply);
        assert.notEqual(next, etag);
        assert.equal((await getConnector('etag-match')).headers.etag, next);
        // A list of tags passes when any of them matches.
        const listed = await app.call('PUT', `${CONNECTORS}/etag-match`, {
          body: { name: 'listed' },
          headers: { 'if-match': `"nope", ${next}` },
        });
        assert.equal(listed.status, 200, listed.text);
      });

      it('lets If-Match: * through on PUT, PATCH and DELETE', async () => {
        await createConnector('etag-star');
        const put = await app.call('PUT', `${CONNECTORS}/etag-star`, {
          body: { name: 'star' },
          headers: { 'if-match': '*' },
        });
        assert.equal(put.status, 200, put.text);
        const patch = await app.call('PATCH', `${CONNECTORS}/etag-star`, {
          body: { description: 'star' },
          headers: { 'if-match': '*' },
        });
        assert.equal(patch.status, 200, patch.text);
        const remove = await app.call('DELETE', `${CONNECTORS}/etag-star`, { headers: { 'if-match': '*' } });
        assert.equal(remove.status, 204, remove.text);
        assert.equal((await app.call('GET', `${CONNECTORS}/etag-star`)).status, 404);
      });

      it('deletes only when the If-Match of a DELETE is current', async () => {
        const created = await createConnection('conn-host', 'etag-delete');
        const first = await getConnection(created.id);
        await app.call('PATCH', `${CONNECTIONS}/${created.id}`, { body: { description: 'moved on' } });
        const stale = await app.call('DELETE', `${CONNECTIONS}/${created.id}`, {
          headers: { 'if-match': first.headers.etag as string },
        });
        assertProblem(stale, 412, 'precondition-failed');
        const current = await getConnection(created.id);
        assert.equal(current.body.description, 'moved on');
        const remove = await app.call('DELETE', `${CONNECTIONS}/${created.id}`, {
          headers: { 'if-match': current.headers.etag as string },
        });
        assert.equal(remove.status, 204, remove.text);
        assert.equal((await app.call('GET', `${CONNECTIONS}/${created.id}`)).status, 404);
      });

      it('answers a connection write with a stale If-Match with 412 and keeps the stored state', async () => {
        const created = await createConnection('conn-host', 'etag-connection');
        const first = await getConnection(created.id);
        await app.call('PATCH', `${CONNECTIONS}/${created.id}`, { body: { description: 'moved on' } });
        const current = await getConnection(created.id);
        const put = await app.call('PUT', `${CONNECTIONS}/${created.id}`, {
          body: { name: 'lost', type: 'mysql' },
          headers: { 'if-match': first.headers.etag as string },
        });
        assertProblem(put, 412, 'precondition-failed');
        const patch = await app.call('PATCH', `${CONNECTIONS}/${created.id}`, {
          body: { name: 'lost' },
          headers: { 'if-match': first.headers.etag as string },
        });
        assertProblem(patch, 412, 'precondition-failed');
        const afterwards = await getConnection(created.id);
        assert.deepEqual(afterwards.body, current.body);
        const ok = await app.call('PUT', `${CONNECTIONS}/${created.id}`, {
          body: { ...current.body, name: 'won' },
          headers: { 'if-match': current.headers.etag as string },
        });
        assert.equal(ok.status, 200, ok.text);
        assert.equal(ok.body.name, 'won');
        assert.notEqual(ok.headers.etag, current.headers.etag);
      });

      it('answers a GET with 304 when If-None-Match names the current ETag and 200 for an old one', async () => {
        await createConnector('etag-none-match');
        const first = await getConnector('etag-none-match');
        const notModified = await app.call('GET', `${CONNECTORS}/etag-none-match`, {
          headers: { 'if-none-match': first.headers.etag as string },
        });
        assert.equal(notModified.status, 304);
        assert.equal(notModified.text, '');
        assert.equal(notModified.headers.etag, first.headers.etag);
        await app.call('PATCH', `${CONNECTORS}/etag-none-match`, { body: { description: 'changed' } });
        const modified = await app.call('GET', `${CONNECTORS}/etag-none-match`, {
          headers: { 'if-none-match': first.headers.etag as string },
        });
        assert.equal(modified.status, 200);
        assert.equal(modified.body.description, 'changed');
        assert.notEqual(modified.headers.etag, first.headers.etag);

        const connection = await createConnection('conn-host', 'etag-none-match');
        const read = await getConnection(connection.id);
        const hit = await app.call('GET', `${CONNECTIONS}/${connection.id}`, {
          headers: { 'if-none-match': read.headers.etag as string },
        });
        assert.equal(hit.status, 304);
      });

      it('puts an ETag on lists and honours If-None-Match on them', async () => {
        const first = await app.call('GET', `${CONNECTORS}?limit=200`);
        assert.equal(first.status, 200);
        const etag = assertStrongEtag(first);
        const again = await app.call('GET', `${CONNECTORS}?limit=200`, { headers: { 'if-none-match': etag } });
        assert.equal(again.status, 304);
        assert.equal(again.text, '');
        await createConnector('etag-list');
        const changed = await app.call('GET', `${CONNECTORS}?limit=200`, { headers: { 'if-none-match': etag } });
        assert.equal(changed.status, 200);
        assert.notEqual(assertStrongEtag(changed), etag);
        assert.ok(changed.body.items.some((c: any) => c.id === 'etag-list'));

        const connections = await app.call('GET', `${CONNECTIONS}?limit=200`);
        const connectionsAgain = await app.call('GET', `${CONNECTIONS}?limit=200`, {
          headers: { 'if-none-match': assertStrongEtag(connections) },
        });
        assert.equal(connectionsAgain.status, 304);
        const workspaces = await app.call('GET', '/api/v1/workspaces');
        const workspacesAgain = await app.call('GET', '/api/v1/workspaces', {
          headers: { 'if-none-match': assertStrongEtag(workspaces) },
        });
        assert.equal(workspacesAgain.status, 304);
      });
    });

    describe('updates that change nothing', () => {
      it('keeps revision, ETag and updatedAt of a connector on a PUT or PATCH with the same values', async () => {
        await createConnector('noop-connector');
        const read = await getConnector('noop-connector');
        const put = await app.call('PUT', `${CONNECTORS}/noop-connector`, { body: read.body });
        assert.equal(put.status, 200, put.text);
        const minimal = {
          name: read.body.name,
          description: read.body.description,
          protocolType: read.body.protocolType,
          documentationUrl: read.body.documentationUrl,
          iconUrl: read.body.iconUrl,
          baseUrl: read.body.baseUrl,
          status: read.body.status,
        };
        const putFields = await app.call('PUT', `${CONNECTORS}/noop-connector`, {
          body: { ...minimal, authSchemeConfigIds: ['key', 'bearer'] },
        });
        const patch = await app.call('PATCH', `${CONNECTORS}/noop-connector`, {
          body: { description: read.body.description, status: 'disabled' },
        });
        const patchVariables = await app.call('PATCH', `${CONNECTORS}/noop-connector`, {
          body: { connectionVariables: read.body.connectionVariables },
        });
        for (const reply of [put, putFields, patch, patchVariables]) {
          assert.equal(reply.status, 200, reply.text);
          assert.equal(reply.body.revision, read.body.revision);
          assert.equal(reply.body.updatedAt, read.body.updatedAt);
          assert.equal(reply.headers.etag, read.headers.etag);
        }
        const afterwards = await getConnector('noop-connector');
        assert.deepEqual(afterwards.body, read.body);
        // A real change after the no-ops bumps the revision by exactly one.
        const real = await app.call('PATCH', `${CONNECTORS}/noop-connector`, {
          body: { description: 'really changed' },
        });
        assert.equal(real.body.revision, read.body.revision + 1);
      });

      it('keeps the connector revision when an auth-scheme config or a version is written back unchanged', async () => {
        await createConnector('noop-parts', {
          ...fullConnector('noop-parts'),
          authSchemeConfigs: [
            { id: 'oauth', schemeType: 'oauth2', config: { tokenUrl: 'https://t.example.com', clientSecret: 'cs-1' } },
          ],
        });
        const version = await app.call('POST', `${CONNECTORS}/noop-parts/versions`, {
          body: { name: 'v1', description: 'first' },
        });
        assert.equal(version.status, 201, version.text);
        const read = await getConnector('noop-parts');
        const config = await app.call('GET', `${CONNECTORS}/noop-parts/auth-scheme-configs/oauth`);
        const replies = [
          await app.call('PUT', `${CONNECTORS}/noop-parts/auth-scheme-configs/oauth`, { body: config.body }),
          await app.call('PATCH', `${CONNECTORS}/noop-parts/auth-scheme-configs/oauth`, {
            body: { config: { clientSecret: 'cs-1' } },
          }),
          await app.call('PUT', `${CONNECTORS}/noop-parts/versions/${version.body.id}`, { body: version.body }),
          await app.call('PATCH', `${CONNECTORS}/noop-parts/versions/${version.body.id}`, {
            body: { description: 'first' },
          }),
        ];
        for (const reply of replies) {
          assert.equal(reply.status, 200, reply.text);
          assert.equal(reply.headers.etag, read.headers.etag);
        }
        assert.deepEqual((await getConnector('noop-parts')).body, read.body);
      });

      it('keeps revision, ETag and updatedAt of a connection whose secrets are written back masked or as the same plaintext', async () => {
        const created = await createConnection('conn-host', 'noop-connection');
        const read = await getConnection(created.id);
        assert.equal(read.body.content.password, '******');
        assert.equal(read.body.credentials[0].secret, '******');
        const rowBefore = await app.db.kysely
          .selectFrom('connections')
          .selectAll()
          .where('id', '=', created.id)
          .executeTakeFirstOrThrow();

        const masked = await app.call('PUT', `${CONNECTIONS}/${created.id}`, { body: read.body });
        const plaintext = await app.call('PUT', `${CONNECTIONS}/${created.id}`, {
          body: {
            ...read.body,
            content: { ...read.body.content, password: 'pw-1' },
            credentials: [{ kind: 'action', authSchemeConfigId: 'key', secret: 'cred-1' }],
          },
        });
        const patchSame = await app.call('PATCH', `${CONNECTIONS}/${created.id}`, {
          body: { description: read.body.description, content: { password: 'pw-1', port: 3306 } },
        });
        const patchMask = await app.call('PATCH', `${CONNECTIONS}/${created.id}`, {
          body: { content: { password: '******' }, credentials: read.body.credentials },
        });
        for (const reply of [masked, plaintext, patchSame, patchMask]) {
          assert.equal(reply.status, 200, reply.text);
          assert.equal(reply.body.revision, read.body.revision);
          assert.equal(reply.body.updatedAt, read.body.updatedAt);
          assert.equal(reply.headers.etag, read.headers.etag);
        }
        const rowAfter = await app.db.kysely
          .selectFrom('connections')
          .selectAll()
          .where('id', '=', created.id)
          .executeTakeFirstOrThrow();
        assert.deepEqual(rowAfter, rowBefore, 'the stored ciphertexts are kept as they were');
      });
    });

    describe('concurrent writers', () => {
      it('lets exactly one of many concurrent PATCHes with the same If-Match succeed', async () => {
        await createConnector('race-patch');
        const read = await getConnector('race-patch');
        const replies = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            app.call('PATCH', `${CONNECTORS}/race-patch`, {
              body: { description: `writer ${i}` },
              headers: { 'if-match': read.headers.etag as string },
            }),
          ),
        );
        const won = replies.filter((r) => r.status === 200);
        const lost = replies.filter((r) => r.status !== 200);
        assert.equal(won.length, 1, replies.map((r) => r.status).join(','));
        for (const reply of lost) assertProblem(reply, 412, 'precondition-failed');
        const afterwards = await getConnector('race-patch');
        assert.equal(afterwards.body.description, won[0]!.body.description);
        assert.equal(afterwards.body.revision, read.body.revision + 1);
      });

      it('lets exactly one of many concurrent PUTs with the same If-Match succeed', async () => {
        const created = await createConnection('conn-host', 'race-put');
        const read = await getConnection(created.id);
        const replies = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            app.call('PUT', `${CONNECTIONS}/${created.id}`, {
              body: { ...read.body, description: `writer ${i}` },
              headers: { 'if-match': read.headers.etag as string },
            }),
          ),
        );
        const won = replies.filter((r) => r.status === 200);
        assert.equal(won.length, 1, replies.map((r) => r.status).join(','));
        for (const reply of replies.filter((r) => r.status !== 200)) assertProblem(reply, 412, 'precondition-failed');
        const afterwards = await getConnection(created.id);
        assert.equal(afterwards.body.description, won[0]!.body.description);
        assert.equal(afterwards.body.revision, read.body.revision + 1);
      });

      it('keeps every one of concurrent PATCHes without If-Match to different connector fields', async () => {
        await createConnector('race-fields', { id: 'race-fields', name: 'race' });
        const patches: Record<string, unknown>[] = [
          { description: 'described' },
          { documentationUrl: 'https://docs.example.com/race' },
          { iconUrl: 'https://example.com/race.png' },
          { baseUrl: 'https://api.example.com/race' },
          { status: 'disabled' },
          { protocolType: 'postgresql' },
          { connectionVariables: [{ name: 'zone', value: 'b' }] },
        ];
        const replies = await Promise.all(
          patches.map((body) => app.call('PATCH', `${CONNECTORS}/race-fields`, { body })),
        );
        for (const reply of replies) assert.equal(reply.status, 200, reply.text);
        const afterwards = (await getConnector('race-fields')).body;
        for (const patch of patches) {
          for (const [key, value] of Object.entries(patch)) assert.deepEqual(afterwards[key], value, key);
        }
        assert.equal(afterwards.revision, 1 + patches.length);
      });

      it('keeps every one of 20 concurrent PATCHes without If-Match to different content keys', async () => {
        const created = await createConnection('conn-host', 'race-content', { content: { password: 'pw-race' } });
        const replies = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            app.call('PATCH', `${CONNECTIONS}/${created.id}`, { body: { content: { [`key${i}`]: i } } }),
          ),
        );
        for (const reply of replies) assert.equal(reply.status, 200, reply.text);
        const afterwards = (await getConnection(created.id)).body;
        for (let i = 0; i < 20; i++) assert.equal(afterwards.content[`key${i}`], i, `key${i}`);
        assert.equal(afterwards.content.password, '******');
        assert.equal(afterwards.revision, created.revision + 20);
        const row = await app.db.kysely
          .selectFrom('connections')
          .select('content')
          .where('id', '=', created.id)
          .executeTakeFirstOrThrow();
        assert.equal(await openStored(app.db, app.vault, JSON.parse(row.content).password), 'pw-race');
      });
    });
  });

  describe(`requireIfMatch [${engine}]`, () => {
    let app: TestApp;

    before(async () => {
      app = await startTestApp(engine, { env: { REQUIRE_IF_MATCH: 'true' } });
    });
    after(async () => {
      await app?.stop();
    });

    it('creates without If-Match', async () => {
      const workspace = await app.call('POST', '/api/v1/workspaces', { body: { id: 'ws-strict', name: 'Strict' } });
      assert.equal(workspace.status, 201, workspace.text);
      const connector = await app.call('POST', CONNECTORS, { body: fullConnector('strict-create') });
      assert.equal(connector.status, 201, connector.text);
      const config = await app.call('POST', `${CONNECTORS}/strict-create/auth-scheme-configs`, {
        body: { id: 'basic', schemeType: 'basic-auth' },
      });
      assert.equal(config.status, 201, config.text);
      const version = await app.call('POST', `${CONNECTORS}/strict-create/versions`, { body: { name: 'v1' } });
      assert.equal(version.status, 201, version.text);
      const connection = await app.call('POST', CONNECTIONS, {
        body: { connectorId: 'strict-create', name: 'strict', type: 'http' },
      });
      assert.equal(connection.status, 201, connection.text);
    });

    it('refuses PUT, PATCH and DELETE of a connector without If-Match with 428 and changes nothing', async () => {
      await app.call('POST', CONNECTORS, { body: fullConnector('strict-connector') });
      const before = await app.call('GET', `${CONNECTORS}/strict-connector`);
      const url = `${CONNECTORS}/strict-connector`;
      assertProblem(await app.call('PUT', url, { body: { name: 'x' } }), 428, 'precondition-required');
      assertProblem(await app.call('PATCH', url, { body: { description: 'x' } }), 428, 'precondition-required');
      assertProblem(await app.call('DELETE', url), 428, 'precondition-required');
      const afterwards = await app.call('GET', url);
      assert.equal(afterwards.status, 200);
      assert.deepEqual(afterwards.body, before.body);

      const put = await app.call('PUT', url, {
        body: { name: 'x' },
        headers: { 'if-match': before.headers.etag as string },
      });
      assert.equal(put.status, 200, put.text);
      const patch = await app.call('PATCH', url, {
        body: { description: 'x' },
        headers: { 'if-match': put.headers.etag as string },
      });
      assert.equal(patch.status, 200, patch.text);
      const remove = await app.call('DELETE', url, { headers: { 'if-match': patch.headers.etag as string } });
      assert.equal(remove.status, 204, remove.text);
    });

    it('refuses writes to auth-scheme configs and versions without If-Match with 428', async () => {
      await app.call('POST', CONNECTORS, { body: fullConnector('strict-parts') });
      const version = await app.call('POST', `${CONNECTORS}/strict-parts/versions`, { body: { name: 'v1' } });
      const config = `${CONNECTORS}/strict-parts/auth-scheme-configs/key`;
      const versionUrl = `${CONNECTORS}/strict-parts/versions/${version.body.id}`;
      assertProblem(await app.call('PUT', config, { body: { schemeType: 'api-key' } }), 428, 'precondition-required');
      assertProblem(await app.call('PATCH', config, { body: { description: 'x' } }), 428, 'precondition-required');
      assertProblem(await app.call('DELETE', config), 428, 'precondition-required');
      assertProblem(await app.call('PUT', versionUrl, { body: { name: 'v2' } }), 428, 'precondition-required');
      assertProblem(await app.call('PATCH', versionUrl, { body: { description: 'x' } }), 428, 'precondition-required');
      assertProblem(await app.call('DELETE', versionUrl), 428, 'precondition-required');
      const etag = (await app.call('GET', `${CONNECTORS}/strict-parts`)).headers.etag as string;
      assert.equal(etag, version.headers.etag, 'nothing changed');
      const patched = await app.call('PATCH', config, { body: { description: 'x' }, headers: { 'if-match': etag } });
      assert.equal(patched.status, 200, patched.text);
    });

    it('refuses PUT, PATCH and DELETE of a connection and a workspace without If-Match with 428', async () => {
      await app.call('POST', CONNECTORS, { body: fullConnector('strict-host') });
      const connection = await app.call('POST', CONNECTIONS, {
        body: { connectorId: 'strict-host', name: 'strict-c', type: 'http' },
      });
      const url = `${CONNECTIONS}/${connection.body.id}`;
      assertProblem(await app.call('PUT', url, { body: { name: 'x', type: 'http' } }), 428, 'precondition-required');
      assertProblem(await app.call('PATCH', url, { body: { description: 'x' } }), 428, 'precondition-required');
      assertProblem(await app.call('DELETE', url), 428, 'precondition-required');
      const read = await app.call('GET', url);
      assert.equal(read.body.revision, connection.body.revision);
      const patched = await app.call('PATCH', url, {
        body: { description: 'x' },
        headers: { 'if-match': read.headers.etag as string },
      });
      assert.equal(patched.status, 200, patched.text);
      const removed = await app.call('DELETE', url, { headers: { 'if-match': patched.headers.etag as string } });
      assert.equal(removed.status, 204, removed.text);

      const ws = await app.call('POST', '/api/v1/workspaces', { body: { id: 'ws-strict-2', name: 'Strict' } });
      assertProblem(
        await app.call('PUT', '/api/v1/workspaces/ws-strict-2', { body: { name: 'x' } }),
        428,
        'precondition-required',
      );
      assertProblem(
        await app.call('PATCH', '/api/v1/workspaces/ws-strict-2', { body: { name: 'x' } }),
        428,
        'precondition-required',
      );
      assertProblem(await app.call('DELETE', '/api/v1/workspaces/ws-strict-2'), 428, 'precondition-required');
      const renamed = await app.call('PUT', '/api/v1/workspaces/ws-strict-2', {
        body: { name: 'x' },
        headers: { 'if-match': ws.headers.etag as string },
      });
      assert.equal(renamed.status, 200, renamed.text);
      assert.equal(renamed.body.name, 'x');
    });
  });
}
