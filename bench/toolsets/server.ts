/**
 * The server part of `bench:toolsets`: plugboard started as users run it, the labelled set's APIs imported as
 * toolsets through the native API one after another, and for each: the import time, how much the store grew,
 * the node's resident memory, and what an MCP client gets from the gateway (tools/list, every page, in whatever
 * tool mode the server has; `search_tools` when the server offers it).
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, cleanEnv, say } from '../common/plugboard.js';
import { CLK_TCK, cpuTicks, freePort, startServer, type Server } from '../common/processes.js';
import { openMcpSession } from './mcp.js';
import { NEW_USER_SCENARIOS, startRecordingUpstream, upstreamSpec, walkNewUser, type NewUserWalk } from './new-user.js';

export interface ToolsetFigures {
  readonly api: string;
  readonly title: string;
  readonly documentBytes: number;
  /** `Installed`, `Failed`, or the HTTP status the create answered when it was refused outright. */
  readonly outcome: string;
  readonly message: string | null;
  readonly importMs: number;
  /** CPU time the node spent from the create until the toolset settled (every thread: main and conversion). */
  readonly importCpuMs: number;
  readonly storeGrowthBytes: number;
  /** Half a second after the toolset settled: the conversion worker still holds the heap it grew to. */
  readonly rssAfterMb: number;
  /** The most the node's RSS reached from the create to half a second after it settled (sampled every 100 ms). */
  readonly rssPeakMb: number;
  /** After the conversion worker exited (idle for a second), against the same before the import. */
  readonly rssSettledMb: number;
  readonly rssGrowthMb: number;
  /** The main thread's V8 heap in use (from /metrics) after the worker exited. */
  readonly heapUsedMb: number;
  readonly listed: ListFigures | null;
}

/** The node's memory while it serves every imported toolset, after the MCP sessions of the server part. */
export interface ServingMemory {
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly externalMb: number;
}

export interface ListFigures {
  readonly tools: number;
  readonly pages: number;
  /** Every page's JSON-RPC answer, added up. */
  readonly bytes: number;
  readonly ms: number;
  readonly largestSchemaBytes: number;
  readonly dynamic: boolean;
  /** Through the gateway's search_tools, when listed: the median time of the API's labelled requests. */
  readonly searchP50Ms: number | null;
}

interface Source {
  readonly api: string;
  readonly title: string;
  readonly file: string;
  readonly requests: readonly string[];
}

const WS = '/api/v1/workspaces/default';

/** glibc's allocator as deploy/Dockerfile sets it: see docs/operations.md, "Memory". */
export const MALLOC_SETTINGS = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' };

