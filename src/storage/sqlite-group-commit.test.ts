import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDb, type Db } from './database.js';
import { createGroupCommitWriter } from './sqlite-group-commit.js';

describe('group commit on SQLite', () => {
  let dir: string;
  let db: Db;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plugboard-writer-'));
    db = openDb({ engine: 'sqlite', location: join(dir, 'w.db') });
    await sql`create table t (id integer primary key, v text not null unique)`.execute(db.kysely);
  });
  after(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = async () =>
    (await sql<{ id: number; v: string }>`select id, v from t order by id`.execute(db.kysely)).rows;

  it('commits concurrent units in one transaction, each isolated: a failing one is rolled back alone', async () => {
    const writer = createGroupCommitWriter(db, 64);
    const settled = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        writer.write(async (tx) => {
          await sql`insert into t (id, v) values (${i}, ${`v${i}`})`.execute(tx);
          // Unit 3 changes a row and then fails: its change must not survive; unit 6 breaks a constraint.
          if (i === 3) throw new Error('precondition failed');
          if (i === 6) await sql`insert into t (id, v) values (${100}, ${'v0'})`.execute(tx);
          const seen = await sql<{ n: number }>`select count(*) as n from t`.execute(tx);
          return seen.rows[0]!.n;
        }),
      ),
    );
    assert.deepEqual(
      settled.map((s) => s.status),
      [
        'fulfilled',
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
        'fulfilled',
        'fulfilled',
      ],
    );
    assert.match(String((settled[3] as PromiseRejectedResult).reason), /precondition failed/);
    // Each unit saw the ones before it, as consecutive transactions would.
    assert.deepEqual(
      settled.filter((s) => s.status === 'fulfilled').map((s) => s.value),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.deepEqual(
      (await rows()).map((r) => r.id),
      [0, 1, 2, 4, 5, 7, 8, 9],
    );
  });

  it('takes at most maxBatch units per transaction and keeps going with the rest', async () => {
    const writer = createGroupCommitWriter(db, 3);
    const transactions = new Set<number>();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        writer.write(async (tx) => {
          const [{ n }] = (await sql<{ n: number }>`select count(*) as n from t where id >= 200`.execute(tx)).rows as [
            { n: number },
          ];
          await sql`insert into t (id, v) values (${200 + i}, ${`b${i}`})`.execute(tx);
          transactions.add(Math.floor(n / 3));
        }),
      ),
    );
    // Units 0–2 saw 0–2 rows before them, 3–5 saw 3–5, …: four batches of at most three.
    assert.deepEqual([...transactions].sort(), [0, 1, 2, 3]);
    assert.equal((await rows()).filter((r) => r.id >= 200).length, 10);
  });

  it('answers no unit before its batch is committed, and a failed commit fails the whole batch', async () => {
    const writer = createGroupCommitWriter(db, 64);
    // A failure at commit time: a deferred foreign key is checked only when the transaction commits.
    await sql`create table parent (id integer primary key)`.execute(db.kysely);
    await sql`create table child (id integer primary key, parent integer references parent(id) deferrable initially deferred)`.execute(
      db.kysely,
    );
    await sql`pragma foreign_keys = on`.execute(db.kysely);
    const results = await Promise.allSettled([
      writer.write((tx) => sql`insert into t (id, v) values (300, 'ok')`.execute(tx)),
      writer.write((tx) => sql`insert into child (id, parent) values (1, 999)`.execute(tx)),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.equal(
      (await rows()).some((r) => r.id === 300),
      false,
      'nothing of a failed batch is stored',
    );
  });
});
