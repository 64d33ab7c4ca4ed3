/**
 * `npm run bench:gateway`: one MCP tools/call through plugboard's gateway, against a minimal gateway built the
 * way the MCP SDK documents it and against the upstream called directly, all started and measured in the same
 * run; plus the OpenAPI converter on a 2,000-operation document. See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, cleanEnv, intEnv, plugboardCommand, say } from '../common/plugboard.js';
import { CLK_TCK, cpuTicks, freePort, startServer, ticksToMs, waitIdle, type Server } from '../common/processes.js';
import type { ConvertTiming } from './convert.js';
import {
  drive,
  latencyProbe,
  mergeResults,
  sdkClientPool,
  type LoadResult,
  type SdkClientPool,
  type Target,
} from './load.js';
import { echoDocument } from './openapi-document.js';
import { SERVER_LABEL, printReport, type LatencyRow, type LoadRow, type ServerName } from './report.js';

const settings = {
  seconds: intEnv('BENCH_SECONDS', 10),
  warmupSeconds: intEnv('BENCH_WARMUP_SECONDS', 2),
  connections: intEnv('BENCH_CONNECTIONS', 32),
  latencyCalls: intEnv('BENCH_LATENCY_CALLS', 3000),
  /** Each loaded row's measured seconds are run in slices of this length, alternating between the servers. */
  sliceSeconds: intEnv('BENCH_SLICE_SECONDS', 2),
  /** `dist` (build if needed) or `tsx` (run src/ directly). */
  plugboard: process.env.BENCH_PLUGBOARD ?? 'dist',
  cpuProfile: process.env.BENCH_CPU_PROF === '1',
  /** Another build's `dist/cli/main.js` (e.g. of an earlier commit), measured as one more row in the same rounds. */
  baselineCli: process.env.BENCH_BASELINE_CLI,
  keep: process.env.BENCH_KEEP === '1',
};

const WORKSPACE = 'default';
const TOOLSET = 'bench-echo';
const TOOL = 'echo';

/** The converter row: each format in a cold process of its own, before any server starts. */
function timeConverter(): ConvertTiming[] {
  return (['JSON', 'YAML'] as const).map((format) => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/gateway/convert.ts')], {
      cwd: ROOT,
      env: { ...cleanEnv(), CONVERT_FORMAT: format },
      encoding: 'utf8',
    });
    if (child.status !== 0) throw new Error(`the converter run (${format}) failed:\n${child.stderr.trim()}`);
    return JSON.parse(child.stdout.trim().split('\n').pop()!) as ConvertTiming;
  });
}