export async function measureServer(
  dir: string,
  plugboardArgs: readonly string[],
  sources: readonly Source[],
  extraEnv: Readonly<Record<string, string>>,
): Promise<{
  figures: ToolsetFigures[];
  baseRssMb: number;
  serving: ServingMemory;
  restarted: ServingMemory | null;
  newUser: NewUserWalk[];
}> {
  const adminKey = `pbk_bench_${randomBytes(18).toString('base64url')}`;
  const dataDir = join(dir, 'plugboard');
  const start = async (log: string) => {
    const port = await freePort();
    return startServer({
      name: 'plugboard',
      args: [...plugboardArgs, 'serve', '--host', '127.0.0.1', '--port', String(port)],
      env: {
        ...cleanEnv(),
        DATA_DIR: dataDir,
        PLUGBOARD_ADMIN_KEY: adminKey,
        RATE_LIMIT_GATEWAY_PER_SECOND: '0',
        RATE_LIMIT_READ_PER_SECOND: '0',
        RATE_LIMIT_WRITE_PER_SECOND: '0',
        LOG_LEVEL: 'warn',
        // As the Docker image runs it (deploy/Dockerfile, docs/operations.md "Memory"); BENCH_MALLOC=glibc leaves
        // glibc's defaults.
        ...(process.env.BENCH_MALLOC === 'glibc' ? {} : MALLOC_SETTINGS),
        ...extraEnv,
      },
      port,
      logFile: join(dir, log),
      cwd: ROOT,
    });
  };
  // Tool calls go to a local upstream in place of the document's server, with a stored credential (see new-user.ts).
  const upstream = await startRecordingUpstream();
  const credential = `bench-upstream-${randomBytes(12).toString('base64url')}`;
  let server = await start('plugboard.log');
  let secret: string | null = null;
  const newUser: NewUserWalk[] = [];
  const installed: { source: Source; url: string; index: number }[] = [];
  let figures: ToolsetFigures[];
  let baseRssMb: number;
  let serving: ServingMemory;
  try {
    const call = api(server.origin, adminKey);
    await sleep(1000);
    baseRssMb = rssMb(server);
    const storeFile = join(dataDir, 'plugboard.db');
    figures = [];
    for (const source of sources) {
      const text = readFileSync(source.file, 'utf8');
      const storeBefore = storeBytes(storeFile);
      const rssBefore = rssMb(server);
      let rssPeak = rssBefore;
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(server))), 100);
      say(`server: importing ${source.title} (${(Buffer.byteLength(text) / 1e6).toFixed(1)} MB)…`);
      const started = performance.now();
      const ticksBefore = cpuTicks(server.pid);
      const created = await call('POST', `${WS}/toolsets`, {
        name: `bench-${source.api}`,
        description: source.title,
        spec: {
          schema: { type: 'OpenAPI', detail: text },
          ...upstreamSpec(upstream, NEW_USER_SCENARIOS[source.api], credential),
        },
      });
      let outcome = String(created.status);
      let message: string | null = created.status === 201 ? null : JSON.stringify(created.body).slice(0, 240);
      let url: string | null = null;
      if (created.status === 201) {
        const toolset = await settled(call, `bench-${source.api}`);
        outcome = toolset.status.phase;
        message = outcome === 'Installed' ? null : JSON.stringify(toolset.status).slice(0, 240);
        url = toolset.status.outputs?.mcpServerConfig?.url ?? null;
      }
      const importMs = performance.now() - started;
      const importCpuMs = ((cpuTicks(server.pid) - ticksBefore) * 1000) / CLK_TCK;
      await sleep(500);
      clearInterval(sampler);
      const rssAfterMb = rssMb(server);
      rssPeak = Math.max(rssPeak, rssAfterMb);
      // The conversion worker exits after a second idle (src/services/openapi-converter.ts); what stays is what
      // the node holds to serve the toolset.
      await sleep(2500);
      const rssSettledMb = rssMb(server);
      figures.push({
        api: source.api,
        title: source.title,
        documentBytes: Buffer.byteLength(text),
        outcome,
        message,
        importMs,
        importCpuMs,
        storeGrowthBytes: storeBytes(storeFile) - storeBefore,
        rssAfterMb,
        rssPeakMb: rssPeak,
        rssSettledMb,
        rssGrowthMb: rssSettledMb - rssBefore,
        heapUsedMb: (await nodeMemory(server.origin)).heapUsedMb,
        listed: null,
      });
      if (url !== null && outcome === 'Installed') installed.push({ source, url, index: figures.length - 1 });
    }
    if (installed.length > 0) {
      const client = await call('POST', `${WS}/access-clients`, {
        name: 'bench-toolsets',
        toolsets: installed.map(({ source }) => `bench-${source.api}`),
      });
      if (client.status !== 201) throw new Error(`creating the access client answered ${client.status}`);
      for (const { source, url, index } of installed) {
        say(`server: tools/list of ${source.title}…`);
        const path = new URL(url, server.origin).pathname;
        secret = (client.body as { secret: string }).secret;
        const figure = figures[index] as ToolsetFigures;
        try {
          figures[index] = { ...figure, listed: await listTools(`${server.origin}${path}`, secret, source.requests) };
        } catch (error) {
          // The gateway may refuse to answer (its answer-size bound): that is a figure too.
          const refusal = error instanceof Error ? error.message : String(error);
          figures[index] = { ...figure, message: `tools/list: ${refusal.slice(0, 240)}` };
        }
      }
    }
    await sleep(2500);
    serving = { ...(await nodeMemory(server.origin)), rssMb: rssMb(server) };
    // After the memory figures, so that the calls change none of them.
    for (const { source, url } of installed) {
      const scenario = NEW_USER_SCENARIOS[source.api];
      if (scenario === undefined || secret === null) continue;
      say(`server: a new user's walk on ${source.title}: "${scenario.request}"…`);
      const mcpUrl = `${server.origin}${new URL(url, server.origin).pathname}`;
      const schemaBudget = Number(extraEnv.TOOL_SCHEMA_BUDGET_BYTES ?? 16 * 1024);
      newUser.push(
        await walkNewUser({ api: source.api, scenario, mcpUrl, secret, credential, upstream, schemaBudget }),
      );
    }
  } finally {
    await server.stop();
    await upstream.close();
  }
  // A node started on the store that holds them, serving them: what every node of a fleet holds, without what the
  // imports left behind (V8 returns its heap lazily; the import node above still carries their garbage).
  let restarted: ServingMemory | null = null;
  if (secret !== null) {
    say('server: restarted on the same store, serving every toolset…');
    server = await start('plugboard-restarted.log');
    try {
      for (const { source, url } of installed) {
        await listTools(`${server.origin}${new URL(url, server.origin).pathname}`, secret, source.requests);
      }
      await sleep(2500);
      restarted = { ...(await nodeMemory(server.origin)), rssMb: rssMb(server) };
    } finally {
      await server.stop();
    }
  }
  return { figures, baseRssMb, serving, restarted, newUser };
}

