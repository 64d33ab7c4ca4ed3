/**
 * `npm run bench:scale`: the native PUT and MCP tools/call through HAProxy in front of 1, 2 and 3 plugboard
 * nodes on one PostgreSQL and Redis, all in one run. On two cores total throughput cannot grow much; what must
 * hold is the server CPU per request, which may grow by at most 15 % from 1 to 3 nodes (no per-request
 * coordination between nodes beyond the PostgreSQL and Redis round trips).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { ROOT, cleanEnv, intEnv, plugboardCommand, say } from '../common/plugboard.js';
import { cpuTicks, freePort, startServer, ticksToMs, type Server } from '../common/processes.js';
import { startHaproxy } from '../../test/support/haproxy.js';

const SECONDS = intEnv('BENCH_SECONDS', 10);
const WARMUP = intEnv('BENCH_WARMUP_SECONDS', 2);
const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 32);
const CONNECTORS = intEnv('BENCH_CONNECTORS', 1000);
/**
 * The offered load per node for the `per-node` rows, in percent of what one node served flat out (measured
 * earlier in the same run): with 3 nodes the balancer gets 3 times this, so it must stay under a third.
 */
const RATE_PERCENT = intEnv('BENCH_RATE_PERCENT', 25);
const POSTGRES = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const KEY = `pbk_bench_${randomBytes(12).toString('hex')}`;
const MASTER = `bench:${randomBytes(32).toString('base64')}`;
const WS = '/api/v1/workspaces/default';

interface Row {
  readonly nodes: number;
  /** `shared`: the nodes share one schema and Redis; `apart`: the control group, a schema each and no Redis. */
  readonly group?: 'shared' | 'apart';
  /**
   * `max`: as fast as the nodes answer; `node`: a fixed offered load per node (the balancer gets it times the
   * number of nodes), so that every node does the same amount of work per second whatever the number of nodes.
   */
  readonly load: 'max' | 'node';
  readonly kind: 'PUT' | 'tools/call';
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  /** Server CPU per request, all nodes together. */
  readonly cpuPerRequest: number;
  readonly cpuPerNode: readonly number[];
  /** CPU ms per second spent by the running nodes that are not behind the balancer for this row. */
  readonly standbyCpuPerSecond: number;
}

async function json(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${KEY}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text.slice(0, 300)}`);
  return { headers: response.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

async function load(
  origin: string,
  kind: Row['kind'],
  seconds: number,
  session: { token: string; id: string },
  overallRate?: number,
) {
  const put: autocannon.Request = {
    method: 'PUT',
    setupRequest: (req) => {
      const id = `c-${String(Math.floor(Math.random() * CONNECTORS)).padStart(5, '0')}`;
      return {
        ...req,
        path: `${WS}/connectors/${id}`,
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'if-match': '*' },
        body: JSON.stringify({
          name: id,
          description: `scale ${randomBytes(6).toString('hex')}`,
          baseUrl: 'https://api.example.com',
        }),
      };
    },
  };
  const call: autocannon.Request = {
    method: 'POST',
    setupRequest: (req) => ({
      ...req,
      path: '/mcp/default/echo',
      headers: {
        authorization: `Bearer ${session.token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': session.id,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'echo', arguments: { value: randomBytes(8).toString('hex') } },
      }),
    }),
  };
  const result = await autocannon({
    url: origin,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [kind === 'PUT' ? put : call],
    ...(overallRate === undefined ? {} : { overallRate }),
  });
  return { requests: result.requests.total, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx };
}

/** Runs one load and reads the CPU time every active node spent on it from /proc. */
async function measure(
  all: readonly Server[],
  active: readonly Server[],
  nodes: number,
  kind: Row['kind'],
  how: Row['load'],
  run: () => ReturnType<typeof load>,
): Promise<Row> {
  const standby = all.filter((n) => !active.includes(n));
  const before = active.map((n) => cpuTicks(n.pid));
  const standbyBefore = standby.map((n) => cpuTicks(n.pid));
  const result = await run();
  const spent = active.map((n, i) => ticksToMs(cpuTicks(n.pid) - before[i]!));
  const standbySpent = standby.map((n, i) => ticksToMs(cpuTicks(n.pid) - standbyBefore[i]!));
  const total = spent.reduce((a, b) => a + b, 0);
  return {
    nodes,
    load: how,
    kind,
    perSecond: result.requests / SECONDS,
    p50: result.p50,
    p99: result.p99,
    non2xx: result.non2xx,
    cpuPerRequest: total / Math.max(1, result.requests),
    cpuPerNode: spent.map((ms) => ms / Math.max(1, result.requests)),
    standbyCpuPerSecond: standby.length === 0 ? 0 : standbySpent.reduce((a, b) => a + b, 0) / standby.length / SECONDS,
  };
}

