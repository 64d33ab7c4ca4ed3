/**
 * `npm run bench:write`: plugboard's writes (connector PUT, access-client PATCH) against a bare Fastify server
 * doing the same durable UPDATE, on SQLite and on PostgreSQL, started and measured in the same run. See
 * bench/README.md.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, statfsSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { WORKSPACE } from './connector-shape.js';
import { drive, type LoadResult, type Scenario, type Target } from './load.js';
import { RESOURCES, type ResourceName, type WriteResource } from './resources.js';
import { ROOT, cleanEnv, intEnv, plugboardCommand, say } from '../common/plugboard.js';
import { CLK_TCK, cpuTicks, freePort, startServer, ticksToMs, waitIdle, type Server } from '../common/processes.js';
import { inSchema, postgresTicks, ticksBetween } from '../common/postgres.js';
import { combineRounds, printReport, type Row } from './report.js';
import { cloneInPostgres, cloneInSqlite, createTemplate } from './seed.js';
import { benchReads, closeReads, type ReadFigures } from './reads.js';

const settings = {
  seconds: intEnv('BENCH_SECONDS', 10),
  /** The measured seconds of a row are split into this many rounds, bare and plugboard taking turns. */
  rounds: Math.max(1, intEnv('BENCH_ROUNDS', 3)),
  warmupSeconds: intEnv('BENCH_WARMUP_SECONDS', 2),
  connections: intEnv('BENCH_CONNECTIONS', 32),
  /** Rows of each resource in each store. */
  connectors: intEnv('BENCH_CONNECTORS', 10_000),
  resources: (process.env.BENCH_RESOURCES ?? 'connector,access-client,toolset,connection')
    .split(',')
    .map((s) => s.trim()),
  stores: (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',').map((s) => s.trim()),
  scenarios: (process.env.BENCH_SCENARIOS ?? 'hot,uniform').split(',').map((s) => s.trim()),
  postgresUrl: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  /** `dist` (build if needed) or `tsx` (run src/ directly). */
  plugboard: process.env.BENCH_PLUGBOARD ?? 'dist',
  cpuProfile: process.env.BENCH_CPU_PROF === '1',
  /** `0` leaves out the reads with 1,000,000 connections. */
  reads: process.env.BENCH_READS !== '0',
  keep: process.env.BENCH_KEEP === '1',
};

interface Pair {
  readonly bare: Server;
  readonly plugboard: Server;
  /** The SQLite files (their -wal beside them); undefined on PostgreSQL. */
  readonly dbFiles?: { bare: string; plugboard: string };
}

