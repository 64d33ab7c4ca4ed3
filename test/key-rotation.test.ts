// Master-key rotation without downtime (docs/operations.md): `keys status` counts the sealed values per key id,
// `keys rewrap` moves them onto the active key in short batches while a server keeps writing, and the old
// key can then be removed with every secret still readable.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { loadConfig } from '../src/config.js';
import { createApp, openConfiguredDb, type App } from '../src/app.js';
import { listSealed } from '../src/domain/secrets.js';
import { createKeyRotationService, type KeyStatus } from '../src/services/key-rotation-service.js';
import { createVault, type MasterKey, type Vault } from '../src/services/vault.js';
import type { Db } from '../src/storage/database.js';
import { ENGINES, OWNER_KEY, createTestStore, type TestStore } from './support/stores.js';
import { runCli, startCli } from './support/cli-process.js';
import { openStored, placeOfStored, sealedPlaces } from './support/sealed.js';

const WS = '/api/v1/workspaces/default';
/** The writers here go as fast as the server lets them; request rate limits are not what is under test. */
const NO_RATE_LIMITS = { RATE_LIMIT_WRITE_PER_SECOND: '0', RATE_LIMIT_READ_PER_SECOND: '0' };

/** A master key both as a PLUGBOARD_MASTER_KEYS entry and as a vault takes it. */
function masterKey(id: string): { entry: string; key: MasterKey } {
  const key = randomBytes(32);
  return { entry: `${id}:${key.toString('base64')}`, key: { id, key } };
}

const countsOf = (status: KeyStatus) => Object.fromEntries(status.keys.map((k) => [k.keyId, k.values]));

/** A connector whose auth-scheme config holds a client secret: the third column that keeps sealed values. */
const connectorBody = (clientSecret: string) => ({
  id: 'rotated',
  name: 'Rotated',
  authSchemeConfigs: [
    {
      id: 'oauth',
      schemeType: 'oauth2-client-credentials',
      config: { tokenUrl: 'https://auth.example.com/token', clientId: 'cid', clientSecret },
    },
    { id: 'token', schemeType: 'bearer' },
  ],
});

interface Secrets {
  readonly password: string;
  readonly token: string;
  readonly cred: string;
}

const connectionBody = (name: string, s: Secrets) => ({
  connectorId: 'rotated',
  name,
  type: 'http',
  content: { host: 'h', password: s.password, nested: { token: s.token } },
  credentials: [{ kind: 'action', authSchemeConfigId: 'token', secret: s.cred }],
});

interface Reply {
  readonly status: number;
  readonly body: any;
  readonly text: string;
}