async function listTools(url: string, token: string, requests: readonly string[]): Promise<ListFigures> {
  const session = await openMcpSession(url, token);
  let cursor: string | undefined;
  let [tools, pages, bytes, ms, largest] = [0, 0, 0, 0, 0];
  const names: string[] = [];
  do {
    const answer = await session.request('tools/list', cursor === undefined ? {} : { cursor });
    const page = (answer.result.tools ?? []) as { name: string; inputSchema?: unknown }[];
    tools += page.length;
    pages++;
    bytes += answer.bytes;
    ms += answer.ms;
    for (const tool of page) {
      names.push(tool.name);
      largest = Math.max(largest, Buffer.byteLength(JSON.stringify(tool.inputSchema ?? {})));
    }
    cursor = typeof answer.result.nextCursor === 'string' ? answer.result.nextCursor : undefined;
  } while (cursor !== undefined);
  const dynamic = names.includes('search_tools');
  let searchP50Ms: number | null = null;
  if (dynamic && requests.length > 0) {
    const times: number[] = [];
    for (const query of requests) {
      const answer = await session.request('tools/call', { name: 'search_tools', arguments: { query } });
      times.push(answer.ms);
    }
    times.sort((a, b) => a - b);
    searchP50Ms = times[Math.floor(times.length / 2)] ?? null;
  }
  return { tools, pages, bytes, ms, largestSchemaBytes: largest, dynamic, searchP50Ms };
}

/** The main thread's heap and external memory, from the node's own /metrics (prom-client's default metrics). */
async function nodeMemory(origin: string): Promise<{ heapUsedMb: number; externalMb: number }> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 1024 / 1024;
  return {
    heapUsedMb: metric('plugboard_nodejs_heap_size_used_bytes'),
    externalMb: metric('plugboard_nodejs_external_memory_bytes'),
  };
}

/** Waits until the reconciler has settled the toolset's current generation (Installed or Failed), up to 10 minutes. */
async function settled(call: ReturnType<typeof api>, name: string) {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const read = await call('GET', `${WS}/toolsets/${name}`);
    const toolset = read.body as { generation: number; status?: { phase?: string; observedGeneration?: number } };
    const phase = toolset.status?.phase;
    if ((phase === 'Installed' || phase === 'Failed') && toolset.status?.observedGeneration === toolset.generation) {
      return read.body as { status: { phase: string; outputs?: { mcpServerConfig?: { url?: string } } } };
    }
    if (Date.now() > deadline) throw new Error(`${name} did not settle within 10 minutes: ${JSON.stringify(toolset)}`);
    // Every read of a toolset carries its document (20 MB for Graph): reading it every 100 ms kept the node busy
    // serving reads and slowed the import it measures. Once a second, as a person or the console would.
    await sleep(1000);
  }
}

function api(origin: string, key: string) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> => {
    const response = await fetch(`${origin}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
}

/** The node's resident set (VmRSS), in MB. */
function rssMb(server: Server): number {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** The pages the store's tables and indexes use (SQLite's dbstat, read beside the running server). */
function storeBytes(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT sum(pgsize) AS bytes FROM dbstat').get() as { bytes: number }).bytes;
  } finally {
    db.close();
  }
}