async function startPair(
  store: 'sqlite' | 'postgres',
  dir: string,
  plugboard: { args: string[] },
  adminKey: string,
  schemas?: { bare: string; plugboard: string },
): Promise<Pair> {
  const env = cleanEnv();
  const bareDb = store === 'sqlite' ? join(dir, 'bare.db') : inSchema(settings.postgresUrl, schemas!.bare);
  const barePort = await freePort();
  const bare = await startServer({
    name: `bare ${store}`,
    args: ['--import', 'tsx', join(ROOT, 'bench/write/bare-server.ts')],
    env: { ...env, BARE_ENGINE: store, BARE_DB: bareDb, PORT: String(barePort) },
    port: barePort,
    logFile: join(dir, 'bare.log'),
    cwd: ROOT,
  });
  try {
    const dataDir = join(dir, 'plugboard');
    const pbPort = await freePort();
    const pbEnv: NodeJS.ProcessEnv = {
      ...env,
      DATA_DIR: dataDir,
      PLUGBOARD_ADMIN_KEY: adminKey,
      RATE_LIMIT_READ_PER_SECOND: '0',
      RATE_LIMIT_WRITE_PER_SECOND: '0',
      LOG_LEVEL: 'warn',
    };
    if (store === 'postgres') {
      pbEnv.DATABASE_URL = inSchema(settings.postgresUrl, schemas!.plugboard);
      pbEnv.PLUGBOARD_MASTER_KEYS = `bench:${randomBytes(32).toString('base64')}`;
    }
    const profile = settings.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'cpu-profile')}`] : [];
    const server = await startServer({
      name: `plugboard ${store}`,
      args: [...profile, ...plugboard.args, 'serve', '--host', '127.0.0.1', '--port', String(pbPort)],
      env: pbEnv,
      port: pbPort,
      logFile: join(dir, 'plugboard.log'),
      cwd: ROOT,
    });
    const dbFiles = store === 'sqlite' ? { bare: bareDb, plugboard: join(dataDir, 'plugboard.db') } : undefined;
    return { bare, plugboard: server, dbFiles };
  } catch (error) {
    await bare.stop();
    throw error;
  }
}

const fileSize = (path: string) => (existsSync(path) ? statSync(path).size : 0);

async function measure(
  store: 'sqlite' | 'postgres',
  resource: WriteResource,
  scenario: Scenario,
  server: Server,
  target: Target,
  postgres: { admin: pg.Client; schema: string } | undefined,
  walFile: string | undefined,
  seconds: number,
  warmupSeconds: number,
): Promise<Row> {
  if (warmupSeconds > 0) await drive(target, resource, scenario, warmupSeconds, settings.connections);
  // Let the server finish what the warm-up left queued, so that its CPU time is not counted in this run.
  await waitIdle(() => cpuTicks(server.pid));
  const admin = postgres?.admin;
  const lsn = admin && (await admin.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')).rows[0]!.lsn;
  const pgBefore = postgres && (await postgresTicks(postgres.admin, postgres.schema));
  const before = cpuTicks(server.pid);
  const result: LoadResult = await drive(target, resource, scenario, seconds, settings.connections);
  const serverMs = ticksToMs(cpuTicks(server.pid) - before);
  const pgMs =
    postgres && pgBefore
      ? ticksToMs(ticksBetween(pgBefore, await postgresTicks(postgres.admin, postgres.schema)))
      : undefined;
  const walBytes =
    admin && lsn
      ? Number(
          (
            await admin.query<{ bytes: string }>('select pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::text as bytes', [
              lsn,
            ])
          ).rows[0]!.bytes,
        )
      : undefined;
  await waitIdle(() => cpuTicks(server.pid));
  const answered2xx = result.requests - result.non2xx;
  return {
    store,
    resource: resource.name,
    scenario,
    server: server.name.split(' ')[0]!,
    result,
    serverCpuMsPerRequest: serverMs / Math.max(1, result.requests),
    postgresCpuMsPerRequest: pgMs === undefined ? undefined : pgMs / Math.max(1, result.requests),
    walFileBytes: walFile === undefined ? undefined : fileSize(walFile),
    walBytesPerRequest: walBytes === undefined ? undefined : walBytes / Math.max(1, answered2xx),
  };
}

async function benchStore(
  store: 'sqlite' | 'postgres',
  root: string,
  plugboard: { args: string[] },
  reads: ReadFigures[],
): Promise<Row[]> {
  const dir = join(root, store);
  mkdirSync(dir, { recursive: true });
  const adminKey = `pbk_bench_${randomBytes(18).toString('base64url')}`;
  let admin: pg.Client | undefined;
  let schemas: { bare: string; plugboard: string } | undefined;
  if (store === 'postgres') {
    admin = new pg.Client({ connectionString: settings.postgresUrl });
    await admin.connect();
    const run = `${process.pid}_${Date.now().toString(36)}`;
    schemas = { bare: `bench_write_${run}_bare`, plugboard: `bench_write_${run}_plugboard` };
    for (const schema of Object.values(schemas)) await admin.query(`create schema ${schema}`);
    const sync = (await admin.query<{ synchronous_commit: string }>('show synchronous_commit')).rows[0]!
      .synchronous_commit;
    say(`postgres: schemas ${schemas.bare}, ${schemas.plugboard}; synchronous_commit=${sync}`);
  }
  let pair: Pair | undefined;
  try {
    say(`${store}: starting the bare server and plugboard…`);
    pair = await startPair(store, dir, plugboard, adminKey, schemas);
    const origins = { bare: pair.bare.origin, plugboard: pair.plugboard.origin };
    const headers = { bare: {}, plugboard: { authorization: `Bearer ${adminKey}` } };
    const resources = settings.resources.map((name) => RESOURCES[name as ResourceName]);
    const rows: Row[] = [];
    for (const resource of resources) {
      const targets = {} as Record<'bare' | 'plugboard', Target>;
      for (const name of ['bare', 'plugboard'] as const) {
        const started = performance.now();
        const target: Target = { origin: origins[name], headers: headers[name], etags: new Map(), retired: new Set() };
        const etag = await createTemplate(target, resource);
        if (store === 'sqlite') cloneInSqlite(pair.dbFiles![name], resource, settings.connectors);
        else await cloneInPostgres(admin!, schemas![name], resource, settings.connectors);
        for (let i = 0; i < settings.connectors; i++) target.etags.set(resource.idOf(i), etag);
        targets[name] = target;
        say(
          `${store}: seeded ${settings.connectors} ${resource.table} into ${name} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
        );
      }
      for (const scenario of (['hot', 'uniform'] as const).filter((s) => settings.scenarios.includes(s))) {
        // Bare and plugboard take turns, in short rounds and in alternating order, so that a machine whose speed
        // drifts during the run (other tenants, CPU frequency) slows both alike; each row sums its rounds.
        const seconds = settings.seconds / settings.rounds;
        const rounds: Record<'bare' | 'plugboard', Row[]> = { bare: [], plugboard: [] };
        for (let round = 0; round < settings.rounds; round++) {
          // A full warm-up before a server's first round; a short one before the others, to refill its caches.
          for (const name of round % 2 === 0 ? (['bare', 'plugboard'] as const) : (['plugboard', 'bare'] as const)) {
            const warmup = round < 2 ? settings.warmupSeconds : Math.min(1, settings.warmupSeconds);
            say(
              `${store}: ${resource.label}, ${scenario}, ${name}, round ${round + 1}/${settings.rounds}: ${warmup} s warm-up + ${seconds.toFixed(1)} s…`,
            );
            const postgres = admin && schemas ? { admin, schema: schemas[name] } : undefined;
            rounds[name].push(
              await measure(
                store,
                resource,
                scenario,
                pair[name],
                targets[name],
                postgres,
                pair.dbFiles && `${pair.dbFiles[name]}-wal`,
                seconds,
                warmup,
              ),
            );
          }
        }
        rows.push(combineRounds(rounds.bare), combineRounds(rounds.plugboard));
      }
    }
    if (settings.reads) {
      say(`${store}: reads with 1,000,000 connections…`);
      const location =
        store === 'sqlite' ? pair.dbFiles!.plugboard : inSchema(settings.postgresUrl, schemas!.plugboard);
      reads.push(await benchReads({ engine: store, location }, pair.plugboard.origin, headers.plugboard, say));
    }
    return rows;
  } finally {
    await pair?.plugboard.stop();
    await pair?.bare.stop();
    if (admin) {
      for (const schema of Object.values(schemas ?? {})) await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    }
  }
}

