/**
 * The node's memory by stage while it imports the labelled set's large APIs, measured inside the node after a full
 * collection (so that the heap figures are what it holds, not garbage V8 has not collected yet): plugboard in this
 * process (fresh SQLite store, default settings), each document posted through the native API (in-process
 * injection) and awaited until it settles, then loaded into the gateway as a client's first call would.
 *
 *   node --expose-gc --import tsx bench/toolsets/memory-stages.ts                 # graph,docusign,kubernetes,github
 *   MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 node --expose-gc --import tsx bench/toolsets/memory-stages.ts
 *   BENCH_APIS=graph BENCH_SNAPSHOT=1 node --expose-gc --import tsx bench/toolsets/memory-stages.ts   # + heap snapshot
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { labelledSet } from '../../test/support/tool-search-quality.js';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { packageFile } from './corpus.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const set = labelledSet();
const apis = (process.env.BENCH_APIS ?? 'graph,docusign,kubernetes,github').split(',');
const dir = mkdtempSync(join(tmpdir(), 'plugboard-memory-'));
const key = `pbk_memory_stages_${'0'.repeat(24)}`;
const app = await createApp(
  loadConfig({
    DATA_DIR: dir,
    PLUGBOARD_ADMIN_KEY: key,
    LOG_LEVEL: 'error',
    RATE_LIMIT_READ_PER_SECOND: '0',
    RATE_LIMIT_WRITE_PER_SECOND: '0',
  }),
);
const headers = { authorization: `Bearer ${key}` };
const mb = (bytes: number) => (bytes / 1e6).toFixed(0).padStart(5);

function stage(name: string): void {
  gc!();
  gc!();
  const m = process.memoryUsage();
  console.log(
    `${name.padEnd(36)} rss ${mb(m.rss)}  heap used ${mb(m.heapUsed)}  heap total ${mb(m.heapTotal)}  external ${mb(m.external)}  array buffers ${mb(m.arrayBuffers)}  (MB)`,
  );
}

/** In its own function, so that nothing of the request outlives it. */
async function importApi(api: string): Promise<void> {
  const source = set.apis[api];
  if (source === undefined) throw new Error(`no API "${api}" in the labelled set`);
  const detail = readFileSync(packageFile(source.package, source.file), 'utf8');
  const started = performance.now();
  const created = await app.server.inject({
    method: 'POST',
    url: '/api/v1/workspaces/default/toolsets',
    headers: { ...headers, 'content-type': 'application/json' },
    payload: JSON.stringify({ name: api, spec: { schema: { type: 'OpenAPI', detail } } }),
  });
  if (created.statusCode !== 201) throw new Error(`${api}: ${created.statusCode} ${created.body.slice(0, 300)}`);
  for (;;) {
    await sleep(1000);
    const read = await app.server.inject({ method: 'GET', url: `/api/v1/workspaces/default/toolsets/${api}`, headers });
    const toolset = JSON.parse(read.body) as {
      generation: number;
      status: { phase: string; observedGeneration: number };
    };
    if (
      toolset.status.observedGeneration === toolset.generation &&
      ['Installed', 'Failed'].includes(toolset.status.phase)
    ) {
      console.log(`${api}: ${toolset.status.phase} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      return;
    }
  }
}

stage('started');
for (const api of apis) {
  await importApi(api);
  stage(`${api} imported`);
  await app.services.gateway.toolset('default', api);
  stage(`${api} loaded in the gateway`);
}
await sleep(3000);
stage('conversion workers exited');
for (const space of getHeapSpaceStatistics())
  if (space.space_used_size > 5e6) console.log(`  ${space.space_name}: ${mb(space.space_used_size)} MB used`);
if (process.env.BENCH_SNAPSHOT === '1') console.log(`heap snapshot: ${writeHeapSnapshot()}`);
await app.close();
rmSync(dir, { recursive: true, force: true });
