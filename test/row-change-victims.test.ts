// PostgreSQL may fail a write transaction to let others go on: it breaks a deadlock by failing one of its
// transactions (40P01), and at REPEATABLE READ or SERIALIZABLE it fails one that would lock or overwrite a row changed
// since its snapshot (40001). Nothing of a failed transaction is committed, so the writer runs the change again.
// These tests make real victims of the row-change path of every resource (a trigger the test installs on the audit
// table stops the writer's audit insert, with its row written, where the test's own connections can close a lock
// cycle or change a row under its snapshot) and check that each change still lands once, with one audit event.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { sql } from 'kysely';
import { createTestStore, startTestApp, type Reply, type TestApp, type TestStore } from './support/stores.js';
import { RESOURCES, WS, revisionIn, type Resource } from './support/row-resources.js';

/** How many times each change is made a victim before it is let through. */
const VICTIMS = 2;

/** The test store with more server settings for the app's own connections (a DBA's role settings would do the same). */
function withSettings(store: TestStore, settings: string): TestStore {
  const url = new URL(store.env.DATABASE_URL!);
  const options = `${url.searchParams.get('options') ?? ''} ${settings}`;
  url.search = '';
  return { ...store, env: { ...store.env, DATABASE_URL: `${url.href}?options=${encodeURIComponent(options)}` } };
}

/** A connection of the test's own to the app's schema. */
async function connect(store: TestStore): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: store.env.DATABASE_URL });
  await client.connect();
  // Only the app's connections look for deadlocks soon: the victim is always the writer's transaction.
  await client.query(`set deadlock_timeout = '5min'`);
  return client;
}