async function postgresReachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: settings.postgresUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function main() {
  const started = performance.now();
  const loadBefore = loadavg()[0]!;
  const plugboard = plugboardCommand(settings.plugboard);
  const root = mkdtempSync(join(tmpdir(), 'plugboard-bench-write-'));
  // fsync on tmpfs returns at once: SQLite figures from there would say nothing about durable writes.
  const TMPFS_MAGIC = 0x01021994;
  if (statfsSync(root).type === TMPFS_MAGIC)
    say(`warning: ${root} is on tmpfs, where fsync costs nothing; set TMPDIR to a directory on a disk`);
  say(`working in ${root}`);

  const rows: Row[] = [];
  const reads: ReadFigures[] = [];
  const skipped: string[] = [];
  let failed = false;
  try {
    const unknown = settings.scenarios.filter((s) => s !== 'hot' && s !== 'uniform');
    if (unknown.length > 0) throw new Error(`BENCH_SCENARIOS: unknown scenario "${unknown[0]}" (hot, uniform)`);
    const unknownResource = settings.resources.find((r) => !Object.hasOwn(RESOURCES, r));
    if (unknownResource !== undefined)
      throw new Error(`BENCH_RESOURCES: unknown resource "${unknownResource}" (${Object.keys(RESOURCES).join(', ')})`);
    for (const store of settings.stores) {
      if (store !== 'sqlite' && store !== 'postgres')
        throw new Error(`BENCH_STORES: unknown store "${store}" (sqlite, postgres)`);
      if (store === 'postgres') {
        const problem = await postgresReachable();
        if (problem) {
          skipped.push(
            `postgres: not reachable at ${settings.postgresUrl} (${problem}); set BENCH_POSTGRES_URL, or BENCH_STORES=sqlite`,
          );
          failed = true;
          continue;
        }
      }
      rows.push(...(await benchStore(store, root, plugboard, reads)));
    }
  } finally {
    closeReads();
    if (settings.keep || settings.cpuProfile)
      say(`kept ${root} (logs${settings.cpuProfile ? ', CPU profiles under */cpu-profile' : ''})`);
    else rmSync(root, { recursive: true, force: true });
  }

  printReport(rows, reads, {
    machine: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, CLK_TCK ${CLK_TCK}`,
    plugboard: plugboard.how,
    load: `autocannon, ${settings.connections} connections, pipelining 1, ${settings.seconds} s per row in ${settings.rounds} round(s), bare and plugboard taking turns, each after a warm-up (${settings.warmupSeconds} s, 1 s from the third round); ${settings.connectors} rows of each resource (${settings.resources.join(', ')}), workspace "${WORKSPACE}", the hot id is each one's first row`,
    elapsedSeconds: (performance.now() - started) / 1000,
    loadAverage: [loadBefore, loadavg()[0]!],
    skipped,
  });
  if (failed) process.exitCode = 1;
}

await main();
