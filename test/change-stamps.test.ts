import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { migrateToLatest, openDb, type Db } from '../src/storage/database.js';
import { postgresChangeStamps, type ChangeStamps } from '../src/storage/change-stamps.js';
import { createStampedCache } from '../src/storage/stamped-cache.js';
import { compiledPerDialect } from '../src/storage/compiled-once.js';
import type { Database } from '../src/storage/schema.js';
import { createWriter } from '../src/storage/writer.js';
import { ENGINES, createTestStore, startTestApp, type TestApp, type TestStore } from './support/stores.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the stamps are defined (the PostgreSQL listener is connected). */
async function listening(stamps: ChangeStamps): Promise<number> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const stamp = stamps.current();
    if (stamp !== undefined) return stamp;
    if (Date.now() > deadline) throw new Error('the change listener did not connect within 5 s');
    await sleep(10);
  }
}

/** The stamp once notifications of earlier commits (this process's own included) have arrived. */
async function settledStamp(stamps: ChangeStamps): Promise<number> {
  await listening(stamps);
  await sleep(100);
  return await listening(stamps);
}

/** Waits until the stamp moves away from `from`, or fails after `ms`. */
async function moved(stamps: ChangeStamps, from: number, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (stamps.current() === from) {
    if (Date.now() > deadline) throw new Error(`the change stamp stayed at ${from} for ${ms} ms`);
    await sleep(2);
  }
}

function openTestDb(store: TestStore): Db {
  const { database } = loadConfig(store.env);
  return database.engine === 'sqlite'
    ? openDb({ engine: 'sqlite', location: database.file })
    : openDb({ engine: 'postgres', location: database.url });
}

