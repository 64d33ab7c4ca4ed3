// Replay protection for signed requests: a nonce is accepted once across every node sharing the store (or
// Redis), and again only after it has expired.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createNonceService, type NonceService } from '../src/services/nonce-service.js';
import type { Db } from '../src/storage/database.js';
import { createWriter } from '../src/storage/writer.js';
import { openConfiguredDb } from '../src/app.js';
import type { Clock } from '../src/services/clock.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';
import { openTestRedis, type TestRedis } from './support/redis.js';

for (const engine of ENGINES) {
  describe(`request nonces in the store [${engine}]`, () => {
    let app: TestApp;
    let now = Date.parse('2026-01-01T00:00:00Z');
    const clock: Clock = { now: () => new Date(now).toISOString() };
    /** One node's nonces: the service as the app builds it, on `db`. */
    const nodeOn = (db: Db) => createNonceService({ db, writer: createWriter(db), clock });
    /** Two nonces of `scope` claimed a second ago: one still live for 59 s, one whose window has just ended. */
    async function liveAndExpired(nonces: NonceService, scope: string): Promise<[string, string]> {
      const [live, expired] = [randomUUID(), randomUUID()];
      assert.equal(await nonces.claim(scope, live, 60_000), true);
      assert.equal(await nonces.claim(scope, expired, 1000), true);
      now += 1000;
      return [live, expired];
    }

    before(async () => {
      app = await startTestApp(engine);
    });
    after(async () => {
      await app?.stop();
    });

    it('accepts a nonce once, also when a second node with its own connection asks', async () => {
      const second = openConfiguredDb(app.config);
      try {
        const first = nodeOn(app.db);
        const other = nodeOn(second);
        const nonce = randomUUID();
        const claims = await Promise.all([
          first.claim('alibaba:key', nonce, 60_000),
          other.claim('alibaba:key', nonce, 60_000),
        ]);
        assert.deepEqual(claims.sort(), [false, true]);
        assert.equal(await other.claim('alibaba:other-key', nonce, 60_000), true, 'nonces are scoped per key');
      } finally {
        await second.close();
      }
    });

    it('accepts a nonce again once it has expired, and purges expired ones', async () => {
      const nonces = nodeOn(app.db);
      const nonce = randomUUID();
      assert.equal(await nonces.claim('s', nonce, 1000), true);
      assert.equal(await nonces.claim('s', nonce, 1000), false);
      now += 2000;
      assert.equal(await nonces.claim('s', nonce, 1000), true);
      now += 2000;
      await nonces.purgeExpired();
      const left = await app.db.kysely.selectFrom('request_nonces').selectAll().execute();
      assert.ok(left.every((row) => row.expires_at > clock.now()));
    });

    it('refuses a live nonce and takes an expired one for a new window, which it then refuses until it ends', async () => {
      const nonces = nodeOn(app.db);
      const [live, expired] = await liveAndExpired(nonces, 's');
      assert.equal(await nonces.claim('s', live, 60_000), false, 'live for another 59 s');
      assert.equal(await nonces.claim('s', expired, 60_000), true, 'expired the moment its window ended');
      now += 30_000;
      assert.equal(await nonces.claim('s', expired, 60_000), false, 'its new window runs for 60 s');
      now += 30_000;
      assert.equal(await nonces.claim('s', expired, 60_000), true);
    });

    it('answers true to exactly one of many concurrent claims of a nonce, new or expired, across two nodes', async () => {
      const second = openConfiguredDb(app.config);
      try {
        const nodes = [app.db, second].map(nodeOn);
        const nonce = randomUUID();
        const race = () => Promise.all(Array.from({ length: 16 }, (_, i) => nodes[i % 2]!.claim('race', nonce, 1000)));
        assert.deepEqual((await race()).filter(Boolean), [true], 'a new nonce');
        now += 1000;
        assert.deepEqual((await race()).filter(Boolean), [true], 'an expired one');
      } finally {
        await second.close();
      }
    });

    it('answers each of many claims that arrive together for itself: new, replayed within the batch, live, expired', async () => {
      const nonces = nodeOn(app.db);
      const [live, expired] = await liveAndExpired(nonces, 'batch');
      const fresh = Array.from({ length: 300 }, () => randomUUID());
      // More claims than one batch takes (256 on PostgreSQL): each new nonce once, one of them again among the first
      // (a replay in the same batch), and the live and expired ones at the end (in the next batch).
      const asked = [...fresh.slice(0, 100), fresh[7]!, ...fresh.slice(100), live, expired];
      const answers = await Promise.all(asked.map((nonce) => nonces.claim('batch', nonce, 60_000)));
      assert.equal(answers[100], false, 'the replay within the batch');
      assert.deepEqual(answers.slice(0, 100).concat(answers.slice(101, 301)), Array<boolean>(300).fill(true));
      assert.deepEqual(answers.slice(301), [false, true], 'the live one, the expired one');
      const stored = await app.db.kysely.selectFrom('request_nonces').select('nonce_key').execute();
      assert.ok(stored.length >= 302);
    });
  });
}

describe('request nonces in Redis', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await openTestRedis();
  });
  after(async () => {
    await redis?.close();
  });

  it('accepts a nonce once across two clients, and again after its time to live', async () => {
    const unused = () => Promise.reject(new Error('the store must not be used with Redis'));
    const writer = { write: unused, change: unused, remember: unused };
    const db = {} as Db; // never read: nothing of the store is touched with Redis
    const clock = { now: () => new Date().toISOString() };
    const a = createNonceService({ db, writer, clock, redisUrl: redis.url });
    const b = createNonceService({ db, writer, clock, redisUrl: redis.url });
    try {
      const nonce = randomUUID();
      const claims = await Promise.all([a.claim('alibaba:key', nonce, 200), b.claim('alibaba:key', nonce, 200)]);
      assert.deepEqual(claims.sort(), [false, true]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await a.claim('alibaba:key', nonce, 200), true);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