/** One call of plugboard's native API with the admin key. */
async function api(
  origin: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${origin}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

/** The parts of a native toolset view this benchmark reads. */
interface ToolsetView {
  generation?: number;
  status?: {
    phase?: string;
    observedGeneration?: number;
    outputs?: { tools: { name: string }[]; mcpServerConfig: { url: string } };
  };
}

/**
 * Seeds plugboard through its native API: a toolset whose OpenAPI document has the one `echo` operation pointing
 * at the upstream, installed by the reconciler, and an access client allowed to use it. Returns the MCP target.
 */
async function seedPlugboard(
  plugboard: Server,
  adminKey: string,
  upstreamOrigin: string,
): Promise<Extract<Target, { kind: 'mcp' }>> {
  const ws = `/api/v1/workspaces/${WORKSPACE}`;
  const created = await api(plugboard.origin, adminKey, 'POST', `${ws}/toolsets`, {
    name: TOOLSET,
    description: 'bench:gateway echo API',
    spec: { schema: { type: 'OpenAPI', detail: echoDocument(upstreamOrigin) } },
  });
  if (created.status !== 201)
    throw new Error(`creating the toolset answered ${created.status}: ${JSON.stringify(created.body)}`);
  const deadline = Date.now() + 30_000;
  let toolset = created.body as ToolsetView;
  while (toolset.status?.phase !== 'Installed' || toolset.status?.observedGeneration !== toolset.generation) {
    if (toolset.status?.phase === 'Failed')
      throw new Error(`the toolset failed to install: ${JSON.stringify(toolset.status)}`);
    if (Date.now() > deadline)
      throw new Error(`the toolset was not installed within 30 s: ${JSON.stringify(toolset.status)}`);
    await sleep(50);
    const read = await api(plugboard.origin, adminKey, 'GET', `${ws}/toolsets/${TOOLSET}`);
    if (read.status !== 200)
      throw new Error(`reading the toolset answered ${read.status}: ${JSON.stringify(read.body)}`);
    toolset = read.body as ToolsetView;
  }
  const outputs = toolset.status?.outputs;
  if (!outputs) throw new Error(`the installed toolset has no outputs: ${JSON.stringify(toolset.status)}`);
  const tools = outputs.tools;
  if (!tools.some((t) => t.name === TOOL))
    throw new Error(`the installed toolset has no tool "${TOOL}": ${tools.map((t) => t.name).join(', ')}`);
  const client = await api(plugboard.origin, adminKey, 'POST', `${ws}/access-clients`, {
    name: 'bench-gateway',
    toolsets: [TOOLSET],
  });
  const secret = (client.body as { secret?: unknown } | undefined)?.secret;
  if (client.status !== 201 || typeof secret !== 'string')
    throw new Error(`creating the access client answered ${client.status}: ${JSON.stringify(client.body)}`);
  // The URL plugboard prints for MCP clients, on the origin this run reaches it at.
  const advertised = new URL(outputs.mcpServerConfig.url, plugboard.origin);
  return {
    kind: 'mcp',
    url: `${plugboard.origin}${advertised.pathname}`,
    headers: { authorization: `Bearer ${secret}` },
    tool: TOOL,
  };
}

interface Servers {
  readonly upstream: Server;
  readonly sdk: Server;
  readonly sdkLean: Server;
  readonly plugboard: Server;
  /** BENCH_BASELINE_CLI's plugboard, when set. */
  readonly baseline?: Server;
}

/** The servers measured in every round: the baseline build's plugboard only when there is one. */
const namesOf = (servers: Servers, names: readonly ServerName[]): ServerName[] =>
  servers.baseline ? [...names, 'baseline'] : [...names];

function serverOf(servers: Servers, name: Exclude<ServerName, 'direct'>): Server {
  const server = servers[name];
  if (!server) throw new Error(`no ${SERVER_LABEL[name]} was started`);
  return server;
}

/** CPU ticks of the process answering `server`'s load, and of the upstream behind it. */
function ticksOf(servers: Servers, server: ServerName): { server: number; upstream: number } {
  const pid = server === 'direct' ? servers.upstream.pid : serverOf(servers, server).pid;
  return { server: cpuTicks(pid), upstream: server === 'direct' ? 0 : cpuTicks(servers.upstream.pid) };
}

const quiet = (servers: Servers) =>
  waitIdle(
    () =>
      cpuTicks(servers.upstream.pid) +
      cpuTicks(servers.sdk.pid) +
      cpuTicks(servers.sdkLean.pid) +
      cpuTicks(servers.plugboard.pid) +
      (servers.baseline ? cpuTicks(servers.baseline.pid) : 0),
  );

/** CPU ticks and calls of one server's slices, added up. */
interface Tally {
  results: LoadResult[];
  serverTicks: number;
  upstreamTicks: number;
  clientMicros: number;
}

const newTally = (): Tally => ({ results: [], serverTicks: 0, upstreamTicks: 0, clientMicros: 0 });
const cpuMicros = (usage: NodeJS.CpuUsage) => usage.user + usage.system;

/** Reads the CPU counters around one slice and adds the slice to `tally`. */
function meter(servers: Servers, server: ServerName, tally: Tally) {
  let before = ticksOf(servers, server);
  let client = process.cpuUsage();
  return {
    start() {
      before = ticksOf(servers, server);
      client = process.cpuUsage();
    },
    end() {
      const clientMicros = cpuMicros(process.cpuUsage(client));
      const after = ticksOf(servers, server);
      tally.serverTicks += after.server - before.server;
      tally.upstreamTicks += after.upstream - before.upstream;
      tally.clientMicros += clientMicros;
    },
  };
}

function rowOf(load: LoadRow['load'], server: ServerName, tally: Tally): LoadRow {
  const result = mergeResults(tally.results);
  const calls = Math.max(1, result.calls);
  return {
    load,
    server,
    result,
    serverCpuMs: ticksToMs(tally.serverTicks) / calls,
    upstreamCpuMs: server === 'direct' ? undefined : ticksToMs(tally.upstreamTicks) / calls,
    clientCpuMs: tally.clientMicros / 1000 / calls,
  };
}

/** The slices of one loaded row: BENCH_SECONDS cut into BENCH_SLICE_SECONDS pieces (the last one may be shorter). */
function slices(): number[] {
  const parts: number[] = [];
  for (let left = settings.seconds; left > 0; left -= settings.sliceSeconds)
    parts.push(Math.min(settings.sliceSeconds, left));
  return parts;
}

/** The servers in turn, starting with a different one in each round so that none is always measured first. */
const rotated = <T>(items: readonly T[], round: number) => items.map((_, i) => items[(i + round) % items.length]!);

/**
 * Raw JSON-RPC rows: a warm-up per server, then rounds in which every server gets one slice of load, with a wait
 * for quiet servers before each slice. Each row adds up its server's slices.
 */
async function measureRaw(servers: Servers, targets: Partial<Record<ServerName, Target>>): Promise<LoadRow[]> {
  const names = namesOf(servers, ['direct', 'sdk', 'sdkLean', 'plugboard']);
  const tallies = new Map(names.map((name) => [name, newTally()]));
  for (const name of names) {
    say(
      `raw JSON-RPC, ${SERVER_LABEL[name]}: ${settings.warmupSeconds} s warm-up, ${settings.connections} connections…`,
    );
    await drive(targets[name]!, settings.warmupSeconds, settings.connections);
  }
  const parts = slices();
  say(`raw JSON-RPC: ${parts.length} rounds of ${parts[0]} s per server…`);
  for (const [round, seconds] of parts.entries()) {
    for (const name of rotated(names, round)) {
      await quiet(servers);
      const tally = tallies.get(name)!;
      const window = meter(servers, name, tally);
      window.start();
      tally.results.push(await drive(targets[name]!, seconds, settings.connections));
      window.end();
    }
  }
  await quiet(servers);
  return names.map((name) => rowOf('raw', name, tallies.get(name)!));
}

/** SDK-client rows: BENCH_CONNECTIONS clients per gateway, connected once, warmed up, then driven in alternating slices. */
async function measureSdkClients(servers: Servers, targets: Partial<Record<ServerName, Target>>): Promise<LoadRow[]> {
  const names = ['sdk', 'plugboard'] as const;
  const pools = new Map<ServerName, SdkClientPool>();
  try {
    for (const name of names) {
      say(
        `SDK clients, ${SERVER_LABEL[name]}: connecting ${settings.connections} clients, ${settings.warmupSeconds} s warm-up…`,
      );
      const pool = await sdkClientPool(targets[name] as Extract<Target, { kind: 'mcp' }>, settings.connections);
      pools.set(name, pool);
      await pool.run(settings.warmupSeconds);
    }
    const tallies = new Map<ServerName, Tally>(names.map((name) => [name, newTally()]));
    const parts = slices();
    say(`SDK clients: ${parts.length} rounds of ${parts[0]} s per gateway…`);
    for (const [round, seconds] of parts.entries()) {
      for (const name of rotated(names, round)) {
        await quiet(servers);
        const tally = tallies.get(name)!;
        tally.results.push(await pools.get(name)!.run(seconds, meter(servers, name, tally)));
      }
    }
    await quiet(servers);
    return names.map((name) => rowOf('sdk-clients', name, tallies.get(name)!));
  } finally {
    for (const pool of pools.values()) await pool.close();
  }
}

/** Sequential calls on one connection per target, in rounds that alternate the targets so that drift hits all alike. */
async function measureLatency(servers: Servers, targets: Partial<Record<ServerName, Target>>): Promise<LatencyRow[]> {
  say(`one connection: ${settings.latencyCalls} sequential calls per target, in rounds…`);
  await quiet(servers);
  const names = namesOf(servers, ['direct', 'sdk', 'sdkLean', 'plugboard']);
  const probes = await Promise.all(names.map((name) => latencyProbe(targets[name]!)));
  try {
    for (const probe of probes) await probe.calls(Math.min(500, settings.latencyCalls), false);
    const rounds = 10;
    for (let round = 0; round < rounds; round++) {
      const count = Math.ceil(settings.latencyCalls / rounds);
      for (const probe of probes) await probe.calls(count, true);
    }
    return names.map((server, i) => ({ server, ...probes[i]!.result() }));
  } finally {
    for (const probe of probes) probe.close();
  }
}

/** Servers started and not stopped yet: stopped by signal when the command itself is ended early. */
const running = new Set<Server>();
/** The run's temporary directory, removed on an early end too (unless BENCH_KEEP or BENCH_CPU_PROF). */
let workDir: string | undefined;

/** This process's own child processes, including a server still starting (not in `running` yet). */
function childPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

const killChildren = () => {
  for (const pid of childPids()) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
};

function stopOnExit() {
  const stopAll = async (signal: NodeJS.Signals) => {
    for (const server of running) await server.stop();
    killChildren();
    if (workDir && !settings.keep && !settings.cpuProfile) rmSync(workDir, { recursive: true, force: true });
    process.kill(process.pid, signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, (s) => void stopAll(s));
  // Any other way out (an uncaught error, a closed stdout): no time for a graceful stop, but no orphans either.
  process.once('exit', killChildren);
}

async function stopServer(server: Server) {
  await server.stop();
  running.delete(server);
}

async function startServers(dir: string, plugboard: { args: string[] }, adminKey: string): Promise<Servers> {
  const env = cleanEnv();
  const started = running;
  try {
    const upstreamPort = await freePort();
    const upstream = await startServer({
      name: 'upstream',
      args: ['--import', 'tsx', join(ROOT, 'bench/gateway/upstream.ts')],
      env: { ...env, PORT: String(upstreamPort) },
      port: upstreamPort,
      logFile: join(dir, 'upstream.log'),
      cwd: ROOT,
    });
    started.add(upstream);
    const sdkGateway = async (style: 'documented' | 'lean') => {
      const port = await freePort();
      const server = await startServer({
        name: `sdk-${style}`,
        args: ['--import', 'tsx', join(ROOT, 'bench/gateway/sdk-gateway.ts')],
        env: { ...env, PORT: String(port), UPSTREAM: upstream.origin, SDK_GATEWAY_STYLE: style },
        port,
        logFile: join(dir, `sdk-gateway-${style}.log`),
        cwd: ROOT,
      });
      started.add(server);
      return server;
    };
    const sdk = await sdkGateway('documented');
    const sdkLean = await sdkGateway('lean');
    const profile = settings.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'cpu-profile')}`] : [];
    const startPlugboard = async (name: 'plugboard' | 'baseline', args: readonly string[]) => {
      const port = await freePort();
      const server = await startServer({
        name,
        args: [...profile, ...args, 'serve', '--host', '127.0.0.1', '--port', String(port)],
        env: {
          ...env,
          DATA_DIR: join(dir, name),
          PLUGBOARD_ADMIN_KEY: adminKey,
          RATE_LIMIT_GATEWAY_PER_SECOND: '0',
          RATE_LIMIT_READ_PER_SECOND: '0',
          RATE_LIMIT_WRITE_PER_SECOND: '0',
          LOG_LEVEL: 'warn',
        },
        port,
        logFile: join(dir, `${name}.log`),
        cwd: ROOT,
      });
      started.add(server);
      return server;
    };
    const pb = await startPlugboard('plugboard', plugboard.args);
    const baseline = settings.baselineCli ? await startPlugboard('baseline', [settings.baselineCli]) : undefined;
    return { upstream, sdk, sdkLean, plugboard: pb, ...(baseline ? { baseline } : {}) };
  } catch (error) {
    for (const server of [...started].reverse()) await stopServer(server);
    throw error;
  }
}

async function main() {
  const started = performance.now();
  const loadBefore = loadavg()[0]!;
  stopOnExit();
  const plugboard = plugboardCommand(settings.plugboard);
  const dir = mkdtempSync(join(tmpdir(), 'plugboard-bench-gateway-'));
  workDir = dir;
  say(`working in ${dir}`);

  say('convertOpenApi: 2,000 operations, JSON and YAML, one cold process each…');
  const convert = timeConverter();

  const adminKey = `pbk_bench_${randomBytes(18).toString('base64url')}`;
  const loadRows: LoadRow[] = [];
  let latency: LatencyRow[];
  let servers: Servers | undefined;
  try {
    say('starting the upstream, the two SDK gateways and plugboard…');
    servers = await startServers(dir, plugboard, adminKey);
    const targets: Partial<Record<ServerName, Target>> = {
      direct: { kind: 'direct', url: `${servers.upstream.origin}/echo` },
      sdk: { kind: 'mcp', url: `${servers.sdk.origin}/mcp`, headers: {}, tool: TOOL },
      sdkLean: { kind: 'mcp', url: `${servers.sdkLean.origin}/mcp`, headers: {}, tool: TOOL },
      plugboard: await seedPlugboard(servers.plugboard, adminKey, servers.upstream.origin),
      ...(servers.baseline
        ? { baseline: await seedPlugboard(servers.baseline, adminKey, servers.upstream.origin) }
        : {}),
    };
    say(`plugboard serves the toolset at ${targets.plugboard!.url}`);
    loadRows.push(...(await measureRaw(servers, targets)));
    loadRows.push(...(await measureSdkClients(servers, targets)));
    latency = await measureLatency(servers, targets);
  } finally {
    if (servers)
      for (const server of [servers.baseline, servers.plugboard, servers.sdkLean, servers.sdk, servers.upstream])
        if (server) await stopServer(server);
    if (settings.keep || settings.cpuProfile)
      say(`kept ${dir} (logs${settings.cpuProfile ? ', plugboard CPU profile under cpu-profile/' : ''})`);
    else rmSync(dir, { recursive: true, force: true });
  }

  const problems: string[] = [];
  for (const row of loadRows) {
    const o = row.result.outcomes;
    const bad = o.failed + o.misrouted + row.result.errors + Object.values(o.statuses).reduce((a, b) => a + b, 0);
    if (bad > 0)
      problems.push(
        `${row.load} / ${SERVER_LABEL[row.server]}: ${bad} calls not answered with their own value${o.firstFailure ? ` (first: ${o.firstFailure})` : ''}`,
      );
  }
  for (const row of latency) {
    const o = row.outcomes;
    if (o.failed + o.misrouted > 0)
      problems.push(
        `one connection / ${SERVER_LABEL[row.server]}: ${o.failed + o.misrouted} calls not answered with their own value${o.firstFailure ? ` (first: ${o.firstFailure})` : ''}`,
      );
  }

  printReport({
    machine: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, CLK_TCK ${CLK_TCK}`,
    plugboard: settings.baselineCli ? `${plugboard.how}; baseline build ${settings.baselineCli}` : plugboard.how,
    settings: `${settings.warmupSeconds} s warm-up then ${settings.seconds} s per loaded row (in ${settings.sliceSeconds} s slices alternating between servers), ${settings.connections} connections / SDK clients, ${settings.latencyCalls} calls per target on one connection; load generator in this process on the same cores`,
    loadAverage: [loadBefore, loadavg()[0]!],
    elapsedSeconds: (performance.now() - started) / 1000,
    loadRows,
    latency,
    convert,
    problems,
  });
  // Missed performance targets are printed as FAIL; wrong answers also fail the command.
  if (problems.length > 0) process.exitCode = 1;
}

await main();
