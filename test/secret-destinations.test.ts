// A secret goes only where it was entered to go: an editor who moves a connection or a toolset to a listener of
// their own while keeping the stored secret by its mask is refused, and nothing reaches the listener; a sealed
// value copied from storage is refused on input and never opened; secrets inside URLs, headers and DSNs are
// masked for viewers and kept when written back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config.js';
import { createApp } from '../src/app.js';
import { MASK, listSealed } from '../src/domain/secrets.js';
import { createConnectionTester } from '../src/services/connection-tester.js';
import { createKeyRotationService } from '../src/services/key-rotation-service.js';
import { createVault, type Vault } from '../src/services/vault.js';
import { ENGINES, OWNER_KEY, createTestStore, startTestApp, type Reply, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';
import { startUpstreamApi, type UpstreamApi } from './support/upstream-api.js';
import { defaultEgress } from './support/egress.js';
import { openStored } from './support/sealed.js';

const WS = '/api/v1/workspaces/default';
const CONNECTIONS = `${WS}/connections`;
const TOOLSETS = `${WS}/toolsets`;
const RETARGET = /enter the secret again when you change where it is sent/;
const OWNER_SECRET = 'owner-Sx81-kept-secret';
const API_KEY = 'api-Kq27-upstream-key';

/** A TCP listener of the attacker's that records every connection and byte it receives. */
interface Listener {
  readonly port: number;
  readonly url: string;
  connections: number;
  received: string;
  close(): Promise<void>;
}

async function listen(): Promise<Listener> {
  const sockets = new Set<Socket>();
  const state = { connections: 0, received: '' };
  const server: Server = createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => (state.received += chunk.toString('latin1')));
    // Hang up at once: the probes then fail fast instead of waiting out their timeout.
    setTimeout(() => socket.destroy(), 50);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/** The connection types with a secret, each stored pointing at a closed port, and how to move it. */
const CASES = [
  {
    type: 'mysql',
    content: { host: '127.0.0.1', port: 9, username: 'app', password: OWNER_SECRET, database: 'shop' },
    secret: '/content/password',
  },
  {
    type: 'postgresql',
    content: { host: '127.0.0.1', port: 9, username: 'app', password: OWNER_SECRET },
    secret: '/content/password',
  },
  { type: 'redis', content: { host: '127.0.0.1', port: 9, password: OWNER_SECRET }, secret: '/content/password' },
  { type: 'redis', content: { host: '127.0.0.1', port: 9, auth: OWNER_SECRET }, secret: '/content/auth' },
  {
    type: 'http',
    content: { url: 'http://127.0.0.1:9/v1', bearerToken: OWNER_SECRET },
    secret: '/content/bearerToken',
  },
] as const;

const moveTo = (type: string, listener: Listener) =>
  type === 'http' ? { url: `${listener.url}/v1` } : { host: '127.0.0.1', port: listener.port };

function assertRetargetRefused(reply: Reply, fields: readonly string[]): void {
  assert.equal(reply.status, 400, reply.text);
  assert.equal(reply.body.code, 'validation-failed');
  assert.match(reply.body.detail, RETARGET);
  const paths = reply.body.errors.map((e: { path: string }) => e.path);
  for (const field of fields) assert.ok(paths.includes(field), `${field} is named in ${reply.text}`);
  assert.ok(!reply.text.includes(OWNER_SECRET));
}

for (const engine of ENGINES) {
  describe(`secrets bound to their destination [${engine}]`, () => {
    let app: TestApp;
    let editor: string;
    let viewer: string;
    let listener: Listener;

    const keyOf = async (role: string) => {
      const reply = await app.call('POST', `${WS}/api-keys`, { body: { name: `${role} key`, role } });
      assert.equal(reply.status, 201, reply.text);
      return reply.body.key as string;
    };
    const createConnection = async (body: object) => {
      const reply = await app.call('POST', CONNECTIONS, { body });
      assert.equal(reply.status, 201, reply.text);
      return reply.body;
    };
    const rawContent = async (id: number) =>
      (await app.db.kysely.selectFrom('connections').select('content').where('id', '=', id).executeTakeFirstOrThrow())
        .content;

    before(async () => {
      app = await startTestApp(engine, {
        env: { CONNECTION_TEST_TIMEOUT_MS: '1500', RECONCILE_INTERVAL_MS: '3600000' },
      });
      editor = await keyOf('editor');
      viewer = await keyOf('viewer');
      listener = await listen();
    });
    after(async () => {
      await app?.stop();
      await listener?.close();
    });

    describe('moving a connection while keeping its secret', () => {
      for (const [i, { type, content, secret }] of CASES.entries()) {
        it(`refuses to send a kept ${type} ${secret.split('/').pop()} to a new host, on PATCH, PUT and PATCH with a test`, async () => {
          const created = await createConnection({ name: `moved-${i}`, type, content });
          const url = `${CONNECTIONS}/${created.id}`;
          const moved = moveTo(type, listener);
          // The host stays 127.0.0.1: only the port (or the url) moves.
          const movedFields = Object.keys(moved)
            .filter((k) => k !== 'host')
            .map((k) => `/content/${k}`);
          const stored = await rawContent(created.id);
          listener.connections = 0;
          listener.received = '';
          // PATCH: the omitted secret is kept.
          assertRetargetRefused(await app.call('PATCH', url, { key: editor, body: { content: moved } }), [
            ...movedFields,
            secret,
          ]);
          assertRetargetRefused(
            await app.call('PATCH', `${url}?test=true`, { key: editor, body: { content: moved } }),
            [secret],
          );
          // PUT: the secret written back as the mask, as a GET shows it.
          const shown = (await app.call('GET', url, { key: editor })).body;
          assertRetargetRefused(
            await app.call('PUT', url, {
              key: editor,
              body: { name: shown.name, type, content: { ...shown.content, ...moved } },
            }),
            [secret],
          );
          const tested = await app.call('POST', `${url}/test`, { key: editor });
          assert.equal(tested.status, 200, tested.text);
          assert.equal(listener.connections, 0, 'the listener saw no connection');
          assert.equal(listener.received, '');
          assert.equal(await rawContent(created.id), stored, 'nothing was written');

          // Entering the secret again along with the new destination is allowed, and does reach it.
          const key = secret.split('/').pop()!;
          const entered = await app.call('PATCH', url, {
            key: editor,
            body: { content: { ...moved, [key]: 'the-editors-own' } },
          });
          assert.equal(entered.status, 200, entered.text);
          await app.call('POST', `${url}/test`, { key: editor });
          assert.ok(listener.connections > 0, 'the listener is reachable: the refusals above were not an accident');
        });
      }

      it('counts credential secrets kept by their mask, and a change of TLS, as moving the secrets', async () => {
        await app.call('POST', `${WS}/connectors`, {
          body: {
            id: 'with-key',
            name: 'With key',
            authSchemeConfigs: [{ id: 'key', schemeType: 'api-key', config: { name: 'X-Api-Key', in: 'header' } }],
          },
        });
        const created = await createConnection({
          connectorId: 'with-key',
          name: 'creds',
          type: 'postgresql',
          content: { host: '127.0.0.1', port: 9, username: 'app', password: OWNER_SECRET },
          credentials: [{ kind: 'action', authSchemeConfigId: 'key', secret: OWNER_SECRET }],
        });
        const url = `${CONNECTIONS}/${created.id}`;
        const moved = await app.call('PATCH', url, {
          key: editor,
          body: { content: { port: listener.port, password: 'new-one' } },
        });
        assertRetargetRefused(moved, ['/content/port', '/credentials/0/secret']);
        assertRetargetRefused(await app.call('PATCH', url, { key: editor, body: { content: { tls: false } } }), [
          '/content/tls',
        ]);
        const renamed = await app.call('PATCH', url, {
          key: editor,
          body: { content: { database: 'other' }, description: 'same host' },
        });
        assert.equal(renamed.status, 200, 'a change that moves nothing keeps the secrets');
      });

      it('refuses a new tokenUrl for an auth-scheme config whose client secret is kept, on the config routes', async () => {
        const config = { tokenUrl: 'https://auth.example/token', clientId: 'cid', clientSecret: OWNER_SECRET };
        const created = await app.call('POST', `${WS}/connectors`, {
          body: {
            id: 'oauth-host',
            name: 'OAuth host',
            authSchemeConfigs: [{ id: 'oauth', schemeType: 'oauth2-client-credentials', config }],
          },
        });
        assert.equal(created.status, 201, created.text);
        const url = `${WS}/connectors/oauth-host/auth-scheme-configs/oauth`;
        const moved = { tokenUrl: `${listener.url}/token` };
        assertRetargetRefused(await app.call('PATCH', url, { key: editor, body: { config: moved } }), [
          '/config/tokenUrl',
          '/config/clientSecret',
        ]);
        const shown = (await app.call('GET', url, { key: editor })).body;
        assertRetargetRefused(
          await app.call('PUT', url, {
            key: editor,
            body: { schemeType: shown.schemeType, config: { ...shown.config, ...moved } },
          }),
          ['/config/clientSecret'],
        );
        const entered = await app.call('PATCH', url, {
          key: editor,
          body: { config: { ...moved, clientSecret: 'the-editors-own' } },
        });
        assert.equal(entered.status, 200, entered.text);
      });

      it('refuses exactly the writes that move a destination while keeping a secret (property)', async () => {
        const created = await createConnection({
          name: 'property',
          type: 'postgresql',
          content: {
            host: 'db.internal',
            port: 5432,
            username: 'app',
            password: OWNER_SECRET,
            database: 'shop',
            tls: true,
          },
        });
        const url = `${CONNECTIONS}/${created.id}`;
        let round = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.boolean(),
            fc.boolean(),
            fc.boolean(),
            fc.boolean(),
            fc.boolean(),
            async (host, port, tls, database, keep) => {
              const current = (await app.call('GET', url)).body;
              round++;
              const content = {
                ...current.content,
                ...(host ? { host: `db-${round}.internal` } : {}),
                ...(port ? { port: current.content.port + 1 } : {}),
                ...(tls ? { tls: !current.content.tls } : {}),
                ...(database ? { database: `shop_${round}` } : {}),
                password: keep ? MASK : `entered-${round}`,
              };
              const reply = await app.call('PUT', url, {
                key: editor,
                body: { name: 'property', type: 'postgresql', content },
              });
              if ((host || port || tls) && keep) assertRetargetRefused(reply, []);
              else assert.equal(reply.status, 200, reply.text);
            },
          ),
          { numRuns: 24 },
        );
      });
    });

    describe('sealed values sent by a client', () => {
      it('refuses a pbenc: value copied from storage into a non-secret setting, without echoing it, and the tester never opens it', async () => {
        const created = await createConnection({
          name: 'oracle',
          type: 'postgresql',
          content: { host: '127.0.0.1', port: 5432, username: 'postgres', password: OWNER_SECRET, database: 'test' },
        });
        const sealed = JSON.parse(await rawContent(created.id)).password as string;
        assert.match(sealed, /^pbenc:/);
        const url = `${CONNECTIONS}/${created.id}`;
        for (const reply of [
          await app.call('PATCH', url, { key: editor, body: { content: { database: sealed } } }),
          await app.call('PATCH', url, {
            key: editor,
            body: { content: { database: `x${sealed}` }, description: 'embedded' },
          }),
          await app.call('POST', CONNECTIONS, {
            key: editor,
            body: {
              name: 'copy',
              type: 'postgresql',
              content: { host: '127.0.0.1', username: 'postgres', database: sealed },
            },
          }),
          await app.call('PATCH', url, {
            key: editor,
            body: { credentials: [{ kind: 'action', authSchemeConfigId: 'x', secret: sealed }] },
          }),
        ]) {
          assert.equal(reply.status, 400, reply.text);
          assert.ok(!reply.text.includes(sealed), 'the value is not echoed');
          assert.match(reply.body.errors[0].message, /sealed/);
        }
        // A row written before this rule (or by hand) with a sealed value in a non-secret setting: not opened.
        const stored = JSON.parse(await rawContent(created.id));
        await app.db.kysely
          .updateTable('connections')
          .set({ content: JSON.stringify({ ...stored, database: sealed }) })
          .where('id', '=', created.id)
          .execute();
        const tested = await app.call('POST', `${url}/test`, { key: editor });
        assert.equal(tested.status, 200, tested.text);
        assert.ok(!tested.text.includes(OWNER_SECRET), tested.body.health.message);
      });

      it('has the connection tester open values at secret keys only', async () => {
        const opened: string[] = [];
        const vault = { open: (sealed: string) => (opened.push(sealed), 'plain') } as unknown as Vault;
        const tester = createConnectionTester({ vault, timeoutMs: 200, egress: defaultEgress });
        await tester.test(
          {
            uid: 'cnu_x',
            type: 'redis',
            content: { host: '127.0.0.1', port: 9, password: 'pbenc:v1:k:a:b', username: 'pbenc:v1:k:c:d' },
          },
          undefined,
          'wsu_x',
        );
        assert.deepEqual(opened, ['pbenc:v1:k:a:b']);
      });
    });

    describe('secrets inside URLs, headers and DSNs', () => {
      it('shows viewers masks for URL userinfo, token parameters, header settings and DSNs, and keeps them when written back', async () => {
        const content = {
          url: `https://user:${OWNER_SECRET}@api.example/v1?token=${OWNER_SECRET}1&page=2`,
          headers: {
            Authorization: `Bearer ${OWNER_SECRET}2`,
            'X-API-Key': `${OWNER_SECRET}3`,
            Accept: 'application/json',
          },
          dsn: `postgres://app:${OWNER_SECRET}4@db.internal:5432/shop`,
          ado: `Server=db;User Id=app;Password=${OWNER_SECRET}5;`,
        };
        const created = await createConnection({ name: 'embedded', type: 'http', content });
        const url = `${CONNECTIONS}/${created.id}`;
        const seen = await app.call('GET', url, { key: viewer });
        assert.equal(seen.status, 200);
        assert.ok(!seen.text.includes(OWNER_SECRET), seen.text);
        assert.deepEqual(seen.body.content, {
          url: `https://user:${MASK}@api.example/v1?token=${MASK}&page=2`,
          headers: { Authorization: MASK, 'X-API-Key': MASK, Accept: 'application/json' },
          dsn: `postgres://app:${MASK}@db.internal:5432/shop`,
          ado: `Server=db;User Id=app;Password=${MASK};`,
        });
        const listed = await app.call('GET', CONNECTIONS, { key: viewer });
        assert.ok(!listed.text.includes(OWNER_SECRET));
        const raw = await rawContent(created.id);
        assert.ok(!raw.includes(OWNER_SECRET), 'stored sealed');
        const back = await app.call('PUT', url, {
          key: editor,
          body: { name: 'embedded', type: 'http', content: seen.body.content },
        });
        assert.equal(back.status, 200, back.text);
        assert.equal(back.body.revision, created.revision, 'writing back what was read changes nothing');
        assert.equal(await rawContent(created.id), raw);
        const elsewhere = { ...seen.body.content, dsn: `postgres://app:${MASK}@evil.example:5432/shop` };
        assertRetargetRefused(
          await app.call('PUT', url, { key: editor, body: { name: 'embedded', type: 'http', content: elsewhere } }),
          ['/content/dsn'],
        );
      });
    });

    describe('credentials inside toolset URLs', () => {
      it('shows viewers a masked baseUrl and MCP URL, and keeps them when the spec is written back', async () => {
        const detail = `http://127.0.0.1:9/mcp?token=${OWNER_SECRET}&v=1`;
        const baseUrl = `https://bot:${OWNER_SECRET}1@api.example/v1`;
        const mcp = await app.call('POST', TOOLSETS, {
          body: { name: 'relay-token', spec: { schema: { type: 'MCP', detail } } },
        });
        assert.equal(mcp.status, 201, mcp.text);
        const api = await app.call('POST', TOOLSETS, {
          body: {
            name: 'api-userinfo',
            spec: {
              schema: { type: 'OpenAPI', detail: '{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{}}' },
              baseUrl,
            },
          },
        });
        assert.equal(api.status, 201, api.text);
        for (const name of ['relay-token', 'api-userinfo']) {
          const seen = await app.call('GET', `${TOOLSETS}/${name}`, { key: viewer });
          assert.equal(seen.status, 200);
          assert.ok(!seen.text.includes(OWNER_SECRET), seen.text);
          const stored = async () =>
            (
              await app.db.kysely
                .selectFrom('toolsets')
                .select('spec')
                .where('name', '=', name)
                .executeTakeFirstOrThrow()
            ).spec;
          const before = await stored();
          const back = await app.call('PUT', `${TOOLSETS}/${name}`, { key: editor, body: { spec: seen.body.spec } });
          assert.equal(back.status, 200, back.text);
          assert.equal(back.body.generation, seen.body.generation, 'writing back what was read changes nothing');
          assert.equal(await stored(), before);
        }
        assert.equal(
          (await app.call('GET', `${TOOLSETS}/relay-token`, { key: viewer })).body.spec.schema.detail,
          `http://127.0.0.1:9/mcp?token=${MASK}&v=1`,
        );
        assert.equal(
          (await app.call('GET', `${TOOLSETS}/api-userinfo`, { key: viewer })).body.spec.baseUrl,
          `https://bot:${MASK}@api.example/v1`,
        );
        const moved = await app.call('PATCH', `${TOOLSETS}/relay-token`, {
          key: editor,
          body: { spec: { schema: { type: 'MCP', detail: `${listener.url}/mcp?token=${MASK}&v=1` } } },
        });
        assertRetargetRefused(moved, ['/spec/schema/detail']);
      });
    });

    describe('moving a toolset while keeping its API key', () => {
      let upstream: UpstreamApi;
      let attacker: UpstreamApi;
      let base: string;
      let token: string;
      const authConfig = {
        type: 'APIKey',
        parameters: { apiKeyParameter: { in: 'header', key: 'X-Api-Key', value: API_KEY } },
      };

      before(async () => {
        upstream = await startUpstreamApi();
        attacker = await startUpstreamApi();
        base = await app.server.listen({ port: 0, host: '127.0.0.1' });
        const created = await app.call('POST', TOOLSETS, {
          body: { name: 'shop', spec: { schema: { type: 'OpenAPI', detail: upstream.document() }, authConfig } },
        });
        assert.equal(created.status, 201, created.text);
        await settledToolset(app, 'shop');
        const client = await app.call('POST', `${WS}/access-clients`, { body: { name: 'agent', toolsets: ['shop'] } });
        token = client.body.secret;
      });
      after(async () => {
        await upstream?.close();
        await attacker?.close();
      });

      it('refuses a new baseUrl, a document with another server URL, and a new MCP URL while the key is kept', async () => {
        const url = `${TOOLSETS}/shop`;
        assertRetargetRefused(
          await app.call('PATCH', url, { key: editor, body: { spec: { baseUrl: attacker.url } } }),
          ['/spec/baseUrl', '/spec/authConfig/parameters/apiKeyParameter/value'],
        );
        assertRetargetRefused(
          await app.call('PATCH', url, {
            key: editor,
            body: { spec: { schema: { type: 'OpenAPI', detail: attacker.document() } } },
          }),
          ['/spec/schema/detail'],
        );
        const shown = (await app.call('GET', url, { key: editor })).body;
        assertRetargetRefused(
          await app.call('PUT', url, { key: editor, body: { spec: { ...shown.spec, baseUrl: attacker.url } } }),
          ['/spec/baseUrl'],
        );
        const mcp = { ...shown.spec, schema: { type: 'MCP', detail: `${attacker.url}/mcp` } };
        assertRetargetRefused(await app.call('PUT', url, { key: editor, body: { spec: mcp } }), [
          '/spec/schema/detail',
        ]);
        // The same document with a comment added moves nothing.
        const same = await app.call('PATCH', url, {
          key: editor,
          body: { spec: { schema: { type: 'OpenAPI', detail: `${upstream.document()}\n` } } },
        });
        assert.equal(same.status, 200, same.text);
        await settledToolset(app, 'shop');

        const client = new Client({ name: 'agent', version: '1' });
        await client.connect(
          new StreamableHTTPClientTransport(new URL(`${base}/mcp/default/shop`), {
            requestInit: { headers: { authorization: `Bearer ${token}` } },
          }),
        );
        await client.callTool({ name: 'getItem', arguments: { id: '1' } });
        await client.close();
        assert.equal(attacker.seen.length, 0, 'no tool call reached the listener');
        assert.equal(upstream.seen.at(-1)?.headers['x-api-key'], API_KEY);

        const entered = {
          ...authConfig,
          parameters: { apiKeyParameter: { ...authConfig.parameters.apiKeyParameter, value: 'editors-own' } },
        };
        const moved = await app.call('PATCH', url, {
          key: editor,
          body: { spec: { baseUrl: attacker.url, authConfig: entered } },
        });
        assert.equal(moved.status, 200, 'the key entered again goes along');
      });
    });
  });
}

