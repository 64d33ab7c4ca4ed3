// Write-only secrets (SECURITY.md, docs/api.md): masked on every read, sealed at rest, kept when the mask is written back,
// cleared by null, never in a log line or an error, and the key file of the embedded default.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { sql } from 'kysely';
import { ConfigError, loadConfig } from '../src/config.js';
import { createApp, type App } from '../src/app.js';
import {
  ENGINES,
  OWNER_KEY,
  TEST_DATABASE_URL,
  createTestStore,
  startTestApp,
  type Reply,
  type TestApp,
  type TestStore,
} from './support/stores.js';
import { openStored } from './support/sealed.js';

const WS = '/api/v1/workspaces/default';
const CONNECTORS = `${WS}/connectors`;
const CONNECTIONS = `${WS}/connections`;
const MASK = '******';

/** Secrets distinctive enough that finding them anywhere means they leaked. */
const PASSWORD = 'pw-Zq81-content-password';
const CRED_ACTION = 'cred-Wm27-action-secret';
const CRED_TRIGGER = 'cred-Kx54-trigger-secret';
const CRED_OTHER = 'cred-Pj66-other-secret';
const CLIENT_SECRET = 'cs-Hv93-oauth-client-secret';

/** Calls an app built outside `startTestApp`, the same way its `call` helper does. */
async function inject(
  app: App,
  method: string,
  url: string,
  options: { body?: unknown; headers?: Record<string, string>; contentType?: string } = {},
): Promise<Reply> {
  const { body, headers = {}, contentType } = options;
  const response = await app.server.inject({
    method: method as 'GET',
    url,
    headers: {
      authorization: `Bearer ${OWNER_KEY}`,
      ...(body !== undefined
        ? { 'content-type': contentType ?? (method === 'PATCH' ? 'application/merge-patch+json' : 'application/json') }
        : {}),
      ...headers,
    },
    payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  let parsed: unknown;
  try {
    parsed = response.body === '' ? undefined : JSON.parse(response.body);
  } catch {
    parsed = undefined;
  }
  return { status: response.statusCode, headers: response.headers, body: parsed, text: response.body };
}

function assertNoPlaintext(text: string, secrets: readonly string[], where: string): void {
  for (const secret of secrets) assert.ok(!text.includes(secret), `${where} contains the plaintext ${secret}`);
}

/** The connector every connection here hangs on: two configs, one of them with a client secret. */
function hostConnector(id: string) {
  return {
    id,
    name: `Host ${id}`,
    authSchemeConfigs: [
      {
        id: 'oauth',
        schemeType: 'oauth2-client-credentials',
        config: { tokenUrl: 'https://auth.example.com/token', clientId: 'cid', clientSecret: CLIENT_SECRET },
      },
      { id: 'key', schemeType: 'api-key', config: { name: 'X-Api-Key', in: 'header' } },
    ],
  };
}

function connectionBody(connectorId: string, name: string) {
  return {
    connectorId,
    name,
    type: 'mysql',
    description: 'with secrets',
    content: { host: 'db.internal', port: 3306, username: 'app', password: PASSWORD },
    credentials: [{ kind: 'action', authSchemeConfigId: 'oauth', secret: CRED_ACTION }],
  };
}

async function rawConnection(app: App, id: number) {
  const row = await app.db.kysely
    .selectFrom('connections')
    .select(['content', 'credentials'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return {
    content: JSON.parse(row.content) as Record<string, any>,
    credentials: JSON.parse(row.credentials) as { kind: string; authSchemeConfigId: string; secret: string | null }[],
    text: `${row.content}\n${row.credentials}`,
  };
}

async function rawConfigs(app: App, connectorId: string) {
  const row = await app.db.kysely
    .selectFrom('connectors')
    .select('auth_scheme_configs')
    .where('id', '=', connectorId)
    .executeTakeFirstOrThrow();
  return {
    configs: JSON.parse(row.auth_scheme_configs) as { id: string; config: Record<string, any> }[],
    text: row.auth_scheme_configs,
  };
}

for (const engine of ENGINES) {
  describe(`write-only secrets [${engine}]`, () => {
    let app: TestApp;

    before(async () => {
      app = await startTestApp(engine);
      const host = await app.call('POST', CONNECTORS, { body: hostConnector('host') });
      assert.equal(host.status, 201, host.text);
    });
    after(async () => {
      await app?.stop();
    });

    async function createConnection(
      name: string,
      body: Record<string, unknown> = connectionBody('host', name),
    ): Promise<any> {
      const reply = await app.call('POST', CONNECTIONS, { body });
      assert.equal(reply.status, 201, reply.text);
      return reply.body;
    }

    it('shows content.password, credential secrets and clientSecret as the mask on create, get, list, PUT and PATCH', async () => {
      const secrets = [PASSWORD, CRED_ACTION, CLIENT_SECRET];
      const connectorReplies: Reply[] = [];
      const created = await app.call('POST', CONNECTORS, { body: hostConnector('mask-host') });
      connectorReplies.push(created);
      connectorReplies.push(await app.call('GET', `${CONNECTORS}/mask-host`));
      connectorReplies.push(
        await app.call('PUT', `${CONNECTORS}/mask-host`, { body: { ...created.body, description: 'put' } }),
      );
      connectorReplies.push(await app.call('PATCH', `${CONNECTORS}/mask-host`, { body: { description: 'patched' } }));
      for (const reply of connectorReplies) {
        assert.ok(reply.status === 200 || reply.status === 201, reply.text);
        assert.equal(reply.body.authSchemeConfigs[0].config.clientSecret, MASK);
        assert.equal(reply.body.authSchemeConfigs[0].config.clientId, 'cid');
        assertNoPlaintext(reply.text, secrets, `${reply.status} connector response`);
      }
      const list = await app.call('GET', `${CONNECTORS}?limit=200`);
      assert.equal(
        list.body.items.find((c: any) => c.id === 'mask-host').authSchemeConfigs[0].config.clientSecret,
        MASK,
      );
      assertNoPlaintext(list.text, secrets, 'connector list');

      const configUrl = `${CONNECTORS}/mask-host/auth-scheme-configs`;
      const configReplies: Reply[] = [];
      configReplies.push(await app.call('GET', `${configUrl}/oauth`));
      configReplies.push(
        await app.call('PUT', `${configUrl}/oauth`, { body: { ...configReplies[0]!.body, description: 'put' } }),
      );
      configReplies.push(await app.call('PATCH', `${configUrl}/oauth`, { body: { description: 'patched' } }));
      configReplies.push(
        await app.call('POST', configUrl, {
          body: {
            id: 'second',
            schemeType: 'oauth2-client-credentials',
            config: { tokenUrl: 'https://t.example.com', clientSecret: CLIENT_SECRET },
          },
        }),
      );
      for (const reply of configReplies) {
        assert.ok(reply.status === 200 || reply.status === 201, reply.text);
        assert.equal(reply.body.config.clientSecret, MASK);
        assertNoPlaintext(reply.text, secrets, `${reply.status} config response`);
      }
      const configs = await app.call('GET', configUrl);
      assert.deepEqual(
        configs.body.items.map((c: any) => [c.id, c.config.clientSecret]),
        [
          ['oauth', MASK],
          ['key', undefined],
          ['second', MASK],
        ],
      );
      assertNoPlaintext(configs.text, secrets, 'config list');

      const connectionReplies: Reply[] = [];
      const connection = await app.call('POST', CONNECTIONS, { body: connectionBody('mask-host', 'masked') });
      connectionReplies.push(connection);
      connectionReplies.push(await app.call('GET', `${CONNECTIONS}/${connection.body.id}`));
      connectionReplies.push(
        await app.call('PUT', `${CONNECTIONS}/${connection.body.id}`, {
          body: { ...connection.body, description: 'put' },
        }),
      );
      connectionReplies.push(
        await app.call('PATCH', `${CONNECTIONS}/${connection.body.id}`, { body: { description: 'patched' } }),
      );
      for (const reply of connectionReplies) {
        assert.ok(reply.status === 200 || reply.status === 201, reply.text);
        assert.equal(reply.body.content.password, MASK);
        assert.equal(reply.body.content.username, 'app');
        assert.deepEqual(reply.body.credentials, [{ kind: 'action', authSchemeConfigId: 'oauth', secret: MASK }]);
        assertNoPlaintext(reply.text, secrets, `${reply.status} connection response`);
      }
      const connections = await app.call('GET', `${CONNECTIONS}?limit=200`);
      const listed = connections.body.items.find((c: any) => c.id === connection.body.id);
      assert.equal(listed.content.password, MASK);
      assert.equal(listed.credentials[0].secret, MASK);
      assertNoPlaintext(connections.text, secrets, 'connection list');
    });

    it('keeps the stored secrets when a GET body is edited and sent back whole by PUT', async () => {
      const created = await createConnection('round-trip');
      const before = await rawConnection(app, created.id);
      const read = await app.call('GET', `${CONNECTIONS}/${created.id}`);
      const put = await app.call('PUT', `${CONNECTIONS}/${created.id}`, {
        body: { ...read.body, description: 'edited', content: { ...read.body.content, database: 'edited_db' } },
      });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body.description, 'edited');
      assert.equal(put.body.revision, read.body.revision + 1);
      const after = await rawConnection(app, created.id);
      assert.equal(after.content.database, 'edited_db');
      assert.equal(await openStored(app.db, app.vault, after.content.password), PASSWORD);
      assert.equal(await openStored(app.db, app.vault, after.credentials[0]!.secret!), CRED_ACTION);
      assert.equal(after.content.password, before.content.password, 'the ciphertext itself is kept');

      // The same for a connector's auth-scheme config, through the connector and through the config.
      const connector = await app.call('GET', `${CONNECTORS}/host`);
      const echoed = await app.call('PUT', `${CONNECTORS}/host`, {
        body: { ...connector.body, description: 'edited' },
      });
      assert.equal(echoed.status, 200, echoed.text);
      const config = await app.call('GET', `${CONNECTORS}/host/auth-scheme-configs/oauth`);
      const replaced = await app.call('PUT', `${CONNECTORS}/host/auth-scheme-configs/oauth`, {
        body: { ...config.body, description: 'edited' },
      });
      assert.equal(replaced.status, 200, replaced.text);
      assert.equal(replaced.body.description, 'edited');
      const patched = await app.call('PATCH', `${CONNECTORS}/host/auth-scheme-configs/oauth`, {
        body: { config: { clientId: 'cid-2' } },
      });
      assert.equal(patched.status, 200, patched.text);
      assert.deepEqual(patched.body.config, {
        tokenUrl: 'https://auth.example.com/token',
        clientId: 'cid-2',
        clientSecret: MASK,
      });
      const stored = (await rawConfigs(app, 'host')).configs.find((c) => c.id === 'oauth')!;
      assert.equal(await openStored(app.db, app.vault, stored.config.clientSecret), CLIENT_SECRET);
    });

    it('never stores a plaintext secret in the raw columns or the database files', async () => {
      const created = await createConnection('at-rest');
      await app.call('PATCH', `${CONNECTIONS}/${created.id}`, { body: { description: 'written again' } });
      const secrets = [PASSWORD, CRED_ACTION, CLIENT_SECRET];
      const connection = await rawConnection(app, created.id);
      assertNoPlaintext(connection.text, secrets, 'connections.content/credentials');
      assert.match(connection.content.password, /^pbenc:v2:/);
      assert.match(connection.credentials[0]!.secret!, /^pbenc:v2:/);
      const configs = await rawConfigs(app, 'host');
      assertNoPlaintext(configs.text, secrets, 'connectors.auth_scheme_configs');
      assert.match(configs.configs[0]!.config.clientSecret, /^pbenc:v2:/);

      if (engine === 'sqlite') {
        const dir = app.store.env.DATA_DIR!;
        const files = readdirSync(dir);
        assert.ok(files.includes('plugboard.db'), files.join(','));
        let seen = false;
        for (const name of files) {
          const bytes = readFileSync(join(dir, name));
          // The scan reads what was written: the non-secret settings next to the secrets are there.
          seen ||= bytes.includes('db.internal');
          for (const secret of secrets) assert.equal(bytes.includes(secret), false, `${name} contains ${secret}`);
        }
        assert.ok(seen, 'the written rows were found in the database files');
        // The write-ahead log holds the latest writes before a checkpoint: it must be clean too.
        const wal = join(dir, 'plugboard.db-wal');
        if (existsSync(wal)) for (const secret of secrets) assert.equal(readFileSync(wal).includes(secret), false);
      } else {
        for (const table of ['connections', 'connectors']) {
          const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table)} t`.execute(
            app.db.kysely,
          );
          assert.ok(rows.rows.length > 0);
          for (const row of rows.rows) assertNoPlaintext(row.row, secrets, `a ${table} row`);
          if (table === 'connections') assert.ok(rows.rows.some((r) => r.row.includes('db.internal')));
        }
      }
    });

    it('clears a secret written as null', async () => {
      const created = await createConnection('cleared');
      const put = await app.call('PUT', `${CONNECTIONS}/${created.id}`, {
        body: {
          ...created,
          content: { ...created.content, password: null },
          credentials: [{ kind: 'action', authSchemeConfigId: 'oauth', secret: null }],
        },
      });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body.content.password, null);
      assert.equal(put.body.credentials[0].secret, null);
      const raw = await rawConnection(app, created.id);
      assert.equal(raw.content.password, null);
      assert.equal(raw.credentials[0]!.secret, null);
      const read = await app.call('GET', `${CONNECTIONS}/${created.id}`);
      assert.equal(read.body.content.password, null);
      assert.equal(read.body.credentials[0].secret, null);

      // A merge patch's null removes the key altogether.
      const other = await createConnection('cleared-by-patch');
      const patch = await app.call('PATCH', `${CONNECTIONS}/${other.id}`, { body: { content: { password: null } } });
      assert.equal(patch.status, 200, patch.text);
      assert.equal('password' in patch.body.content, false);
      assert.equal('password' in (await rawConnection(app, other.id)).content, false);

      // An auth-scheme config's secret, likewise.
      await app.call('POST', CONNECTORS, { body: hostConnector('clear-host') });
      const config = await app.call('PATCH', `${CONNECTORS}/clear-host/auth-scheme-configs/oauth`, {
        body: { config: { clientSecret: null } },
      });
      assert.equal(config.status, 200, config.text);
      assert.equal('clientSecret' in config.body.config, false);
      assert.equal('clientSecret' in (await rawConfigs(app, 'clear-host')).configs[0]!.config, false);
    });

    it('keeps a secret that a PATCH leaves out and replaces it with a new value', async () => {
      const created = await createConnection('patched');
      const first = await rawConnection(app, created.id);
      const unrelated = await app.call('PATCH', `${CONNECTIONS}/${created.id}`, {
        body: { description: 'no secrets here', content: { database: 'other' } },
      });
      assert.equal(unrelated.status, 200, unrelated.text);
      const kept = await rawConnection(app, created.id);
      assert.equal(kept.content.password, first.content.password);
      assert.equal(kept.credentials[0]!.secret, first.credentials[0]!.secret);

      const replaced = await app.call('PATCH', `${CONNECTIONS}/${created.id}`, {
        body: {
          content: { password: 'pw-new-value' },
          credentials: [{ kind: 'action', authSchemeConfigId: 'oauth', secret: 'cred-new-value' }],
        },
      });
      assert.equal(replaced.status, 200, replaced.text);
      assert.equal(replaced.body.content.password, MASK);
      assert.equal(replaced.body.revision, unrelated.body.revision + 1);
      const now = await rawConnection(app, created.id);
      assert.notEqual(now.content.password, first.content.password);
      assert.equal(await openStored(app.db, app.vault, now.content.password), 'pw-new-value');
      assert.equal(await openStored(app.db, app.vault, now.credentials[0]!.secret!), 'cred-new-value');
      assert.equal(now.content.database, 'other');
      assertNoPlaintext(now.text, ['pw-new-value', 'cred-new-value'], 'the raw row');
    });

    it('refuses the mask where nothing is stored with 400 naming the field', async () => {
      const fresh = await app.call('POST', CONNECTIONS, {
        body: { ...connectionBody('host', 'mask-on-create'), content: { host: 'h', password: MASK } },
      });
      assert.equal(fresh.status, 400, fresh.text);
      assert.equal(fresh.body.code, 'validation-failed');
      assert.deepEqual(
        fresh.body.errors.map((e: any) => e.path),
        ['/content/password'],
      );

      const created = await createConnection('mask-after-clear');
      await app.call('PATCH', `${CONNECTIONS}/${created.id}`, { body: { content: { password: null } } });
      const before = await app.call('GET', `${CONNECTIONS}/${created.id}`);
      const put = await app.call('PUT', `${CONNECTIONS}/${created.id}`, {
        body: { ...before.body, content: { ...before.body.content, password: MASK } },
      });
      assert.equal(put.status, 400, put.text);
      assert.deepEqual(
        put.body.errors.map((e: any) => e.path),
        ['/content/password'],
      );
      const patch = await app.call('PATCH', `${CONNECTIONS}/${created.id}`, { body: { content: { password: MASK } } });
      assert.equal(patch.status, 400, patch.text);
      assert.deepEqual(
        patch.body.errors.map((e: any) => e.path),
        ['/content/password'],
      );

      const credential = await app.call('PATCH', `${CONNECTIONS}/${created.id}`, {
        body: {
          credentials: [...before.body.credentials, { kind: 'trigger', authSchemeConfigId: 'oauth', secret: MASK }],
        },
      });
      assert.equal(credential.status, 400, credential.text);
      assert.deepEqual(
        credential.body.errors.map((e: any) => e.path),
        ['/credentials/1/secret'],
      );

      const config = await app.call('POST', CONNECTORS, {
        body: {
          id: 'mask-config',
          name: 'x',
          authSchemeConfigs: [{ id: 'o', schemeType: 'oauth2', config: { clientSecret: MASK } }],
        },
      });
      assert.equal(config.status, 400, config.text);
      assert.deepEqual(
        config.body.errors.map((e: any) => e.path),
        ['/authSchemeConfigs/0/config/clientSecret'],
      );
      assert.equal((await app.call('GET', `${CONNECTORS}/mask-config`)).status, 404);

      const afterwards = await app.call('GET', `${CONNECTIONS}/${created.id}`);
      assert.deepEqual(afterwards.body, before.body);
    });

    it('treats keys as secret in any case and with _ or - ignored', async () => {
      const values = {
        client_secret: 'v-client-secret-1',
        API_KEY: 'v-api-key-2',
        'Private-Key': 'v-private-key-3',
        PassWord: 'v-password-4',
        access_key_secret: 'v-aks-5',
      };
      const created = await createConnection('spelled', {
        name: 'spelled',
        type: 'http',
        content: { ...values, nested: { Api_Key: 'v-nested-6' }, bearer_token: 'v-bearer-7', harmless: 'visible' },
      });
      const expected = Object.fromEntries(Object.keys(values).map((k) => [k, MASK]));
      assert.deepEqual(created.content, {
        ...expected,
        nested: { Api_Key: MASK },
        bearer_token: MASK,
        harmless: 'visible',
      });
      const raw = await rawConnection(app, created.id);
      for (const [key, value] of Object.entries(values))
        assert.equal(await openStored(app.db, app.vault, raw.content[key]), value, key);
      assert.equal(await openStored(app.db, app.vault, raw.content.nested.Api_Key), 'v-nested-6');
      assert.equal(await openStored(app.db, app.vault, raw.content.bearer_token), 'v-bearer-7');
      assert.equal(raw.content.harmless, 'visible');
      assertNoPlaintext(raw.text, [...Object.values(values), 'v-nested-6', 'v-bearer-7'], 'the raw row');

      // Sent back masked, each spelling keeps its own stored value.
      const put = await app.call('PUT', `${CONNECTIONS}/${created.id}`, {
        body: { ...created, description: 'spelled again' },
      });
      assert.equal(put.status, 200, put.text);
      const after = await rawConnection(app, created.id);
      for (const key of Object.keys(values)) assert.equal(after.content[key], raw.content[key], key);

      const config = await app.call('POST', `${CONNECTORS}/host/auth-scheme-configs`, {
        body: {
          id: 'snake',
          schemeType: 'oauth2',
          config: { tokenUrl: 'https://t.example.com', client_secret: 'v-snake-8', 'Client-Secret': 'v-kebab-9' },
        },
      });
      assert.equal(config.status, 201, config.text);
      assert.equal(config.body.config.client_secret, MASK);
      assert.equal(config.body.config['Client-Secret'], MASK);
      const stored = (await rawConfigs(app, 'host')).configs.find((c) => c.id === 'snake')!;
      assert.equal(await openStored(app.db, app.vault, stored.config.client_secret), 'v-snake-8');
      assert.equal(await openStored(app.db, app.vault, stored.config['Client-Secret']), 'v-kebab-9');
    });

    it('keeps each credential secret with its own kind and auth-scheme config when the list is reordered', async () => {
      const created = await createConnection('reordered', {
        ...connectionBody('host', 'reordered'),
        credentials: [
          { kind: 'action', authSchemeConfigId: 'oauth', secret: CRED_ACTION },
          { kind: 'trigger', authSchemeConfigId: 'oauth', secret: CRED_TRIGGER },
          { kind: 'action', authSchemeConfigId: 'key', secret: CRED_OTHER },
        ],
      });
      const expected = new Map([
        ['action/oauth', CRED_ACTION],
        ['trigger/oauth', CRED_TRIGGER],
        ['action/key', CRED_OTHER],
      ]);
      const check = async (order: string[]) => {
        const raw = await rawConnection(app, created.id);
        assert.deepEqual(
          raw.credentials.map((c) => `${c.kind}/${c.authSchemeConfigId}`),
          order,
        );
        for (const c of raw.credentials)
          assert.equal(
            await openStored(app.db, app.vault, c.secret!),
            expected.get(`${c.kind}/${c.authSchemeConfigId}`),
          );
      };
      const reversed = [...created.credentials].reverse();
      const put = await app.call('PUT', `${CONNECTIONS}/${created.id}`, {
        body: { ...created, credentials: reversed },
      });
      assert.equal(put.status, 200, put.text);
      assert.deepEqual(put.body.credentials, reversed);
      await check(['action/key', 'trigger/oauth', 'action/oauth']);

      const rotated = [put.body.credentials[1], put.body.credentials[2], put.body.credentials[0]];
      const patch = await app.call('PATCH', `${CONNECTIONS}/${created.id}`, { body: { credentials: rotated } });
      assert.equal(patch.status, 200, patch.text);
      await check(['trigger/oauth', 'action/oauth', 'action/key']);

      // Dropping one credential and re-adding it needs its secret again: the mask has nothing to keep.
      const dropped = await app.call('PATCH', `${CONNECTIONS}/${created.id}`, {
        body: { credentials: rotated.slice(0, 2) },
      });
      assert.equal(dropped.status, 200, dropped.text);
      const readded = await app.call('PATCH', `${CONNECTIONS}/${created.id}`, { body: { credentials: rotated } });
      assert.equal(readded.status, 400, readded.text);
      assert.deepEqual(
        readded.body.errors.map((e: any) => e.path),
        ['/credentials/2/secret'],
      );
    });

    it('keeps a sealed value whose key stopped being secret when its mask is sent back', async () => {
      const created = await app.call('POST', CONNECTIONS, {
        body: { name: 'retyped', type: 'http', content: { host: 'h', accessToken: 'tok-123' } },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.content.accessToken, '******');
      // accessToken is secret for http only; after the type change the stored value must survive the echo.
      const retyped = await app.call('PUT', `${CONNECTIONS}/${created.body.id}`, {
        body: { ...created.body, type: 'mysql' },
      });
      assert.equal(retyped.status, 200, retyped.text);
      assert.equal(retyped.body.content.accessToken, '******');
      const row = await app.db.kysely
        .selectFrom('connections')
        .select('content')
        .where('id', '=', created.body.id)
        .executeTakeFirstOrThrow();
      assert.equal(await openStored(app.db, app.vault, JSON.parse(row.content).accessToken), 'tok-123');
    });

    it('never echoes a plaintext secret in an error response', async () => {
      const created = await createConnection('errors');
      const read = await app.call('GET', `${CONNECTIONS}/${created.id}`);
      const leaked = 'pw-Lq72-should-never-echo';
      const long = `long-secret-${'x'.repeat(17000)}`;
      const replies: Reply[] = [
        // 400: an unknown field next to a secret; a bad credential next to its secret; a secret of the wrong type.
        await app.call('POST', CONNECTIONS, {
          body: { ...connectionBody('host', 'bad-1'), content: { password: leaked }, colour: 'blue' },
        }),
        await app.call('POST', CONNECTIONS, {
          body: {
            name: 'bad-2',
            type: 'http',
            credentials: [{ kind: 'sometimes', authSchemeConfigId: 'oauth', secret: leaked }],
          },
        }),
        await app.call('POST', CONNECTIONS, {
          body: { name: 'bad-3', type: 'http', connectorId: 'missing', content: { password: leaked } },
        }),
        await app.call('POST', CONNECTIONS, {
          body: {
            name: 'bad-4',
            type: 'http',
            credentials: [{ kind: 'action', authSchemeConfigId: 'oauth', secret: long }],
          },
        }),
        await app.call('POST', CONNECTIONS, {
          body: `{"name":"bad-5","type":"http","content":{"password":"${leaked}"},}`,
        }),
        await app.call('PATCH', `${CONNECTIONS}/${created.id}`, { body: `{"content":{"password":"${leaked}"` }),
        await app.call('POST', CONNECTORS, {
          body: {
            id: 'bad-config',
            name: 'x',
            authSchemeConfigs: [{ id: 'o', schemeType: 'oauth9', config: { clientSecret: leaked } }],
          },
        }),
        // 409: a duplicate name.
        await app.call('POST', CONNECTIONS, {
          body: { ...connectionBody('host', 'errors'), content: { password: leaked } },
        }),
        // 412: a stale If-Match.
        await app.call('PUT', `${CONNECTIONS}/${created.id}`, {
          body: { ...read.body, content: { password: leaked } },
          headers: { 'if-match': '"1-stale"' },
        }),
        // 404: nothing to write to.
        await app.call('PUT', `${CONNECTIONS}/999999`, {
          body: { name: 'x', type: 'http', content: { password: leaked } },
        }),
        // 415: the wrong media type.
        await app.call('PUT', `${CONNECTIONS}/${created.id}`, {
          body: JSON.stringify({ name: 'x', type: 'http', content: { password: leaked } }),
          contentType: 'text/plain',
        }),
      ];
      assert.deepEqual(
        replies.map((r) => r.status),
        [400, 400, 400, 400, 400, 400, 400, 409, 412, 404, 415],
      );
      for (const reply of replies) {
        assert.match(String(reply.headers['content-type']), /^application\/problem\+json/);
        assertNoPlaintext(reply.text, [leaked, long, PASSWORD, CRED_ACTION], `a ${reply.status} response`);
      }
      const raw = await rawConnection(app, created.id);
      assert.equal(
        await openStored(app.db, app.vault, raw.content.password),
        PASSWORD,
        'no failed write touched the stored secret',
      );
    });
  });

  describe(`secrets in logs [${engine}]`, () => {
    let store: TestStore;
    let app: App;
    const chunks: string[] = [];

    before(async () => {
      store = await createTestStore(engine);
      const config = loadConfig({ ...store.env, LOG_LEVEL: 'trace', PLUGBOARD_ADMIN_KEY: OWNER_KEY });
      const stream = new Writable({
        write(chunk, _encoding, callback) {
          chunks.push(String(chunk));
          callback();
        },
      });
      app = await createApp(config, { logger: pino({ level: 'trace' }, stream) });
    });
    after(async () => {
      await app?.close();
      await store?.drop();
    });

    it('never writes a plaintext secret to the log, on successful and failed requests alike', async () => {
      const secrets = [PASSWORD, CRED_ACTION, CLIENT_SECRET, 'pw-Tz18-log-only'];
      const statuses: number[] = [];
      const record = (reply: Reply) => {
        statuses.push(reply.status);
        assertNoPlaintext(reply.text, secrets, `a ${reply.status} response`);
        return reply;
      };
      record(await inject(app, 'POST', CONNECTORS, { body: hostConnector('log-host') }));
      const created = record(await inject(app, 'POST', CONNECTIONS, { body: connectionBody('log-host', 'logged') }));
      const url = `${CONNECTIONS}/${created.body.id}`;
      const read = record(await inject(app, 'GET', url));
      record(
        await inject(app, 'PUT', url, {
          body: { ...read.body, content: { ...read.body.content, password: 'pw-Tz18-log-only' } },
        }),
      );
      record(await inject(app, 'PATCH', url, { body: { content: { password: PASSWORD } } }));
      record(
        await inject(app, 'PATCH', `${CONNECTORS}/log-host/auth-scheme-configs/oauth`, {
          body: { config: { clientSecret: CLIENT_SECRET } },
        }),
      );
      record(
        await inject(app, 'POST', CONNECTIONS, { body: { ...connectionBody('log-host', 'bad'), colour: 'blue' } }),
      );
      record(await inject(app, 'POST', CONNECTIONS, { body: `{"name":"bad","content":{"password":"${PASSWORD}"}` }));
      record(
        await inject(app, 'PUT', url, {
          body: { ...read.body, content: { password: PASSWORD } },
          headers: { 'if-match': '"1-stale"' },
        }),
      );
      record(await inject(app, 'POST', CONNECTIONS, { body: connectionBody('log-host', 'logged') }));
      record(
        await inject(app, 'PATCH', url, {
          body: { credentials: [{ kind: 'action', authSchemeConfigId: 'nope', secret: CRED_ACTION }] },
        }),
      );
      assert.deepEqual(statuses, [201, 201, 200, 200, 200, 200, 400, 400, 412, 409, 400]);

      const log = chunks.join('');
      assert.ok(log.includes('"msg":"request"'), 'the requests were logged');
      assert.ok(log.split('\n').filter((line) => line.includes('"msg":"request"')).length >= statuses.length);
      assertNoPlaintext(log, secrets, 'the log');
      assert.ok(!log.includes(OWNER_KEY), 'the API key is not logged either');
    });
  });

  describe(`master keys [${engine}]`, () => {
    if (engine === 'sqlite') {
      it('writes a master key file with mode 0600 on first start and reads the same key on the next', async () => {
        const store = await createTestStore('sqlite');
        const env = { DATA_DIR: store.env.DATA_DIR!, LOG_LEVEL: 'silent', PLUGBOARD_ADMIN_KEY: OWNER_KEY };
        try {
          const config = loadConfig(env);
          assert.equal(config.masterKeys, undefined);
          const keyFile = join(store.env.DATA_DIR!, 'master.key');
          assert.equal(config.masterKeyFile, keyFile);
          assert.equal(existsSync(keyFile), false);

          const first = await createApp(config);
          let id: number;
          let keyId: string;
          let keyText: string;
          try {
            assert.equal(statSync(keyFile).mode & 0o777, 0o600);
            keyText = readFileSync(keyFile, 'utf8');
            keyId = first.vault.activeKeyId;
            assert.ok(keyText.startsWith(`${keyId}:`));
            const created = await inject(first, 'POST', CONNECTIONS, {
              body: { name: 'kept', type: 'http', content: { token: 'tok-Rr40-across-restart' } },
            });
            assert.equal(created.status, 201, created.text);
            id = created.body.id;
          } finally {
            await first.close();
          }

          const second = await createApp(loadConfig(env));
          try {
            assert.equal(readFileSync(keyFile, 'utf8'), keyText, 'the key file is not rewritten');
            assert.equal(statSync(keyFile).mode & 0o777, 0o600);
            assert.equal(second.vault.activeKeyId, keyId);
            const raw = await rawConnection(second, id);
            assert.equal(second.vault.keyIdOf(raw.content.token), keyId);
            assert.equal(await openStored(second.db, second.vault, raw.content.token), 'tok-Rr40-across-restart');
            // Writing the same plaintext again is recognised (it decrypts), so nothing changes.
            const again = await inject(second, 'PATCH', `${CONNECTIONS}/${id}`, {
              body: { content: { token: 'tok-Rr40-across-restart' } },
            });
            assert.equal(again.status, 200, again.text);
            assert.equal(again.body.revision, 1);
          } finally {
            await second.close();
          }
        } finally {
          await store.drop();
        }
      });
    } else {
      it('refuses a PostgreSQL configuration without PLUGBOARD_MASTER_KEYS', () => {
        assert.throws(
          () => loadConfig({ DATA_DIR: '/tmp/plugboard-unused', DATABASE_URL: TEST_DATABASE_URL, LOG_LEVEL: 'silent' }),
          (error: unknown) => {
            assert.ok(error instanceof ConfigError);
            assert.ok(
              error.problems.some((p) => p.includes('PLUGBOARD_MASTER_KEYS')),
              error.message,
            );
            return true;
          },
        );
      });
    }
  });
}
