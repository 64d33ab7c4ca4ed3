import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { migrateToLatest, openDb, type Db } from '../src/storage/database.js';
import { NewerSchemaError } from '../src/storage/migrator.js';
import { ROW_CHANGE_FILLFACTOR, UPDATED_IN_PLACE } from '../src/storage/migrations/0024-row-change-fillfactor.js';
import { WATCHED_TABLES } from '../src/storage/watch-changes.js';
import { runCli } from './support/cli-process.js';
import pg from 'pg';
import { ENGINES, TEST_DATABASE_URL, createTestStore } from './support/stores.js';

for (const engine of ENGINES) {
  describe(`migrations [${engine}]`, () => {
    it('refuses to start on a schema a newer plugboard migrated, saying so', async () => {
      const store = await createTestStore(engine);
      try {
        const config = loadConfig(store.env);
        const db = openDb(
          config.database.engine === 'sqlite'
            ? { engine: 'sqlite', location: config.database.file }
            : { engine: 'postgres', location: config.database.url },
        );
        try {
          assert.ok((await migrateToLatest(db)).applied.length > 0);
          assert.deepEqual((await migrateToLatest(db)).applied, [], 'a second run has nothing to do');
          await sql`insert into kysely_migration (name, timestamp) values ('9999-from-the-future', '2030-01-01T00:00:00.000Z')`.execute(
            db.kysely,
          );
          await assert.rejects(
            migrateToLatest(db),
            (error: unknown) => error instanceof NewerSchemaError && /9999-from-the-future/.test(error.message),
          );
        } finally {
          await db.close();
        }
        await assert.rejects(createApp(config), NewerSchemaError);
        const run = await runCli(['serve', '--port', '0'], store.env);
        assert.equal(run.code, 1);
        assert.match(
          run.stderr,
          /schema is newer than this version of plugboard: it has migration 9999-from-the-future/,
        );
      } finally {
        await store.drop();
      }
    });
  });
}

/** Runs `work` on a PostgreSQL store of its own, migrated to the latest schema, and drops the store after it. */
async function onMigratedPostgres(work: (db: Db) => Promise<void>): Promise<void> {
  const store = await createTestStore('postgres');
  try {
    const config = loadConfig(store.env);
    const db = openDb({
      engine: 'postgres',
      location: config.database.engine === 'postgres' ? config.database.url : '',
    });
    try {
      await migrateToLatest(db);
      await work(db);
    } finally {
      await db.close();
    }
  } finally {
    await store.drop();
  }
}

describe('migrations [postgres] and the watched tables', () => {
  it('give every table the caches watch the trigger that tells other nodes of its changes', async () => {
    // Migration 0010 holds a copy of the list as it was; a table watched later needs a migration of its own.
    await onMigratedPostgres(async (db) => {
      const { rows } = await sql<{ table: string }>`
        select c.relname as table from pg_catalog.pg_trigger t
        join pg_catalog.pg_class c on c.oid = t.tgrelid
        join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
        where ns.nspname = current_schema() and t.tgname = c.relname || '_notify_change'`.execute(db.kysely);
      assert.deepEqual(rows.map((r) => r.table).sort(), [...WATCHED_TABLES].sort());
    });
  });
});

describe('migration 0024-row-change-fillfactor [postgres]', () => {
  it('leaves room on the pages of the tables row changes rewrite, and the default on the others', async () => {
    await onMigratedPostgres(async (db) => {
      const { rows } = await sql<{ table: string; options: string[] | null }>`
        select c.relname as table, c.reloptions as options from pg_catalog.pg_class c
        join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
        where ns.nspname = current_schema() and c.relkind = 'r'`.execute(db.kysely);
      const fillfactor = new Map(rows.map((r) => [r.table, r.options?.find((o) => o.startsWith('fillfactor='))]));
      for (const table of UPDATED_IN_PLACE) assert.equal(fillfactor.get(table), `fillfactor=${ROW_CHANGE_FILLFACTOR}`);
      assert.equal(fillfactor.get('audit_events'), undefined, 'an insert-only table keeps its pages full');
    });
  });
});

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
          const db = openDb({
            engine: 'postgres',
            location: config.database.engine === 'postgres' ? config.database.url : '',
          });
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

