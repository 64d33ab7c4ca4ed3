/**
 * `npm run bench:pg-patterns`: what the shape of a connector update costs PostgreSQL, without HTTP or plugboard
 * around it. One run, one fresh schema migrated by plugboard's own migrations (triggers and indexes included),
 * 10,000 connectors, 32 concurrent writers on a pool of 16, uniform ids and one hot id. Each pattern does what a
 * `PUT …/connectors/{id}` must (write the row under a revision check, and an audit row), except `bare`, which is
 * `bench:write`'s baseline (one `UPDATE … RETURNING`, no audit row):
 *
 * - `bare`: one named UPDATE in autocommit.
 * - `per-request`: plugboard's PostgreSQL write path for most writes (connector PUT/PATCH too until they became
 *   the writer's row changes): BEGIN, SELECT … FOR UPDATE, UPDATE, INSERT, COMMIT.
 * - `prepared`: the same five statements, the three queries as named (server-prepared) statements.
 * - `one-statement`: an unlocked read, then the UPDATE and the audit INSERT in one data-modifying WITH statement
 *   in autocommit (a lost race reads again).
 * - `batched`: the writes of concurrent requests in one transaction of three statements (up to 64 requests,
 *   4 transactions in flight): one SELECT … FOR UPDATE of every row, one UPDATE … FROM unnest(…), one INSERT …
 *   SELECT FROM unnest(…); requests for the same row are applied one after another in memory. What the writer's
 *   row changes do for connector PUT/PATCH (src/storage/row-change-batcher.ts), minus their per-change bookkeeping.
 *
 * It prints requests/s and CPU per request of this process (the pg client) and of PostgreSQL (every `postgres`
 * process, from /proc). It measures no plugboard code: it is the evidence for how plugboard's PostgreSQL writes
 * are shaped (issue 10). Settings: BENCH_SECONDS (8), BENCH_POSTGRES_URL.
 */
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { migrateToLatest, openDb } from '../../src/storage/database.js';
import type { ConnectorRow } from '../../src/storage/schema.js';
import { intEnv, say } from '../common/plugboard.js';
import { CLK_TCK } from '../common/processes.js';

const POSTGRES = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SECONDS = intEnv('BENCH_SECONDS', 8);
const CONNECTORS = 10_000;
const WRITERS = 32;
const HOT = 'c-00042';
const WS = 'ws';

/** utime + stime of every PostgreSQL process (backends, WAL writer, checkpointer), in ticks. */
function postgresTicks(): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (!stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).startsWith('postgres')) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone meanwhile.
    }
  }
  return ticks;
}

const now = () => new Date().toISOString();
const pick = () => `c-${String(Math.floor(Math.random() * CONNECTORS)).padStart(5, '0')}`;
const described = () => `changed ${Math.random().toString(36).slice(2)}`;

/** Parameters $3… of the full-row UPDATE: every column plugboard writes, from a row and its next revision. */
const fullRow = (r: ConnectorRow, description: string, at: string) => [
  r.name,
  description,
  r.protocol_type,
  r.documentation_url,
  r.icon_url,
  r.base_url,
  r.dataset_id,
  r.is_public,
  r.tags,
  r.status,
  r.auth_scheme_configs,
  r.connection_variables,
  r.versions,
  at,
  r.revision + 1,
  r.revision,
];
const SET_FULL_ROW =
  'name=$3, description=$4, protocol_type=$5, documentation_url=$6, icon_url=$7, base_url=$8, dataset_id=$9, is_public=$10, tags=$11, status=$12, ' +
  'auth_scheme_configs=$13, connection_variables=$14, versions=$15, updated_at=$16, revision=$17 where workspace_id=$1 and id=$2 and revision=$18';
const AUDIT_COLUMNS =
  'at, principal_id, workspace_id, action, resource_type, resource_id, request_id, from_revision, to_revision, changed_fields';