const pidOf = async (client: pg.Client) =>
  Number((await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid);

/** A request's answer, once it has come. */
function watched(reply: Promise<Reply>) {
  const state: { answer?: Reply } = {};
  void reply.then((answer) => (state.answer = answer));
  return state;
}

/** Waits until a session is waiting for a lock `holder` holds: the writer has reached it (and not answered yet). */
async function waitUntilBlockedBy(observer: pg.Client, holder: number, what: string, request: { answer?: Reply }) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { rows } = await observer.query('select pid from pg_stat_activity where $1 = any(pg_blocking_pids(pid))', [
      holder,
    ]);
    if (rows.length > 0) return;
    assert.equal(request.answer, undefined, `answered before it waited on ${what}: ${request.answer?.text}`);
    assert.ok(Date.now() < deadline, `nobody waited on ${what} within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Asks for an update to the resource and the state and audit trail it must leave when it lands once. */
function resourceCase(app: () => TestApp, resource: Resource) {
  const auditOf = async (id: string) => {
    const audit = resource.auditPath?.(id) ?? `${WS}/audit`;
    const reply = await app().call('GET', `${audit}?resourceType=${resource.type}&resourceId=${id}&limit=200`);
    assert.equal(reply.status, 200, reply.text);
    return (reply.body.items as { action: string; fromRevision: number; toRevision: number }[]).filter(
      (e) => e.action === `${resource.type}:update`,
    );
  };
  return {
    async start(id: string) {
      const before = await app().call('GET', resource.path(id));
      assert.equal(before.status, 200, before.text);
      return revisionIn(before);
    },
    send: (id: string) => app().call(resource.change.method, resource.path(id), { body: resource.change.body }),
    async landedOnce(id: string, start: number, reply: { status: number; text: string; headers: any }) {
      assert.equal(reply.status, 200, reply.text);
      assert.equal(revisionIn(reply), start + 1, 'the change landed once');
      const stored = await app().call('GET', resource.path(id));
      assert.equal(revisionIn(stored), start + 1);
      for (const [field, value] of Object.entries(resource.change.body))
        if (typeof value === 'string') assert.equal(stored.body[field], value);
      const events = await auditOf(id);
      assert.deepEqual(
        events.map((e) => [e.fromRevision, e.toRevision]),
        [[start, start + 1]],
        'one audit event, for the revision it made',
      );
    },
  };
}

describe('deadlock victims among row changes [postgres]', () => {
  let app: TestApp;
  let store: TestStore;
  /** Holds the gate that stops the writer in its audit insert, and watches the locks. */
  let gate: pg.Client;
  /** Holds the lock the writer wants last, then asks for one the writer holds. */
  let rival: pg.Client;
  // Random advisory lock keys: the database is shared with other tests.
  const writerKey = Math.floor(Math.random() * 2 ** 31);
  const gateKey = writerKey + 1;
  const rivalKey = writerKey + 2;

  before(async () => {
    store = await createTestStore('postgres');
    // The writer looks for a deadlock 100 ms after it starts to wait (PostgreSQL's default is 1 s).
    app = await startTestApp('postgres', { store: withSettings(store, '-c deadlock_timeout=100ms') });
    gate = await connect(store);
    rival = await connect(store);
    // Every audit insert takes a lock it holds to the end of its transaction, waits while the gate is held, then
    // takes the rival's lock (at once when free). The writer has locked and written the row by then, in the same
    // transaction or statement. (The rival asks for the writer's lock, not for its row: a victim's next attempt
    // could lock the row again before the rival, waking up, gets it.)
    await gate.query(`
      create function victims_gate() returns trigger language plpgsql as $$
      begin
        perform pg_advisory_xact_lock_shared(${writerKey});
        perform pg_advisory_lock_shared(${gateKey});
        perform pg_advisory_unlock_shared(${gateKey});
        perform pg_advisory_xact_lock_shared(${rivalKey});
        return null;
      end $$;
      create trigger victims_gate after insert on audit_events for each statement execute function victims_gate();
    `);
  });
  after(async () => {
    await gate?.end();
    await rival?.end();
    await app?.stop();
  });

  for (const [index, resource] of RESOURCES.entries()) {
    it(`runs a ${resource.type} change again when PostgreSQL fails it to break a deadlock: it lands once, audited once`, async () => {
      const subject = resourceCase(() => app, resource);
      const id = await resource.create(app, `deadlock-${index}`);
      const start = await subject.start(id);
      const gatePid = await pidOf(gate);
      const rivalPid = await pidOf(rival);
      await gate.query('select pg_advisory_lock($1)', [gateKey]);
      const reply = subject.send(id);
      const request = watched(reply);
      try {
        for (let round = 1; round <= VICTIMS; round++) {
          await rival.query('begin');
          await rival.query('select pg_advisory_xact_lock($1)', [rivalKey]);
          await waitUntilBlockedBy(gate, gatePid, `the gate (round ${round})`, request);
          // The writer waits at the gate, its row written: the rival asks for the writer's lock and waits on it.
          const rivalWaits = rival.query('select pg_advisory_xact_lock($1)', [writerKey]);
          await writerBlocking(gate, rivalPid);
          // Through the gate the writer asks for the rival's lock: a cycle, which the writer finds and breaks by
          // failing itself. The gate closes again behind it (one message: before its next attempt can reach it).
          await gate.query(`select pg_advisory_unlock(${gateKey}); select pg_advisory_lock(${gateKey})`);
          // The rival gets the writer's lock while still holding its own, which the writer waits for: the writer's
          // transaction was rolled back, not committed.
          await rivalWaits;
          const { rows } = await gate.query<{ revision: number }>(
            `select revision from ${resource.row.table} where ${resource.row.where}`,
            [id],
          );
          assert.equal(Number(rows[0]!.revision), start, `round ${round}: the row as it was`);
          await rival.query('rollback');
        }
      } finally {
        await rival.query('rollback');
        await gate.query('select pg_advisory_unlock_all()');
      }
      await subject.landedOnce(id, start, await reply);
    });
  }
});

/** The session `waiter` is waiting for (the writer), once it waits. */
async function writerBlocking(observer: pg.Client, waiter: number): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { rows } = await observer.query<{ blocker: number }>('select unnest(pg_blocking_pids($1)) as blocker', [
      waiter,
    ]);
    if (rows.length > 0) return Number(rows[0]!.blocker);
    assert.ok(Date.now() < deadline, 'the rival did not wait for the writer within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('serialisation victims among row changes [postgres]', () => {
  let app: TestApp;
  let store: TestStore;
  /** Holds the gate that stops the writer in its audit insert, and changes the row it reads next. */
  let gate: pg.Client;
  const gateKey = Math.floor(Math.random() * 2 ** 31);

  before(async () => {
    store = await createTestStore('postgres');
    // At REPEATABLE READ a transaction that locks a row committed after its snapshot is failed with 40001 (at READ
    // COMMITTED it would go on with the newer row instead).
    app = await startTestApp('postgres', {
      store: withSettings(store, '-c default_transaction_isolation=repeatable\\ read'),
    });
    const isolation = await sql<{ level: string }>`select current_setting('transaction_isolation') as level`.execute(
      app.db.kysely,
    );
    assert.equal(isolation.rows[0]!.level, 'repeatable read', 'the app runs at REPEATABLE READ');
    gate = await connect(store);
    // Every audit insert waits while the gate is held, then locks a row of the test's own. The writer has taken its
    // snapshot and written its row by then; the test changes that row while the writer waits at the gate.
    await gate.query(`
      create table victims_rows (id int primary key, n int not null);
      insert into victims_rows values (1, 0);
      create function victims_gate() returns trigger language plpgsql as $$
      begin
        perform pg_advisory_lock_shared(${gateKey});
        perform pg_advisory_unlock_shared(${gateKey});
        perform 1 from victims_rows where id = 1 for update;
        return null;
      end $$;
      create trigger victims_gate after insert on audit_events for each statement execute function victims_gate();
    `);
  });
  after(async () => {
    await gate?.end();
    await app?.stop();
  });

  for (const [index, resource] of RESOURCES.entries()) {
    it(`runs a ${resource.type} change again when PostgreSQL fails it as not serialisable: it lands once, audited once`, async () => {
      const subject = resourceCase(() => app, resource);
      const id = await resource.create(app, `serial-${index}`);
      const start = await subject.start(id);
      const gatePid = await pidOf(gate);
      await gate.query('select pg_advisory_lock($1)', [gateKey]);
      const reply = subject.send(id);
      const request = watched(reply);
      try {
        for (let round = 1; round <= VICTIMS; round++) {
          await waitUntilBlockedBy(gate, gatePid, `the gate (round ${round})`, request);
          // The writer waits at the gate with its snapshot taken: the row it locks next changes after that snapshot,
          // so PostgreSQL fails its transaction (or statement). The gate closes again behind it (one message: before
          // its next attempt can reach it).
          await gate.query('update victims_rows set n = n + 1 where id = 1');
          await gate.query(`select pg_advisory_unlock(${gateKey}); select pg_advisory_lock(${gateKey})`);
        }
      } finally {
        await gate.query('select pg_advisory_unlock_all()');
      }
      await subject.landedOnce(id, start, await reply);
    });
  }
});
