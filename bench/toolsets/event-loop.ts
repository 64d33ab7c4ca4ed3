/**
 * How long a big import holds plugboard's event loop: the server in this process (fresh SQLite store, settings
 * at their defaults: BODY_LIMIT 1 MiB, TOOLSET_MAX_DOCUMENT_BYTES 64 MiB), a client on a worker thread that posts
 * a document through the native API and waits until the reconciler settles it, and `monitorEventLoopDelay` plus
 * a 5 ms ticker on the server's thread. Prints the delay histogram and every stall over 20 ms, each with the
 * client's stage it fell in (upload and answer, then conversion and install).
 *
 *   node --import tsx bench/toolsets/event-loop.ts [document.json]   # Microsoft Graph v1.0 by default
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { DIRECTORY_PACKAGE, packageFile } from './corpus.js';

const file = process.argv[2] ?? packageFile(DIRECTORY_PACKAGE, 'api/microsoft.com/graph.json');
const dir = mkdtempSync(join(tmpdir(), 'plugboard-event-loop-'));
const key = 'pbk_event_loop_bench_key_0123456789abcdef';
const app = await createApp(
  loadConfig({
    DATA_DIR: dir,
    PLUGBOARD_ADMIN_KEY: key,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_READ_PER_SECOND: '0',
    RATE_LIMIT_WRITE_PER_SECOND: '0',
  }),
);
const origin = await app.server.listen({ port: 0, host: '127.0.0.1' });

const histogram = monitorEventLoopDelay({ resolution: 5 });
const stalls: { at: number; ms: number }[] = [];
let last = performance.now();
const ticker = setInterval(() => {
  const now = performance.now();
  if (now - last > 25) stalls.push({ at: last, ms: now - last - 5 });
  last = now;
}, 5);
const marks: { at: number; stage: string }[] = [];
histogram.enable();

// The client runs on its own thread so that its JSON.stringify and upload do not count as the server's.
const client = new Worker(
  `
  const { parentPort, workerData } = require('node:worker_threads');
  const { readFileSync } = require('node:fs');
  (async () => {
    const { origin, key, file } = workerData;
    const headers = { authorization: 'Bearer ' + key, 'content-type': 'application/json' };
    const body = JSON.stringify({ name: 'big', spec: { schema: { type: 'OpenAPI', detail: readFileSync(file, 'utf8') } } });
    parentPort.postMessage({ stage: 'upload (' + Buffer.byteLength(body) + ' bytes of body)' });
    const created = await fetch(origin + '/api/v1/workspaces/default/toolsets', { method: 'POST', headers, body });
    const text = await created.text();
    parentPort.postMessage({ stage: 'answered ' + created.status + ' (' + text.length + ' chars); converting' });
    if (created.status !== 201) return parentPort.postMessage({ done: text.slice(0, 300) });
    for (;;) {
      const read = await (await fetch(origin + '/api/v1/workspaces/default/toolsets/big', { headers })).json();
      const phase = read.status && read.status.phase;
      if ((phase === 'Installed' || phase === 'Failed') && read.status.observedGeneration === read.generation)
        return parentPort.postMessage({ done: phase + ' ' + (read.status.message || '') });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })().catch((error) => parentPort.postMessage({ done: 'client failed: ' + error.message }));
  `,
  { eval: true, workerData: { origin, key, file } },
);
const started = performance.now();
const outcome = await new Promise<string>((resolve) => {
  client.on('message', (message: { stage?: string; done?: string }) => {
    if (message.stage) marks.push({ at: performance.now(), stage: message.stage });
    if (message.done !== undefined) resolve(message.done);
  });
});
const totalMs = performance.now() - started;
histogram.disable();
clearInterval(ticker);
await client.terminate();

const ms = (ns: number) => (ns / 1e6).toFixed(1);
const stageAt = (at: number) => marks.filter((mark) => mark.at <= at).at(-1)?.stage ?? 'before the upload';
console.log(`document: ${file}`);
console.log(`outcome: ${outcome} after ${(totalMs / 1000).toFixed(1)} s`);
console.log(
  `event-loop delay (monitorEventLoopDelay, 5 ms resolution): mean ${ms(histogram.mean)} ms, p50 ${ms(histogram.percentile(50))} ms, p99 ${ms(histogram.percentile(99))} ms, max ${ms(histogram.max)} ms`,
);
console.log(`stalls over 20 ms (${stalls.length}):`);
for (const stall of stalls.filter((s) => s.ms > 20))
  console.log(
    `  +${((stall.at - started) / 1000).toFixed(2)} s  ${stall.ms.toFixed(0)} ms  during: ${stageAt(stall.at)}`,
  );
const memory = process.memoryUsage();
console.log(
  `memory after: rss ${(memory.rss / 1e6).toFixed(0)} MB, heap used ${(memory.heapUsed / 1e6).toFixed(0)} MB, external ${(memory.external / 1e6).toFixed(0)} MB`,
);
await app.close();
rmSync(dir, { recursive: true, force: true });
