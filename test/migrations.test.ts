import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { NewerSchemaError, migrateToLatest, openDb } from '../src/storage/database.js';
import { runCli } from './support/cli-process.js';
import pg from 'pg';
import { ENGINES, TEST_DATABASE_URL, createTestStore } from './support/stores.js';

for (const engine of ENGINES) {
  describe(`migrations [${engine}]`, () => {
    it('refuses to start on a schema a newer plugboard migrated, saying so', async () => {
      const store = await createTestStore(engine);
      try {
        const config = loadConfig(store.env);
        const db = openDb(config.database.engine === 'sqlite' ? { engine: 'sqlite', location: config.database.file } : { engine: 'postgres', location: config.database.url });
        try {
          assert.ok((await migrateToLatest(db)).applied.length > 0);
          assert.deepEqual((await migrateToLatest(db)).applied, [], 'a second run has nothing to do');
          await sql`insert into kysely_migration (name, timestamp) values ('9999-from-the-future', '2030-01-01T00:00:00.000Z')`.execute(db.kysely);
          await assert.rejects(migrateToLatest(db), (error: unknown) => error instanceof NewerSchemaError && /9999-from-the-future/.test(error.message));
        } finally {
          await db.close();
        }
        await assert.rejects(createApp(config), NewerSchemaError);
        const run = await runCli(['serve', '--port', '0'], store.env);
        assert.equal(run.code, 1);
        assert.match(run.stderr, /schema is newer than this version of plugboard: it has migration 9999-from-the-future/);
      } finally {
        await store.drop();
      }
    });
  });
}

describe('migrations [postgres] beside schemas dropped by others', () => {
  it('migrates although other schemas of the database are created and dropped meanwhile', async () => {
    // Kysely's own introspector scans every schema of the database; one dropped during the scan failed the
    // migration with "schema … does not exist" (seen when test files ran in parallel). The store's looks at its
    // own schema only.
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    let churning = true;
    const prefix = `churn_${process.pid}_`;
    const churn = (async () => {
      for (let i = 0; churning; i++) {
        await admin.query(`create schema ${prefix}${i}`);
        await admin.query(`create table ${prefix}${i}.t (id int)`);
        await admin.query(`drop schema ${prefix}${i} cascade`);
      }
    })();
    try {
      for (let i = 0; i < 6; i++) {
        const store = await createTestStore('postgres');
        try {
          const config = loadConfig(store.env);
          assert.equal(config.database.engine, 'postgres');
          const db = openDb({ engine: 'postgres', location: config.database.engine === 'postgres' ? config.database.url : '' });
          try {
            assert.ok((await migrateToLatest(db)).applied.length > 0);
          } finally {
            await db.close();
          }
        } finally {
          await store.drop();
        }
      }
    } finally {
      churning = false;
      await churn;
      await admin.end();
    }
  });
});
