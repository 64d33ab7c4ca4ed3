// The signing-key lookup every Alibaba- or Huawei-signed request makes: remembered per node (sealed) like an API
// key's, and dropped the moment a change to the key or its principal commits on this node, or, on another node of
// the same PostgreSQL store, once PostgreSQL's notification of it arrives.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createApp, loadMasterKeys, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ACCESS_KEY_SECRET_PATH } from '../src/domain/sealed-places.js';
import { createVault } from '../src/services/vault.js';
import { ENGINES, OWNER_KEY, TEST_DATABASE_URL, startTestApp, type TestApp } from './support/stores.js';

const WS = '/api/v1/workspaces/default';

type Lookups = App['services']['accessKeys'];

async function createKey(app: TestApp, kind: 'alibaba' | 'huawei') {
  const reply = await app.call('POST', `${WS}/access-keys`, { body: { name: `${kind} signer`, kind, role: 'editor' } });
  assert.equal(reply.status, 201, reply.text);
  return reply.body as { id: string; secret: string; principalId: string };
}

/** The lookup a request signed with this kind of key makes. */
const lookup = (keys: Lookups, kind: 'alibaba' | 'huawei', id: string) =>
  kind === 'alibaba' ? keys.findAccessKey(id) : keys.findAkSk(id);

/** A key's secret replaced in the store as `keys rewrap` replaces it: sealed anew for the same place. */
async function replaceSecret(app: TestApp, id: string, secret: string) {
  const vault = createVault(loadMasterKeys(app.config));
  const sealed = vault.seal(secret, { workspaceUid: '', resourceUid: id, path: ACCESS_KEY_SECRET_PATH });
  await app.db.kysely
    .updateTable('access_keys')
    .set({ secret: JSON.stringify(sealed) })
    .where('id', '=', id)
    .execute();
}

/** What a change on node A must do to a key that node B (or A itself) remembers: the lookup then answers `gone`. */
const CHANGES: readonly {
  readonly name: string;
  readonly change: (app: TestApp, key: { id: string; principalId: string }) => Promise<void>;
  readonly gone: (found: Awaited<ReturnType<Lookups['findAccessKey']>>) => boolean;
}[] = [
  {
    name: 'disabled',
    change: async (app, key) => {
      const reply = await app.call('PATCH', `${WS}/access-keys/${key.id}`, { body: { status: 'disabled' } });
      assert.equal(reply.status, 200, reply.text);
    },
    gone: (found) => found === undefined,
  },
  {
    name: 'deleted',
    change: async (app, key) => {
      assert.equal((await app.call('DELETE', `${WS}/access-keys/${key.id}`)).status, 204);
    },
    gone: (found) => found === undefined,
  },
  {
    name: 'rotated',
    change: (app, key) => replaceSecret(app, key.id, 'x'.repeat(30)),
    gone: (found) => found?.secret === 'x'.repeat(30),
  },
  {
    name: 'left with a disabled principal',
    change: async (app, key) => {
      await app.db.kysely
        .updateTable('principals')
        .set({ status: 'disabled' })
        .where('id', '=', key.principalId)
        .execute();
    },
    gone: (found) => found === undefined,
  },
];