function patterns(pool: pg.Pool): Record<string, (id: string) => Promise<void>> {
  async function inTransaction(work: (client: pg.PoolClient) => Promise<void>) {
    const client = await pool.connect();
    try {
      await client.query('begin');
      await work(client);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  const perRequest = (named: boolean) => (id: string) =>
    inTransaction(async (client) => {
      const q = (name: string, text: string, values: unknown[]) =>
        client.query(named ? { name, text, values } : { text, values });
      const row = (await q('p-select', 'select * from connectors where workspace_id=$1 and id=$2 for update', [WS, id]))
        .rows[0] as ConnectorRow;
      const at = now();
      await q('p-update', `update connectors set ${SET_FULL_ROW}`, [WS, id, ...fullRow(row, described(), at)]);
      await q(
        'p-audit',
        `insert into audit_events (${AUDIT_COLUMNS}) values ($1,'bench',$2,'connector:update','connector',$3,'req',$4,$5,'["description"]')`,
        [at, WS, id, row.revision, row.revision + 1],
      );
    });

  async function oneStatement(id: string): Promise<void> {
    for (;;) {
      const row = (
        await pool.query({
          name: 'o-select',
          text: 'select * from connectors where workspace_id=$1 and id=$2',
          values: [WS, id],
        })
      ).rows[0] as ConnectorRow;
      const written = await pool.query({
        name: 'o-write',
        text: `with u as (update connectors set ${SET_FULL_ROW} returning id) insert into audit_events (${AUDIT_COLUMNS}) select $16, 'bench', $1, 'connector:update', 'connector', u.id, 'req', $18, $17, '["description"]' from u`,
        values: [WS, id, ...fullRow(row, described(), now())],
      });
      if (written.rowCount === 1) return;
    }
  }

  const queue: { id: string; resolve(): void; reject(error: unknown): void }[] = [];
  let inFlight = 0;
  function dispatch() {
    while (inFlight < 4 && queue.length > 0) {
      const batch = queue.splice(0, 64);
      inFlight++;
      void writeBatch(batch).finally(() => {
        inFlight--;
        dispatch();
      });
    }
  }
  async function writeBatch(batch: typeof queue) {
    try {
      await inTransaction(async (client) => {
        const ids = [...new Set(batch.map((b) => b.id))].sort();
        const rows = (
          await client.query({
            name: 'b-select',
            text: 'select * from connectors where workspace_id=$1 and id = any($2) order by id for update',
            values: [WS, ids],
          })
        ).rows as ConnectorRow[];
        const latest = new Map(rows.map((r) => [r.id, r]));
        const audit: { id: string; from: number; to: number }[] = [];
        const at = now();
        for (const { id } of batch) {
          const row = latest.get(id)!;
          latest.set(id, { ...row, description: described(), updated_at: at, revision: row.revision + 1 });
          audit.push({ id, from: row.revision, to: row.revision + 1 });
        }
        const next = [...latest.values()];
        const column = <K extends keyof ConnectorRow>(key: K) => next.map((r) => r[key]);
        await client.query({
          name: 'b-update',
          text:
            'update connectors c set description = u.description, updated_at = u.updated_at, revision = u.revision, name = u.name, tags = u.tags, ' +
            'auth_scheme_configs = u.auth, connection_variables = u.variables, versions = u.versions ' +
            'from unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[]) ' +
            'as u(id, description, updated_at, revision, name, tags, auth, variables, versions) where c.workspace_id = $1 and c.id = u.id',
          values: [
            WS,
            column('id'),
            column('description'),
            column('updated_at'),
            column('revision'),
            column('name'),
            column('tags'),
            column('auth_scheme_configs'),
            column('connection_variables'),
            column('versions'),
          ],
        });
        await client.query({
          name: 'b-audit',
          text: `insert into audit_events (${AUDIT_COLUMNS}) select $1, 'bench', $2, 'connector:update', 'connector', u.id, 'req', u.f, u.t, '["description"]' from unnest($3::text[], $4::int[], $5::int[]) as u(id, f, t)`,
          values: [at, WS, audit.map((a) => a.id), audit.map((a) => a.from), audit.map((a) => a.to)],
        });
      });
      for (const request of batch) request.resolve();
    } catch (error) {
      for (const request of batch) request.reject(error);
    }
  }

  return {
    bare: async (id) => {
      await pool.query({
        name: 'bare',
        text: "update connectors set description=$3, base_url='https://api.example.com', status='active', updated_at=$4, revision=revision+1 where workspace_id=$1 and id=$2 returning revision",
        values: [WS, id, described(), now()],
      });
    },
    'per-request': perRequest(false),
    prepared: perRequest(true),
    'one-statement': oneStatement,
    batched: (id) =>
      new Promise<void>((resolve, reject) => {
        queue.push({ id, resolve, reject });
        setImmediate(dispatch);
      }),
  };
}

async function measure(write: (id: string) => Promise<void>, hot: boolean) {
  let counting = false;
  let done = 0;
  let stop = false;
  const writers = Array.from({ length: WRITERS }, async () => {
    while (!stop) {
      await write(hot ? HOT : pick());
      if (counting) done++;
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  counting = true;
  const ticks = postgresTicks();
  const cpu = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  counting = false;
  const pgMs = ((postgresTicks() - ticks) * 1000) / CLK_TCK;
  const used = process.cpuUsage(cpu);
  const requests = done;
  stop = true;
  await Promise.all(writers);
  return {
    perSecond: requests / SECONDS,
    clientMs: (used.user + used.system) / 1000 / requests,
    postgresMs: pgMs / requests,
  };
}

async function main() {
  const schema = `bench_pg_patterns_${process.pid}`;
  const url = `${POSTGRES}${POSTGRES.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const admin = new pg.Client({ connectionString: POSTGRES });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const pool = new pg.Pool({ connectionString: url, max: 16 });
  const lines: string[] = [];
  try {
    say(`migrating ${schema} and seeding ${CONNECTORS} connectors…`);
    const db = openDb({ engine: 'postgres', location: url });
    await migrateToLatest(db);
    await db.close();
    await admin.query(
      `insert into ${schema}.workspaces (id, project_id, name, created_at, updated_at, revision) values ($1, 1, $1, '2026-01-01', '2026-01-01', 1)`,
      [WS],
    );
    await admin.query(
      `insert into ${schema}.connectors (workspace_id, id, name, description, protocol_type, base_url, is_public, tags, status, auth_scheme_configs, connection_variables, versions, created_at, updated_at, revision)
       select $1, 'c-' || lpad(n::text, 5, '0'), 'c-' || lpad(n::text, 5, '0'), 'seed', 'http', 'https://api.example.com', 0, '{}', 'active',
              '[{"id":"asc_1","schemeType":"API_KEY","config":{"in":"header","name":"X-Key"}}]', '[{"name":"region","value":"eu"}]', '[{"version":"v1"}]', '2026-01-01', '2026-01-01', 1
       from generate_series(0, $2 - 1) n`,
      [WS, CONNECTORS],
    );
    await admin.query(`vacuum analyze ${schema}.connectors`);
    const all = patterns(pool);
    lines.push(
      `bench:pg-patterns: one connector update + audit row per request, ${WRITERS} writers, pool of 16, ${SECONDS} s per row, PostgreSQL synchronous_commit as configured`,
      '',
      'pattern        ids      req/s  ×bare  client CPU ms/req  PostgreSQL CPU ms/req',
      '-------------  -------  -----  -----  -----------------  ---------------------',
    );
    for (const hot of [false, true]) {
      let bare = 0;
      for (const [name, write] of Object.entries(all)) {
        say(`${name}, ${hot ? 'one hot id' : 'uniform ids'}…`);
        const row = await measure(write, hot);
        if (name === 'bare') bare = row.perSecond;
        lines.push(
          `${name.padEnd(13)}  ${(hot ? 'hot' : 'uniform').padEnd(7)}  ${row.perSecond.toFixed(0).padStart(5)}  ${(row.perSecond / bare).toFixed(2).padStart(5)}  ${row.clientMs.toFixed(3).padStart(17)}  ${row.postgresMs.toFixed(3).padStart(21)}`,
        );
      }
    }
  } finally {
    await pool.end();
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:pg-patterns failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 2;
});