async function call(app: App, method: string, path: string, body?: unknown): Promise<Reply> {
  const response = await app.server.inject({
    method: method as 'GET',
    url: `${WS}${path}`,
    headers: {
      authorization: `Bearer ${OWNER_KEY}`,
      ...(body === undefined
        ? {}
        : { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }),
    },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.statusCode,
    body: response.body ? JSON.parse(response.body) : undefined,
    text: response.body,
  };
}

/** Every stored row that can hold sealed values, and how many audit events there are. */
async function snapshot(db: Db) {
  const connections = await db.kysely
    .selectFrom('connections')
    .select(['id', 'revision', 'updated_at', 'content', 'credentials'])
    .orderBy('id')
    .execute();
  const connectors = await db.kysely
    .selectFrom('connectors')
    .select(['id', 'revision', 'updated_at', 'auth_scheme_configs'])
    .orderBy('id')
    .execute();
  const accessKeys = await db.kysely.selectFrom('access_keys').select(['id', 'secret']).orderBy('id').execute();
  const audit = await db.kysely
    .selectFrom('audit_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return { connections, connectors, accessKeys, audit: Number(audit.n) };
}

type Snapshot = Awaited<ReturnType<typeof snapshot>>;

/** Opens every sealed value of the store with `vault` at its place: each must open, whatever key it names. */
async function assertAllOpen(db: Db, state: Snapshot, vault: Vault): Promise<number> {
  const texts = [
    ...state.connections.flatMap((c) => [c.content, c.credentials]),
    ...state.connectors.map((c) => c.auth_scheme_configs),
    ...state.accessKeys.map((k) => k.secret),
  ];
  const sealed = texts.flatMap((text) => listSealed(JSON.parse(text)));
  const places = await sealedPlaces(db);
  for (const value of sealed)
    assert.doesNotThrow(() => vault.open(value, places.get(value)!), `cannot open ${value.slice(0, 24)}…`);
  return sealed.length;
}

async function assertSecrets(
  db: Db,
  state: Snapshot,
  vault: Vault,
  expected: ReadonlyMap<number, Secrets>,
  clientSecret: string,
): Promise<void> {
  const places = await sealedPlaces(db);
  const open = (sealed: string) => vault.open(sealed, places.get(sealed)!);
  for (const [id, secrets] of expected) {
    const row = state.connections.find((c) => Number(c.id) === id);
    assert.ok(row, `connection ${id} is stored`);
    const content = JSON.parse(row.content);
    assert.equal(open(content.password), secrets.password, `password of ${id}`);
    assert.equal(open(content.nested.token), secrets.token, `nested token of ${id}`);
    assert.equal(open(JSON.parse(row.credentials)[0].secret), secrets.cred, `credential of ${id}`);
  }
  const configs = JSON.parse(state.connectors[0]!.auth_scheme_configs);
  assert.equal(open(configs[0].config.clientSecret), clientSecret);
}

for (const engine of ENGINES) {
  describe(`keys status and rewrap on the store [${engine}]`, () => {
    const OLD = masterKey('old');
    const NEW = masterKey('new');
    const tag = randomBytes(6).toString('hex');
    const clientSecret = `cs-${tag}`;
    const expected = new Map<number, Secrets>();
    let accessKeySecret: string;
    let store: TestStore;
    let app: App | undefined;

    /** (Re)starts the app in process on the same store with these master keys. */
    async function restart(keys: string): Promise<App> {
      await app?.close();
      app = await createApp(
        loadConfig({ ...store.env, ...NO_RATE_LIMITS, PLUGBOARD_MASTER_KEYS: keys, PLUGBOARD_ADMIN_KEY: OWNER_KEY }),
      );
      return app;
    }

    const rotation = (keys: MasterKey[]) => createKeyRotationService({ db: app!.db, vault: createVault(keys) });

    async function createConnection(name: string): Promise<number> {
      const secrets = { password: `pw-${tag}-${name}`, token: `tk-${tag}-${name}`, cred: `cr-${tag}-${name}` };
      const reply = await call(app!, 'POST', '/connections', connectionBody(name, secrets));
      assert.equal(reply.status, 201, reply.text);
      expected.set(reply.body.id, secrets);
      return reply.body.id;
    }

    before(async () => {
      store = await createTestStore(engine);
    });
    after(async () => {
      await app?.close();
      await store?.drop();
    });

    it('counts the sealed values of every column per key id, after writes with "old" and then with "new,old"', async () => {
      await restart(OLD.entry);
      assert.equal((await call(app!, 'POST', '/connectors', connectorBody(clientSecret))).status, 201);
      for (const name of ['a', 'b', 'c']) await createConnection(name);
      const accessKey = await call(app!, 'POST', '/access-keys', { kind: 'alibaba', name: 'signer' });
      assert.equal(accessKey.status, 201, accessKey.text);
      accessKeySecret = accessKey.body.secret;
      let status = await rotation([OLD.key]).status();
      assert.equal(status.activeKeyId, 'old');
      assert.deepEqual(countsOf(status), { old: 11 });
      assert.deepEqual(status.rows, { total: 5, withSealedValues: 5, toRewrap: 0 });

      await restart(`${NEW.entry},${OLD.entry}`);
      for (const name of ['d', 'e']) await createConnection(name);
      const first = [...expected.keys()][0]!;
      const password = `pw-${tag}-a-changed`;
      assert.equal((await call(app!, 'PATCH', `/connections/${first}`, { content: { password } })).status, 200);
      expected.set(first, { ...expected.get(first)!, password });

      status = await rotation([NEW.key, OLD.key]).status();
      assert.equal(status.activeKeyId, 'new');
      assert.deepEqual(status.keys, [
        { keyId: 'new', values: 7, isActive: true, isConfigured: true },
        { keyId: 'old', values: 10, isActive: false, isConfigured: true },
      ]);
      assert.deepEqual(status.rows, { total: 7, withSealedValues: 7, toRewrap: 5 });
      assert.equal(status.unrecognised, 0);
    });

    it('refuses to rewrap when values use a key that is not configured, naming it and writing nothing', async () => {
      const before = await snapshot(app!.db);
      const onlyNew = rotation([NEW.key]);
      assert.deepEqual(
        (await onlyNew.status()).keys.find((k) => k.keyId === 'old'),
        { keyId: 'old', values: 10, isActive: false, isConfigured: false },
      );
      await assert.rejects(onlyNew.rewrap({ batchSize: 2 }), /"old" \(10 values\)/);
      assert.deepEqual(await snapshot(app!.db), before);
    });

    it('re-wraps every value onto the active key, batch by batch, without bumping revisions, timestamps or audit events', async () => {
      const before = await snapshot(app!.db);
      const progress: { table: string; rowsScanned: number }[] = [];
      const result = await rotation([NEW.key, OLD.key]).rewrap({ batchSize: 2, onProgress: (p) => progress.push(p) });
      assert.deepEqual(
        {
          rowsScanned: result.rowsScanned,
          rowsRewrapped: result.rowsRewrapped,
          valuesRewrapped: result.valuesRewrapped,
          retries: result.retries,
        },
        { rowsScanned: 7, rowsRewrapped: 5, valuesRewrapped: 10, retries: 0 },
      );
      assert.deepEqual(countsOf(result.after), { new: 17, old: 0 });
      assert.deepEqual(
        progress.map((p) => `${p.table}:${p.rowsScanned}`),
        ['connections:2', 'connections:4', 'connections:5', 'connectors:6', 'access_keys:7'],
      );

      const after = await snapshot(app!.db);
      assert.equal(after.audit, before.audit);
      const keep = (s: Snapshot) =>
        [...s.connections, ...s.connectors].map((r) => `${r.id} ${r.revision} ${r.updated_at}`);
      assert.deepEqual(keep(after), keep(before));
      await assertSecrets(app!.db, after, createVault([NEW.key]), expected, clientSecret);
      assert.equal(
        await openStored(app!.db, createVault([NEW.key]), JSON.parse(after.accessKeys[0]!.secret)),
        accessKeySecret,
      );
      assert.equal(await assertAllOpen(app!.db, after, createVault([NEW.key])), 17);

      const again = await rotation([NEW.key, OLD.key]).rewrap({ batchSize: 2 });
      assert.equal(again.valuesRewrapped, 0);
      assert.deepEqual(await snapshot(app!.db), after);
    });

    // Only PostgreSQL lets a write in between: a SQLite batch holds the write lock from its read to its commit.
    if (engine === 'postgres')
      it('re-reads and re-wraps a row that a concurrent write changed after the batch read it', async () => {
        await restart(OLD.entry);
        const id = await createConnection('raced');
        await restart(`${NEW.entry},${OLD.entry}`);
        const row = await app!.db.kysely
          .selectFrom('connections')
          .select('content')
          .where('id', '=', id)
          .executeTakeFirstOrThrow();
        // A node that still seals with "old" writes a new password while the rewrap runs.
        const racedPassword = `pw-${tag}-raced-later`;
        const place = await placeOfStored(app!.db, JSON.parse(row.content).password);
        const written = JSON.stringify({
          ...JSON.parse(row.content),
          password: createVault([OLD.key]).seal(racedPassword, place),
        });

        const side = new pg.Client({ connectionString: store.env.DATABASE_URL });
        await side.connect();
        try {
          await side.query('begin');
          await side.query('update connections set content = $1 where id = $2', [written, id]);
          const rewrap = rotation([NEW.key, OLD.key]).rewrap({ batchSize: 100 });
          // Commit only once the rewrap's compare-and-swap waits on our row lock: it has read the old text.
          const deadline = Date.now() + 10_000;
          for (;;) {
            const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
              where wait_event_type = 'Lock' and query like 'update "connections" set "content"%'`.execute(
              app!.db.kysely,
            );
            if (rows[0]!.n > 0) break;
            assert.ok(Date.now() < deadline, 'the rewrap never waited on the locked row');
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          await side.query('commit');
          const result = await rewrap;
          assert.ok(result.retries >= 1, `retries: ${result.retries}`);
          assert.equal(countsOf(result.after).old, 0);
        } finally {
          await side.end();
        }
        const content = JSON.parse((await snapshot(app!.db)).connections.find((c) => Number(c.id) === id)!.content);
        const onlyNew = createVault([NEW.key]);
        assert.equal(
          await openStored(app!.db, onlyNew, content.password),
          racedPassword,
          'the concurrent write survives',
        );
        assert.equal(await openStored(app!.db, onlyNew, content.nested.token), expected.get(id)!.token);
      });
  });

  // The server listens on a real port in this process; the rewrap is a separate process, as an operator runs it.
  describe(`rotation under load, with keys rewrap run by an operator [${engine}]`, () => {
    const OLD = masterKey('old');
    const NEW = masterKey('new');
    const tag = randomBytes(6).toString('hex');
    const adminKey = `pbk_rotation_${tag}_owner`;
    const clientSecret = `cs-${tag}`;
    /** The last acknowledged value of every field the writers change, per connection id. */
    const acked = new Map<number, Secrets & { database: string | undefined; description: string | null }>();
    let store: TestStore;
    let server: { app: App; url: string } | undefined;

    const env = (keys: string) => ({
      ...store.env,
      ...NO_RATE_LIMITS,
      PLUGBOARD_MASTER_KEYS: keys,
      PLUGBOARD_ADMIN_KEY: adminKey,
    });

    async function restart(keys: string): Promise<void> {
      await server?.app.close();
      server = undefined;
      const app = await createApp(loadConfig(env(keys)));
      server = { app, url: await app.server.listen({ port: 0, host: '127.0.0.1' }) };
    }

    async function api(method: string, path: string, body?: unknown): Promise<Reply> {
      const response = await fetch(`${server!.url}${WS}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminKey}`,
          ...(body === undefined
            ? {}
            : { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
    }

    before(async () => {
      store = await createTestStore(engine);
    });
    after(async () => {
      await server?.app.close();
      await store?.drop();
    });

    it('stores 50 connections with secrets under the old key', async () => {
      await restart(OLD.entry);
      assert.equal((await api('POST', '/connectors', connectorBody(clientSecret))).status, 201);
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const secrets = { password: `pw-${tag}-${i}`, token: `tk-${tag}-${i}`, cred: `cr-${tag}-${i}` };
          const reply = await api('POST', '/connections', connectionBody(`conn-${i}`, secrets));
          assert.equal(reply.status, 201, reply.text);
          acked.set(reply.body.id, { ...secrets, database: undefined, description: null });
        }),
      );
      assert.deepEqual(
        countsOf(await createKeyRotationService({ db: server!.app.db, vault: server!.app.vault }).status()),
        { old: 151 },
      );
    });

    it('keys rewrap exits non-zero and names the old key when it is not configured', async () => {
      const run = await runCli(['keys', 'rewrap'], env(NEW.entry));
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /"old" \(151 values\)/);
    });

    it('loses no acknowledged write while keys rewrap --batch-size 7 runs beside a writing server', async (t) => {
      await restart(`${NEW.entry},${OLD.entry}`);
      const failures: string[] = [];
      let writes = 0;
      let stopping = false;
      const ids = [...acked.keys()];
      // One writer per connection, so that its last acknowledged value is the stored one.
      const writer = async (mine: number[]) => {
        for (let n = 0; !stopping; n++) {
          const id = mine[n % mine.length]!;
          const value = `${tag}-${id}-${n}`;
          const current = acked.get(id)!;
          const [patch, next] =
            n % 3 === 0
              ? [{ content: { password: `pw-${value}` } }, { ...current, password: `pw-${value}` }]
              : n % 3 === 1
                ? [
                    { credentials: [{ kind: 'action', authSchemeConfigId: 'token', secret: `cr-${value}` }] },
                    { ...current, cred: `cr-${value}` },
                  ]
                : [
                    { description: `d-${value}`, content: { database: `db-${value}` } },
                    { ...current, description: `d-${value}`, database: `db-${value}` },
                  ];
          try {
            const reply = await api('PATCH', `/connections/${id}`, patch);
            if (reply.status === 200) {
              acked.set(id, next);
              writes++;
            } else failures.push(`PATCH ${id}: ${reply.status} ${reply.text}`);
          } catch (error) {
            failures.push(`PATCH ${id}: ${(error as Error).message}`);
          }
        }
      };
      const writers = [0, 1, 2, 3].map((w) => writer(ids.filter((_, i) => i % 4 === w)));
      const rewrap = startCli(['keys', 'rewrap', '--batch-size', '7'], env(`${NEW.entry},${OLD.entry}`));
      const writesAtStart = writes;
      const run = await rewrap.exited;
      const writesDuringRewrap = writes - writesAtStart;
      stopping = true;
      await Promise.all(writers);

      assert.deepEqual(failures, []);
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      assert.ok(writesDuringRewrap > 0, 'the server acknowledged writes while the rewrap ran');
      assert.ok((run.stdout.match(/^connections: \d+ rows scanned/gm) ?? []).length >= 7, run.stdout);
      assert.match(run.stdout, /^done: \d+ values in \d+ of 51 rows re-wrapped/m);
      t.diagnostic(
        `${writesDuringRewrap} writes acknowledged while the rewrap ran; ${run.stdout.match(/^done: .*$/m)![0]}`,
      );

      const status = await runCli(['keys', 'status'], env(`${NEW.entry},${OLD.entry}`));
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /^old\s+0$/m);
      assert.match(status.stdout, /^new\s+151\s+\(active\)$/m);
      assert.match(status.stdout, /^active key: new$/m);
    });

    it('with only the new key, every secret opens to its last acknowledged value', async () => {
      await restart(NEW.entry);
      const first = [...acked.keys()][0]!;
      const password = `pw-${tag}-after-removal`;
      const patched = await api('PATCH', `/connections/${first}`, { content: { password } });
      assert.equal(patched.status, 200, patched.text);
      acked.set(first, { ...acked.get(first)!, password });

      const db = openConfiguredDb(loadConfig(env(NEW.entry)));
      try {
        const state = await snapshot(db);
        const onlyNew = createVault([NEW.key]);
        assert.equal(await assertAllOpen(db, state, onlyNew), 151);
        await assertSecrets(db, state, onlyNew, acked, clientSecret);
        for (const [id, values] of acked) {
          const row = state.connections.find((c) => Number(c.id) === id)!;
          assert.equal(JSON.parse(row.content).database, values.database);
        }
        const descriptions = await db.kysely.selectFrom('connections').select(['id', 'description']).execute();
        for (const row of descriptions) assert.equal(row.description, acked.get(Number(row.id))!.description);
      } finally {
        await db.close();
      }
    });
  });
}

describe('keys commands', () => {
  it('explain themselves with --help', async () => {
    const [status, rewrap] = await Promise.all([
      runCli(['keys', 'status', '--help'], {}),
      runCli(['keys', 'rewrap', '--help'], {}),
    ]);
    assert.equal(status.code, 0);
    assert.match(status.stdout, /Usage: plugboard keys status/);
    assert.match(status.stdout, /--database-url/);
    assert.equal(rewrap.code, 0);
    assert.match(rewrap.stdout, /--batch-size <n>/);
    assert.match(rewrap.stdout, /--data-dir/);
  });
});