for (const engine of ENGINES) {
  describe(`secrets inside settings under key rotation [${engine}]`, () => {
    it('re-wraps the sealed parts of URLs and connection strings, so they open with the new key alone', async () => {
      const old = { id: 'old', key: randomBytes(32) };
      const next = { id: 'new', key: randomBytes(32) };
      const entry = (k: { id: string; key: Buffer }) => `${k.id}:${k.key.toString('base64')}`;
      const store = await createTestStore(engine);
      const app = await createApp(
        loadConfig({ ...store.env, PLUGBOARD_MASTER_KEYS: entry(old), PLUGBOARD_ADMIN_KEY: OWNER_KEY }),
      );
      try {
        const content = {
          url: `https://bot:${OWNER_SECRET}@api.example/v1?token=${OWNER_SECRET}t`,
          ado: `Server=db;Password=${OWNER_SECRET}p;`,
        };
        const created = await app.server.inject({
          method: 'POST',
          url: CONNECTIONS,
          headers: { authorization: `Bearer ${OWNER_KEY}`, 'content-type': 'application/json' },
          payload: JSON.stringify({ name: 'rotated', type: 'http', content }),
        });
        assert.equal(created.statusCode, 201, created.body);
        const rotation = createKeyRotationService({ db: app.db, vault: createVault([next, old]) });
        assert.equal((await rotation.status()).keys.find((k) => k.keyId === 'old')?.values, 3);
        const result = await rotation.rewrap({ batchSize: 10 });
        assert.equal(result.valuesRewrapped, 3);
        const row = await app.db.kysely
          .selectFrom('connections')
          .select('content')
          .where('id', '=', JSON.parse(created.body).id)
          .executeTakeFirstOrThrow();
        const onlyNew = createVault([next]);
        const opened = await Promise.all(
          listSealed(JSON.parse(row.content)).map((sealed) => openStored(app.db, onlyNew, sealed)),
        );
        assert.deepEqual(opened, [OWNER_SECRET, `${OWNER_SECRET}t`, `${OWNER_SECRET}p`]);
      } finally {
        await app.close();
        await store.drop();
      }
    });
  });
}
