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
const POSTGRES = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const KEY = `pbk_bench_${randomBytes(12).toString('hex')}`;
const MASTER = `bench:${randomBytes(32).toString('base64')}`;
const WS = '/api/v1/workspaces/default';

interface Row {
  readonly nodes: number;
  readonly kind: 'PUT' | 'tools/call';
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  /** Server CPU per request, all nodes together. */
  readonly cpuPerRequest: number;
  readonly cpuPerNode: readonly number[];
}

async function json(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text.slice(0, 300)}`);
  return { headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
}

async function load(origin: string, kind: Row['kind'], seconds: number, session: { token: string; id: string }) {
  const put: autocannon.Request = {
    method: 'PUT',
    setupRequest: (req) => {
      const id = `c-${String(Math.floor(Math.random() * CONNECTORS)).padStart(5, '0')}`;
      return {
        ...req,
        path: `${WS}/connectors/${id}`,
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'if-match': '*' },
        body: JSON.stringify({ name: id, description: `scale ${randomBytes(6).toString('hex')}`, baseUrl: 'https://api.example.com' }),
      };
    },
  };
  const call: autocannon.Request = {
    method: 'POST',
    setupRequest: (req) => ({
      ...req,
      path: '/mcp/default/echo',
      headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session.id },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { value: randomBytes(8).toString('hex') } } }),
    }),
  };
  const result = await autocannon({ url: origin, connections: CONNECTIONS, duration: seconds, requests: [kind === 'PUT' ? put : call] });
  return { requests: result.requests.total, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'plugboard-bench-scale-'));
  const schema = `bench_scale_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: POSTGRES });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const databaseUrl = `${POSTGRES}${POSTGRES.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const upstream = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    response.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  upstream.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  const command = plugboardCommand(process.env.BENCH_PLUGBOARD ?? 'dist');
  const nodes: Server[] = [];
  const rows: Row[] = [];
  try {
    const ports = [await freePort(), await freePort(), await freePort()];
    for (const [i, port] of ports.entries()) {
      say(`starting node ${i + 1} (${command.how})…`);
      nodes.push(
        await startServer({
          name: `node-${i + 1}`,
          args: [...(process.env.BENCH_CPU_PROF === '1' ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, `cpu-profile-${i + 1}`)}`] : []), ...command.args, 'serve'],
          cwd: ROOT,
          port,
          logFile: join(dir, `node-${i + 1}.log`),
          env: {
            ...cleanEnv(),
            PORT: String(port),
            HOST: '127.0.0.1',
            NODE_ID: `node-${i + 1}`,
            DATA_DIR: join(dir, `data-${i + 1}`),
            DATABASE_URL: databaseUrl,
            REDIS_URL: REDIS,
            PLUGBOARD_MASTER_KEYS: MASTER,
            PLUGBOARD_ADMIN_KEY: KEY,
            LOG_LEVEL: 'warn',
            RATE_LIMIT_READ_PER_SECOND: '0',
            RATE_LIMIT_WRITE_PER_SECOND: '0',
            RATE_LIMIT_GATEWAY_PER_SECOND: '0',
          },
        }),
      );
    }
    const first = nodes[0]!.origin;
    say(`seeding ${CONNECTORS} connectors, a toolset and an access client…`);
    await json('POST', `${first}${WS}/connectors`, { id: 'c-00000', name: 'c-00000', baseUrl: 'https://api.example.com' });
    // The rest copied in SQL: creating thousands through the API would measure seeding, not scaling.
    await admin.query(
      `insert into ${schema}.connectors select (c).* from (select jsonb_populate_record(c0, jsonb_build_object('id', 'c-' || lpad(n::text, 5, '0'), 'name', 'c-' || lpad(n::text, 5, '0'))) as c from ${schema}.connectors c0, generate_series(1, $1 - 1) n where c0.id = 'c-00000') s`,
      [CONNECTORS],
    );
    const document = {
      openapi: '3.0.3',
      info: { title: 'echo', version: '1' },
      servers: [{ url: upstreamUrl }],
      paths: { '/echo': { post: { operationId: 'echo', requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { value: { type: 'string' } } } } } }, responses: { '200': { description: 'ok' } } } } },
    };
    await json('POST', `${first}${WS}/toolsets`, { name: 'echo', spec: { schema: { type: 'OpenAPI', detail: JSON.stringify(document) } } });
    for (let settled = false; !settled; ) {
      const toolset = await json('GET', `${first}${WS}/toolsets/echo`);
      settled = toolset.body.status.phase === 'Installed';
      if (!settled) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const token: string = (await json('POST', `${first}${WS}/access-clients`, { name: 'bench', toolsets: ['echo'] })).body.secret;
    const initialized = await fetch(`${first}/mcp/default/echo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }),
    });
    const session = { token, id: initialized.headers.get('mcp-session-id')! };

    // Every node serves both kinds of request for a while first: a node whose code V8 has not optimised yet
    // spends more CPU per request, which would show up as a cost of running more nodes.
    {
      const all = await startHaproxy(nodes.map((n) => Number(new URL(n.origin).port)));
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

    for (const count of [1, 2, 3]) {
      const active = nodes.slice(0, count);
      const balancer = await startHaproxy(active.map((n) => Number(new URL(n.origin).port)));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      try {
        for (const kind of ['PUT', 'tools/call'] as const) {
          say(`${count} node(s), ${kind}: ${WARMUP} s warm-up + ${SECONDS} s…`);
          await load(balancer.url, kind, WARMUP, session);
          const before = active.map((n) => cpuTicks(n.pid));
          const result = await load(balancer.url, kind, SECONDS, session);
          const spent = active.map((n, i) => ticksToMs(cpuTicks(n.pid) - before[i]!));
          const total = spent.reduce((a, b) => a + b, 0);
          rows.push({
            nodes: count,
            kind,
            perSecond: result.requests / SECONDS,
            p50: result.p50,
            p99: result.p99,
            non2xx: result.non2xx,
            cpuPerRequest: total / Math.max(1, result.requests),
            cpuPerNode: spent.map((ms) => ms / Math.max(1, result.requests)),
          });
        }
      } finally {
        await balancer.stop();
      }
    }
  } finally {
    for (const node of nodes) await node.stop();
    upstream.close();
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
  }

  const lines = [
    `bench:scale: plugboard nodes behind HAProxy (round robin) on PostgreSQL + Redis, ${CONNECTIONS} connections, ${SECONDS} s per row`,
    '',
    'nodes  request     req/s   p50 ms  p99 ms  non-2xx  CPU ms/req (all nodes)  per node',
    '-----  ----------  ------  ------  ------  -------  ----------------------  ---------------------',
    ...rows.map(
      (r) =>
        `${String(r.nodes).padEnd(5)}  ${r.kind.padEnd(10)}  ${r.perSecond.toFixed(0).padStart(6)}  ${String(r.p50).padStart(6)}  ${String(r.p99).padStart(6)}  ${String(r.non2xx).padStart(7)}  ${r.cpuPerRequest.toFixed(3).padStart(22)}  ${r.cpuPerNode.map((c) => c.toFixed(3)).join(' / ')}`,
    ),
    '',
  ];
  let failed = false;
  for (const kind of ['PUT', 'tools/call'] as const) {
    const one = rows.find((r) => r.kind === kind && r.nodes === 1)!;
    const three = rows.find((r) => r.kind === kind && r.nodes === 3)!;
    const growth = three.cpuPerRequest / one.cpuPerRequest;
    const ok = growth <= 1.15;
    failed ||= !ok;
    lines.push(`${kind}: CPU per request with 3 nodes is ${growth.toFixed(2)}× that with 1 node (target ≤ 1.15×): ${ok ? 'pass' : 'FAIL'}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (failed) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:scale failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 2;
});