for (const engine of ENGINES) {
  describe(`migration 0012-resource-uids [${engine}]`, () => {
    it("gives every existing workspace, connector, connection and access client a uid of its own, and audit events their workspace's", async () => {
      const store = await createTestStore(engine);
      const config = loadConfig(store.env);
      const db = openDb(
        config.database.engine === 'sqlite'
          ? { engine: 'sqlite', location: config.database.file }
          : { engine: 'postgres', location: config.database.url },
      );
      try {
        await migrateToLatest(db, '0011-connection-order');
        const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;
        for (const [i, id] of ['a', 'b'].entries()) {
          await sql`insert into workspaces (id, project_id, name, created_at, updated_at, revision) values (${id}, ${i + 1}, ${id}, ${at(10)}, ${at(10)}, 1)`.execute(
            db.kysely,
          );
          await sql`insert into access_clients (workspace_id, id, name, description, toolsets, rate_limit, status, created_at, updated_at, revision)
            values (${id}, 'bot', 'bot', null, '[]', null, 'active', ${at(11)}, ${at(11)}, 1)`.execute(db.kysely);
          await sql`insert into connections (workspace_id, connector_id, scope, name, type, env_type, description, status, content, variables, credentials, health, created_at, updated_at, revision)
            values (${id}, null, '', 'db', 'http', 0, null, 'active', '{}', '[]', '[]', '{}', ${at(11)}, ${at(11)}, 1)`.execute(
            db.kysely,
          );
        }
        // An event of an older workspace "a", deleted before today's "a" was created, and one of today's.
        for (const minute of [5, 12]) {
          await sql`insert into audit_events (at, principal_id, workspace_id, action, resource_type, resource_id, request_id, from_revision, to_revision, changed_fields)
            values (${at(minute)}, 'p', 'a', 'workspace:update', 'workspace', 'a', 'r', 1, 2, '[]')`.execute(db.kysely);
        }

        assert.deepEqual((await migrateToLatest(db, '0012-resource-uids')).applied, ['0012-resource-uids']);
        const uids: string[] = [];
        for (const [table, prefix] of [
          ['workspaces', 'wsu_'],
          ['access_clients', 'acu_'],
          ['connections', 'cnu_'],
        ] as const) {
          const { rows } = await sql<{ uid: string }>`select uid from ${sql.table(table)}`.execute(db.kysely);
          assert.equal(rows.length, 2);
          for (const row of rows)
            assert.ok(row.uid.startsWith(prefix) && row.uid.length === prefix.length + 32, `${table}: ${row.uid}`);
          uids.push(...rows.map((row) => row.uid));
        }
        assert.equal(new Set(uids).size, uids.length, 'every uid is different');
        const { rows: events } = await sql<{
          at: string;
          workspace_uid: string | null;
        }>`select at, workspace_uid from audit_events order by at`.execute(db.kysely);
        const { rows: workspace } = await sql<{ uid: string }>`select uid from workspaces where id = 'a'`.execute(
          db.kysely,
        );
        assert.deepEqual(
          events.map((e) => e.workspace_uid),
          [null, workspace[0]!.uid],
        );
      } finally {
        await db.close();
        await store.drop();
      }
    });
  });
}