const urlFor = (schema: string) =>
  `${POSTGRES}${POSTGRES.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;

/** Starts a plugboard node on `schema`; with `redis`, on the shared Redis too. */
async function startNode(name: string, dir: string, schema: string, redis: boolean): Promise<Server> {
  const command = plugboardCommand(process.env.BENCH_PLUGBOARD ?? 'dist');
  const port = await freePort();
  say(`starting ${name} (${command.how})…`);
  return startServer({
    name,
    args: [
      ...(process.env.BENCH_CPU_PROF === '1'
        ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, `cpu-profile-${name}`)}`]
        : []),
      ...command.args,
      'serve',
    ],
    cwd: ROOT,
    port,
    logFile: join(dir, `${name}.log`),
    env: {
      ...cleanEnv(),
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ID: name,
      DATA_DIR: join(dir, `data-${name}`),
      DATABASE_URL: urlFor(schema),
      ...(redis ? { REDIS_URL: REDIS } : {}),
      PLUGBOARD_MASTER_KEYS: MASTER,
      PLUGBOARD_ADMIN_KEY: KEY,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_READ_PER_SECOND: '0',
      RATE_LIMIT_WRITE_PER_SECOND: '0',
      RATE_LIMIT_GATEWAY_PER_SECOND: '0',
    },
  });
}