for (const engine of ENGINES) {
  describe(`signing-key lookups on one node [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine);
    });
    after(async () => {
      await app?.stop();
    });

    for (const kind of ['alibaba', 'huawei'] as const) {
      for (const { name, change, gone } of CHANGES) {
        it(`stops signing with a remembered ${kind} key on the very next request once it is ${name}`, async () => {
          const key = await createKey(app, kind);
          for (let i = 0; i < 3; i++)
            assert.equal((await lookup(app.services.accessKeys, kind, key.id))?.secret, key.secret);
          await change(app, key);
          assert.ok(gone(await lookup(app.services.accessKeys, kind, key.id)), 'the next lookup sees the change');
        });
      }
    }

    it('signs again with a key enabled after being disabled, and tells a disabled key from an unknown one', async () => {
      const key = await createKey(app, 'alibaba');
      await app.call('PATCH', `${WS}/access-keys/${key.id}`, { body: { status: 'disabled' } });
      assert.equal((await app.services.accessKeys.findAccessKeyOfAnyStatus(key.id))?.isActive, false);
      assert.equal((await app.services.accessKeys.findAccessKeyOfAnyStatus(key.id))?.isActive, false);
      await app.call('PATCH', `${WS}/access-keys/${key.id}`, { body: { status: 'active' } });
      assert.equal((await app.services.accessKeys.findAccessKeyOfAnyStatus(key.id))?.isActive, true);
      assert.equal((await app.services.accessKeys.findAccessKey(key.id))?.secret, key.secret);
      assert.equal(await app.services.accessKeys.findAkSk(key.id), undefined, 'an Alibaba key is no Huawei AK');
    });
  });
}

// Several nodes share a PostgreSQL store only (an SQLite file belongs to one process).
describe('signing-key lookups on two nodes of one store [postgres]', () => {
  let nodeA: TestApp;
  let nodeB: App;

  before(async () => {
    nodeA = await startTestApp('postgres');
    nodeB = await createApp(loadConfig({ ...nodeA.store.env, PLUGBOARD_ADMIN_KEY: OWNER_KEY }));
  });
  after(async () => {
    await nodeB?.close();
    await nodeA?.stop();
  });

  /** Looks the key up on node B until `done` says it saw the change, or fails after 2 s. */
  async function seenOnB(kind: 'alibaba' | 'huawei', id: string, done: (found: unknown) => boolean) {
    const at = Date.now();
    let found = await lookup(nodeB.services.accessKeys, kind, id);
    while (!done(found) && Date.now() - at < 2000) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      found = await lookup(nodeB.services.accessKeys, kind, id);
    }
    return { found, ms: Date.now() - at };
  }

  /** Node B remembers the key: its listener is up and the key has been read under the current stamp. */
  async function rememberedOnB(kind: 'alibaba' | 'huawei', key: { id: string; secret: string }) {
    const deadline = Date.now() + 5000;
    while (nodeB.db.changes.current() === undefined) {
      if (Date.now() > deadline) throw new Error("node B's change listener did not connect within 5 s");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (let i = 0; i < 3; i++)
      assert.equal((await lookup(nodeB.services.accessKeys, kind, key.id))?.secret, key.secret);
  }

  for (const kind of ['alibaba', 'huawei'] as const) {
    for (const { name, change, gone } of CHANGES) {
      it(`stops signing on node B with the ${kind} key ${name} on node A, once notified`, async (t) => {
        const key = await createKey(nodeA, kind);
        await rememberedOnB(kind, key);
        await change(nodeA, key);
        assert.ok(gone(await lookup(nodeA.services.accessKeys, kind, key.id)), 'node A, at once');
        const { found, ms } = await seenOnB(kind, key.id, (f) => gone(f as never));
        assert.ok(gone(found), 'node B, once notified');
        t.diagnostic(`node B saw the change ${ms} ms after node A committed it`);
      });
    }
  }

  it('serves a key from memory while no table it read changes (a change no trigger announces goes unseen)', async () => {
    const key = await createKey(nodeA, 'alibaba');
    await rememberedOnB('alibaba', key);
    // With the triggers off for this session, PostgreSQL tells no node: node B keeps what it read, which shows
    // that it did not read the store again. The cache's longest age bounds how long such a change can go unseen.
    const schema = /search_path%3D(\w+)/.exec(nodeA.store.env.DATABASE_URL!)![1]!;
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query('set session_replication_role = replica');
      await admin.query(`update ${schema}.access_keys set status = 'disabled' where id = $1`, [key.id]);
    } finally {
      await admin.end();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await nodeB.services.accessKeys.findAccessKey(key.id))?.secret, key.secret);
    // A change to a table the lookup did not read (access clients, which node B hears of) leaves it remembered.
    const client = await nodeA.call('POST', `${WS}/access-clients`, { body: { name: 'Agent' } });
    assert.equal(client.status, 201, client.text);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await nodeB.services.accessKeys.findAccessKey(key.id))?.secret, key.secret);
  });
});