for (const engine of ENGINES) {
  describe(`change stamps [${engine}]`, () => {
    let store: TestStore;
    let db: Db;
    /** A second process's view of the same store: another connection (SQLite) or another node (PostgreSQL). */
    let other: Db;

    before(async () => {
      store = await createTestStore(engine);
      db = openTestDb(store);
      await migrateToLatest(db);
      other = openTestDb(store);
    });
    after(async () => {
      await other?.close();
      await db?.close();
      await store?.drop();
    });

    it("moves on this process's own commits at once", async () => {
      const before = await listening(db.changes);
      await createWriter(db).write((tx) =>
        sql`insert into mcp_ended_sessions (session_hash, expires_at) values ('own', '2999-01-01')`.execute(tx),
      );
      assert.notEqual(db.changes.current(), before);
    });

    it('moves for writes to watched tables only, at commit, and for raw SQL it cannot read', async () => {
      const writer = createWriter(db);
      let stamp = await settledStamp(db.changes);
      await writer.write((tx) =>
        tx.updateTable('workspaces').set({ name: 'renamed' }).where('id', '=', 'nope').execute(),
      );
      await writer.write((tx) => tx.selectFrom('access_clients').selectAll().execute());
      assert.equal(db.changes.current(), stamp, 'an unwatched table, and a read');
      if (engine === 'postgres') {
        // (SQLite has no data-modifying WITH clauses.)
        await db.kysely
          .with('renamed', (qb) =>
            qb.updateTable('workspaces').set({ name: 'renamed' }).where('id', '=', 'nope').returning('id'),
          )
          .selectFrom('renamed')
          .selectAll()
          .execute();
        assert.equal(db.changes.current(), stamp, 'a WITH clause that writes an unwatched table');
        await db.kysely
          .with('gone', (qb) => qb.deleteFrom('api_keys').where('id', '=', 'nothing').returning('id'))
          .selectFrom('gone')
          .selectAll()
          .execute();
        assert.notEqual(db.changes.current(), stamp, 'a WITH clause that writes a watched table');
        stamp = await settledStamp(db.changes);
      }
      let inside: number | undefined;
      await writer.write(async (tx) => {
        await tx.deleteFrom('principals').where('id', '=', 'nobody').execute();
        inside = db.changes.current();
      });
      assert.equal(inside, stamp, 'not before the commit');
      assert.notEqual(db.changes.current(), stamp, 'at the commit');
      stamp = db.changes.current()!;
      await sql`update toolsets set description = description where 1 = 0`.execute(db.kysely);
      assert.notEqual(db.changes.current(), stamp, 'raw SQL outside a transaction, at once');
      // (On PostgreSQL the triggers notify of that statement too, a moment later.)
      stamp = await settledStamp(db.changes);
      await assert.rejects(
        writer.write(async (tx) => {
          await tx.deleteFrom('api_keys').where('id', '=', 'nothing').execute();
          throw new Error('rolled back');
        }),
      );
      if (engine === 'postgres') assert.equal(db.changes.current(), stamp, 'a rolled-back transaction changed nothing');
    });

    it('moves when a workspace is deleted: the delete takes its toolsets, access clients and memberships with it', async () => {
      const stamp = await settledStamp(db.changes);
      await createWriter(db).write((tx) => tx.deleteFrom('workspaces').where('id', '=', 'nope').execute());
      assert.notEqual(db.changes.current(), stamp);
    });

    it('moves when another connection or node commits to a table the gateway caches', async () => {
      const before = await settledStamp(db.changes);
      await createWriter(other).write((tx) =>
        sql`insert into mcp_ended_sessions (session_hash, expires_at) values ('other', '2999-01-01')`.execute(tx),
      );
      await moved(db.changes, before);
    });

    if (engine === 'postgres') {
      it('stays put for tables the gateway does not cache, and is undefined while nobody listens', async () => {
        const before = await settledStamp(db.changes);
        await createWriter(other).write((tx) => sql`update workspaces set name = name`.execute(tx));
        await sleep(100);
        assert.equal(db.changes.current(), before);
        const unreachable = postgresChangeStamps('postgres://postgres@127.0.0.1:1/none');
        try {
          assert.equal(unreachable.current(), undefined);
          await sleep(100);
          assert.equal(unreachable.current(), undefined);
        } finally {
          await unreachable.close();
        }
      });

      it('tells its owner once when listening fails, and once when it listens again', async () => {
        const events: string[] = [];
        const record = {
          lost: (error: Error) => events.push(`lost: ${error.message}`),
          restored: () => events.push('restored'),
        };
        const unreachable = postgresChangeStamps('postgres://postgres@127.0.0.1:1/none', record);
        try {
          unreachable.current();
          await sleep(2500); // the first attempt and two retries, a second apart
          assert.equal(events.length, 1, `one event for one outage: ${events.join(' | ')}`);
          assert.match(events[0]!, /^lost: .*ECONNREFUSED/);
        } finally {
          await unreachable.close();
        }

        // A listener whose connection the server ends (a PostgreSQL restart, a proxy's idle timeout).
        events.length = 0;
        const name = `plugboard-listener-test-${process.pid}`;
        const { database } = loadConfig(store.env);
        assert.equal(database.engine, 'postgres');
        const url = database.engine === 'postgres' ? `${database.url}&application_name=${name}` : '';
        const stamps = postgresChangeStamps(url, record);
        try {
          const first = await listening(stamps);
          assert.equal(events.length, 0, 'nothing to say while it listens');
          await sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${name}`.execute(
            db.kysely,
          );
          const deadline = Date.now() + 5000;
          while (!events.includes('restored') && Date.now() < deadline) await sleep(20);
          assert.equal(events.length, 2, events.join(' | '));
          assert.match(events[0]!, /^lost: /);
          assert.equal(events[1], 'restored');
          assert.notEqual(
            await listening(stamps),
            first,
            'notifications may have been missed while it was down: the stamp moved',
          );
        } finally {
          await stamps.close();
        }
        assert.equal(events.length, 2, 'closing is not an outage');
      });
    }

    it('caches a lookup until the stamp moves, never keeps one that raced with a change, and never caches a miss', async () => {
      const cache = createStampedCache<string, number>(db, { limit: 10, maxAgeMs: 60_000 });
      await listening(db.changes);
      let loads = 0;
      const load = async () => ++loads;
      assert.equal(await cache.get('k', load), 1);
      assert.equal(await cache.get('k', load), 1, 'served from the cache');
      db.changes.touch();
      assert.equal(await cache.get('k', load), 2, 'read again after a change');
      // A change signalled while the value was being read: the value is used once, not kept.
      db.changes.touch();
      assert.equal(await cache.get('k', async () => (db.changes.touch(), 10)), 10);
      assert.equal(await cache.get('k', load), 3);
      let misses = 0;
      await cache.get('absent', async () => (misses++, undefined));
      await cache.get('absent', async () => (misses++, undefined));
      assert.equal(misses, 2);
    });

    it('keeps a lookup while tables it did not read change, and reads it again when one it read changes', async () => {
      // An access-client or toolset write must not drop every node's API-key cache (each request would read its
      // key again), while a write to what a lookup read must drop it at once.
      const cache = createStampedCache<string, number>(db, { limit: 10, maxAgeMs: 60_000 });
      let stamp = await settledStamp(db.changes);
      let loads = 0;
      const keyLookup = async (reader: Kysely<Database>) => {
        await reader
          .selectFrom('api_keys as k')
          .innerJoin('principals as p', 'p.id', 'k.principal_id')
          .select('k.id')
          .where('k.id', '=', 'none')
          .execute();
        return ++loads;
      };
      assert.equal(await cache.get('key', keyLookup), 1);
      await createWriter(db).write((tx) =>
        tx.updateTable('access_clients').set({ description: 'x' }).where('id', '=', 'none').execute(),
      );
      assert.notEqual(db.changes.current(), stamp, 'a watched table was written');
      assert.equal(await cache.get('key', keyLookup), 1, 'kept: this process wrote a table the lookup did not read');
      if (engine === 'postgres') {
        stamp = await settledStamp(db.changes);
        await createWriter(other).write((tx) =>
          tx.updateTable('toolsets').set({ description: 'x' }).where('name', '=', 'none').execute(),
        );
        await moved(db.changes, stamp);
        assert.equal(await cache.get('key', keyLookup), 1, 'kept: another node wrote a table the lookup did not read');
        stamp = await settledStamp(db.changes);
        await createWriter(other).write((tx) => tx.deleteFrom('principals').where('id', '=', 'none').execute());
        await moved(db.changes, stamp);
        assert.equal(await cache.get('key', keyLookup), 2, 'read again: another node wrote a table it joined');
      }
      await createWriter(db).write((tx) => tx.deleteFrom('api_keys').where('id', '=', 'none').execute());
      assert.equal(await cache.get('key', keyLookup), engine === 'postgres' ? 3 : 2, 'read again: its own table');
      // The triggers' notification of that write reaches this process a moment later: a lookup read while it is on
      // its way is not kept (the stamp moved during its load), which the next part must not take for a drop.
      await settledStamp(db.changes);
      // (On PostgreSQL this process hears of its own writes twice: at its commit, and from the triggers a moment
      // later; each write below waits for the second.)
      const ownWrite = async (change: Parameters<ReturnType<typeof createWriter>['write']>[0]) => {
        await createWriter(db).write(change);
        await settledStamp(db.changes);
      };
      // Raw SQL naming a table is read as reading it; a lookup that read nothing through the store depends on
      // every change.
      const raw = createStampedCache<string, number>(db, { limit: 10, maxAgeMs: 60_000 });
      let rawLoads = 0;
      const rawLookup = async (reader: Kysely<Database>) => {
        await sql`select count(*) from memberships where principal_id = 'none'`.execute(reader);
        return ++rawLoads;
      };
      let nothingLoads = 0;
      const nothing = async () => ++nothingLoads;
      await raw.get('raw', rawLookup);
      await raw.get('nothing', nothing);
      await ownWrite((tx) => tx.deleteFrom('toolsets').where('name', '=', 'none').execute());
      assert.equal(await raw.get('raw', rawLookup), 1);
      assert.equal(await raw.get('nothing', nothing), 2);
      await ownWrite((tx) => tx.deleteFrom('memberships').where('principal_id', '=', 'none').execute());
      assert.equal(await raw.get('raw', rawLookup), 2);
      // A lookup built on another cache's lookup depends on what that one read, also when it was served from there.
      const outer = createStampedCache<string, number>(db, { limit: 10, maxAgeMs: 60_000 });
      let outerLoads = 0;
      const outerLookup = async (reader: Kysely<Database>) =>
        ((await raw.get('raw', rawLookup, reader)) ?? 0) + 100 * ++outerLoads;
      assert.equal(await outer.get('outer', outerLookup), 102);
      await ownWrite((tx) => tx.deleteFrom('toolsets').where('name', '=', 'none').execute());
      assert.equal(await outer.get('outer', outerLookup), 102);
      await ownWrite((tx) => tx.deleteFrom('memberships').where('principal_id', '=', 'none').execute());
      assert.equal(await outer.get('outer', outerLookup), 203);
      // A lookup that reads past the query builder it was handed is not seen reading anything: it depends on every
      // table, so no write can leave it stale.
      let pastLoads = 0;
      const pastLookup = async () => {
        await db.kysely.selectFrom('api_keys').select('id').where('id', '=', 'none').execute();
        return ++pastLoads;
      };
      assert.equal(await raw.get('past', pastLookup), 1);
      assert.equal(await raw.get('past', pastLookup), 1);
      await ownWrite((tx) => tx.deleteFrom('toolsets').where('name', '=', 'none').execute());
      assert.equal(await raw.get('past', pastLookup), 2, 'read again after a write to a table it never named');
      // A statement compiled ahead (here compiled already, so it does not pass the reader's plugin) is recorded too.
      const membershipRole = compiledPerDialect((reader, id) =>
        reader.selectFrom('memberships').select('role').where('principal_id', '=', id),
      );
      await membershipRole(db.kysely, ['none']);
      let compiledLoads = 0;
      const compiledLookup = async (reader: Kysely<Database>) => {
        await membershipRole(reader, ['none']);
        return ++compiledLoads;
      };
      assert.equal(await raw.get('compiled', compiledLookup), 1);
      await ownWrite((tx) => tx.deleteFrom('toolsets').where('name', '=', 'none').execute());
      assert.equal(await raw.get('compiled', compiledLookup), 1, 'kept: a table the compiled statement does not read');
      await ownWrite((tx) => tx.deleteFrom('memberships').where('principal_id', '=', 'none').execute());
      assert.equal(await raw.get('compiled', compiledLookup), 2, 'read again: the table the compiled statement reads');
    });

    if (engine === 'postgres') {
      it("still notifies migration 0010's channel, which nodes of earlier versions listen on", async () => {
        const { database } = loadConfig(store.env);
        const client = new pg.Client({ connectionString: database.engine === 'postgres' ? database.url : '' });
        await client.connect();
        try {
          const payloads: string[] = [];
          client.on('notification', (message) => payloads.push(`${message.channel} ${message.payload}`));
          const { rows } = await client.query<{ schema: string }>('select current_schema() as schema');
          await client.query('listen plugboard_changes');
          await createWriter(other).write((tx) => tx.deleteFrom('api_keys').where('id', '=', 'none').execute());
          const deadline = Date.now() + 2000;
          while (payloads.length === 0 && Date.now() < deadline) await sleep(5);
          assert.deepEqual(payloads, [`plugboard_changes ${rows[0]!.schema}`]);
        } finally {
          await client.end();
        }
      });
    }

    it('drops entries older than the longest age and the oldest beyond its limit', async () => {
      await listening(db.changes);
      const aged = createStampedCache<string, number>(db, { limit: 10, maxAgeMs: 20 });
      let loads = 0;
      const load = async () => ++loads;
      await aged.get('k', load);
      await sleep(30);
      assert.equal(await aged.get('k', load), 2);
      const small = createStampedCache<number, number>(db, { limit: 2, maxAgeMs: 60_000 });
      for (const key of [1, 2, 3]) await small.get(key, async () => key * 10);
      let reread = 0;
      assert.equal(await small.get(1, async () => (reread++, 10)), 10);
      assert.equal(await small.get(3, async () => (reread++, 30)), 30);
      assert.equal(reread, 1, 'the first key was dropped, the last one kept');
    });
  });
}

for (const engine of ENGINES) {
  describe(`change listener gauge [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine);
    });
    after(async () => {
      await app?.stop();
    });

    it("reports in /metrics that the node follows other nodes' changes", async () => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const metrics = await app.server.inject({ method: 'GET', url: '/metrics' });
        const gauge = /^plugboard_change_listener_up (\d)$/m.exec(metrics.body);
        assert.ok(gauge, 'the gauge is exported');
        if (gauge[1] === '1') break;
        if (Date.now() > deadline) assert.fail('the change listener was not up within 5 s of the start');
        await sleep(50);
      }
    });
  });
}