for (const engine of ENGINES) {
  describe(`migration 0016-audit-clients [${engine}]`, () => {
    it('moves the client of OAuth tool calls out of changed fields into its column, and gives grant events theirs', async () => {
      const store = await createTestStore(engine);
      const config = loadConfig(store.env);
      const db = openDb(
        config.database.engine === 'sqlite'
          ? { engine: 'sqlite', location: config.database.file }
          : { engine: 'postgres', location: config.database.url },
      );
      try {
        await migrateToLatest(db, '0015-oauth');
        const at = '2026-01-01T00:00:00.000Z';
        await sql`insert into oauth_grants (grant_id, workspace_id, toolset, toolset_uid, resource, user_id, client_id, client_name, scopes, created_at, expires_at)
          values ('g1', 'default', 'shop', 'tsu_1', 'http://x/mcp/default/shop', 'usr_1', 'https://app.example/client.json', 'App', 'mcp:read', ${at}, ${at})`.execute(
          db.kysely,
        );
        const events: [string, string, string, string][] = [
          ['mcp-tool:call', 'tool', 'shop/getItem', '["client:https://app.example/client.json"]'],
          ['oauth-grant:create', 'oauth-grant', 'g1', '[]'],
          ['oauth-grant:revoke', 'oauth-grant', 'gone', '[]'],
          ['connector:update', 'connector', 'c', '["client:not-a-client","name"]'],
        ];
        for (const [action, type, id, fields] of events)
          await sql`insert into audit_events (at, principal_id, workspace_id, action, resource_type, resource_id, request_id, from_revision, to_revision, changed_fields)
            values (${at}, 'usr_1', 'default', ${action}, ${type}, ${id}, 'r', null, null, ${fields})`.execute(
            db.kysely,
          );

        assert.deepEqual((await migrateToLatest(db, '0016-audit-clients')).applied, ['0016-audit-clients']);
        const { rows } = await sql<{
          action: string;
          client_id: string | null;
          client_name: string | null;
          changed_fields: string;
        }>`select action, client_id, client_name, changed_fields from audit_events order by id`.execute(db.kysely);
        assert.deepEqual(
          rows.map((r) => [r.action, r.client_id, r.client_name, JSON.parse(r.changed_fields) as string[]]),
          [
            ['mcp-tool:call', 'https://app.example/client.json', 'App', []],
            ['oauth-grant:create', 'https://app.example/client.json', 'App', []],
            ['oauth-grant:revoke', null, null, []],
            ['connector:update', null, null, ['client:not-a-client', 'name']],
          ],
        );
      } finally {
        await db.close();
        await store.drop();
      }
    });
  });
}

for (const engine of ENGINES) {
  describe(`migration 0021-member-key-revisions [${engine}]`, () => {
    it('gives existing memberships and access keys revision 1, and access keys the active status', async () => {
      const store = await createTestStore(engine);
      const config = loadConfig(store.env);
      const db = openDb(
        config.database.engine === 'sqlite'
          ? { engine: 'sqlite', location: config.database.file }
          : { engine: 'postgres', location: config.database.url },
      );
      try {
        await migrateToLatest(db, '0020-connection-owners');
        const at = '2026-01-01T00:00:00.000Z';
        await sql`insert into workspaces (id, uid, project_id, name, created_at, updated_at, revision) values ('w', 'wsu_1', 1, 'w', ${at}, ${at}, 3)`.execute(
          db.kysely,
        );
        await sql`insert into principals (id, name, kind, status, created_at) values ('p', 'p', 'service', 'active', ${at})`.execute(
          db.kysely,
        );
        await sql`insert into memberships (workspace_id, principal_id, role, created_at) values ('w', 'p', 'owner', ${at})`.execute(
          db.kysely,
        );
        await sql`insert into access_keys (id, kind, principal_id, name, secret, default_workspace_id, created_at)
          values ('LTAIabc', 'alibaba', 'p', 'ci', '"sealed"', 'w', ${at})`.execute(db.kysely);

        assert.deepEqual((await migrateToLatest(db, '0021-member-key-revisions')).applied, [
          '0021-member-key-revisions',
        ]);
        const { rows: members } = await sql<{
          role: string;
          revision: number;
        }>`select role, revision from memberships`.execute(db.kysely);
        assert.deepEqual(members, [{ role: 'owner', revision: 1 }]);
        const { rows: keys } = await sql<{
          name: string;
          status: string;
          revision: number;
        }>`select name, status, revision from access_keys`.execute(db.kysely);
        assert.deepEqual(keys, [{ name: 'ci', status: 'active', revision: 1 }]);
      } finally {
        await db.close();
        await store.drop();
      }
    });
  });
}