/** The connectors and the echo toolset, through the node at `origin` on `schema`. */
async function seed(admin: pg.Client, origin: string, schema: string, upstreamUrl: string): Promise<void> {
  await json('POST', `${origin}${WS}/connectors`, {
    id: 'c-00000',
    name: 'c-00000',
    baseUrl: 'https://api.example.com',
  });
  // The rest copied in SQL: creating thousands through the API would measure seeding, not scaling.
  await admin.query(
    `insert into ${schema}.connectors select (c).* from (select jsonb_populate_record(c0, jsonb_build_object('id', 'c-' || lpad(n::text, 5, '0'), 'name', 'c-' || lpad(n::text, 5, '0'))) as c from ${schema}.connectors c0, generate_series(1, $1 - 1) n where c0.id = 'c-00000') s`,
    [CONNECTORS],
  );
  const document = {
    openapi: '3.0.3',
    info: { title: 'echo', version: '1' },
    servers: [{ url: upstreamUrl }],
    paths: {
      '/echo': {
        post: {
          operationId: 'echo',
          requestBody: {
            content: { 'application/json': { schema: { type: 'object', properties: { value: { type: 'string' } } } } },
          },
          responses: { '200': { description: 'ok' } },
        },
      },
    },
  };
  await json('POST', `${origin}${WS}/toolsets`, {
    name: 'echo',
    spec: { schema: { type: 'OpenAPI', detail: JSON.stringify(document) } },
  });
  for (let settled = false; !settled;) {
    const toolset = await json('GET', `${origin}${WS}/toolsets/echo`);
    settled = (toolset.body as { status?: { phase?: string } }).status?.phase === 'Installed';
    if (!settled) await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'plugboard-bench-scale-'));
  const schema = `bench_scale_${process.pid}_${Date.now().toString(36)}`;
  // The control group: three nodes that share nothing (a schema each, no Redis), so nothing can coordinate them.
  const ownSchemas = [1, 2, 3].map((i) => `${schema}_own${i}`);
  const admin = new pg.Client({ connectionString: POSTGRES });
  await admin.connect();
  for (const name of [schema, ...ownSchemas]) await admin.query(`create schema ${name}`);
  const upstream = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end(Buffer.concat(chunks)));
  });
  upstream.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  const nodes: Server[] = [];
  const apart: Server[] = [];
  const rows: Row[] = [];
  try {
    for (const i of [1, 2, 3]) nodes.push(await startNode(`node-${i}`, dir, schema, true));
    for (const [i, own] of ownSchemas.entries()) apart.push(await startNode(`apart-${i + 1}`, dir, own, false));
    say(`seeding ${CONNECTORS} connectors and a toolset in each of the 4 schemas, and an access client…`);
    await seed(admin, nodes[0]!.origin, schema, upstreamUrl);
    for (const [i, own] of ownSchemas.entries()) await seed(admin, apart[i]!.origin, own, upstreamUrl);
    const first = nodes[0]!.origin;
    const created = await json('POST', `${first}${WS}/access-clients`, { name: 'bench', toolsets: ['echo'] });
    const token = (created.body as { secret: string }).secret;
    // The same client and token in the control group's stores (tokens are kept as digests; sessions are signed
    // with the master key all nodes share), so that one session serves every node of either group.
    for (const own of ownSchemas) {
      await admin.query(`insert into ${own}.access_clients select * from ${schema}.access_clients`);
      await admin.query(`insert into ${own}.access_client_secrets select * from ${schema}.access_client_secrets`);
    }
    const initialized = await fetch(`${first}/mcp/default/echo`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
      }),
    });
    const session = { token, id: initialized.headers.get('mcp-session-id')! };

    // Every node serves both kinds of request for a while first: a node whose code V8 has not optimised yet
    // spends more CPU per request, which would show up as a cost of running more nodes.
    for (const group of [nodes, apart]) {
      const all = await startHaproxy(group.map((n) => Number(new URL(n.origin).port)));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      try {
        for (const kind of ['PUT', 'tools/call'] as const) {
          say(`warming every node up, ${kind}: ${3 * WARMUP} s…`);
          await load(all.url, kind, 3 * WARMUP, session);
        }
      } finally {
        await all.stop();
      }
    }

    const everyone = [...nodes, ...apart];
    for (const [count, active, group] of [
      [1, nodes.slice(0, 1), 'shared'],
      [2, nodes.slice(0, 2), 'shared'],
      [3, nodes, 'shared'],
      [3, apart, 'apart'],
    ] as const) {
      const balancer = await startHaproxy(active.map((n) => Number(new URL(n.origin).port)));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      try {
        for (const kind of ['PUT', 'tools/call'] as const) {
          say(`${count} node(s), ${group}, ${kind}: ${WARMUP} s warm-up + ${SECONDS} s flat out…`);
          await load(balancer.url, kind, WARMUP, session);
          rows.push({
            ...(await measure(everyone, active, count, kind, 'max', () => load(balancer.url, kind, SECONDS, session))),
            group,
          });
          const oneNode = rows.find((r) => r.kind === kind && r.nodes === 1 && r.load === 'max')!;
          const rate = Math.max(1, Math.round((count * oneNode.perSecond * RATE_PERCENT) / 100));
          say(`${count} node(s), ${group}, ${kind}: ${SECONDS} s at ${rate} req/s…`);
          rows.push({
            ...(await measure(everyone, active, count, kind, 'node', () =>
              load(balancer.url, kind, SECONDS, session, rate),
            )),
            group,
          });
        }
      } finally {
        await balancer.stop();
      }
    }
  } finally {
    for (const node of [...nodes, ...apart]) await node.stop();
    upstream.close();
    for (const name of [schema, ...ownSchemas]) await admin.query(`drop schema if exists ${name} cascade`);
    await admin.end();
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
  }

  const lines = [
    `bench:scale: plugboard nodes behind HAProxy (round robin) on PostgreSQL + Redis, ${CONNECTIONS} connections, ${SECONDS} s per row`,
    `load: max = as fast as the nodes answer; node = ${RATE_PERCENT} % of what one node served flat out, per node (the balancer gets it × nodes)`,
    'group: shared = one schema and Redis (the deployment); apart = the control group, a schema each and no Redis (nothing to coordinate)',
    '',
    'nodes  group   request     load    req/s   p50 ms  p99 ms  non-2xx  CPU ms/req (all nodes)  per node               standby CPU ms/s',
    '-----  ------  ----------  ----  ------  ------  ------  -------  ----------------------  ---------------------  ----------------',
    ...rows.map(
      (r) =>
        `${String(r.nodes).padEnd(5)}  ${(r.group ?? '').padEnd(6)}  ${r.kind.padEnd(10)}  ${r.load.padEnd(4)}  ${r.perSecond.toFixed(0).padStart(6)}  ${String(r.p50).padStart(6)}  ${String(r.p99).padStart(6)}  ${String(r.non2xx).padStart(7)}  ${r.cpuPerRequest.toFixed(3).padStart(22)}  ${r.cpuPerNode
          .map((c) => c.toFixed(3))
          .join(' / ')
          .padEnd(21)}  ${r.standbyCpuPerSecond.toFixed(1).padStart(16)}`,
    ),
    '',
  ];
  let failed = false;
  const find = (kind: Row['kind'], how: Row['load'], nodes: number, group: Row['group']) =>
    rows.find((r) => r.kind === kind && r.load === how && r.nodes === nodes && r.group === group)!;
  for (const how of ['max', 'node'] as const) {
    for (const kind of ['PUT', 'tools/call'] as const) {
      const one = find(kind, how, 1, 'shared');
      const three = find(kind, how, 3, 'shared');
      const control = find(kind, how, 3, 'apart');
      const growth = three.cpuPerRequest / one.cpuPerRequest;
      const ok = growth <= 1.15;
      failed ||= !ok;
      lines.push(
        `${kind}, ${how} load: CPU per request with 3 nodes is ${growth.toFixed(2)}× that with 1 node (target ≤ 1.15×): ${ok ? 'pass' : 'FAIL'}; ` +
          `3 nodes that share nothing: ${(control.cpuPerRequest / one.cpuPerRequest).toFixed(2)}×, so sharing costs ${(three.cpuPerRequest / control.cpuPerRequest).toFixed(2)}×`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (failed) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:scale failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 2;
});
