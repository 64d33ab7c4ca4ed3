// Test support, run as a child process by redis-rate-limiter.test.ts: takes units for one key as fast as
// it can for a while and prints how many were admitted, so that two processes can prove they share a budget.
// Usage: node --import tsx hammer-rate-limiter.ts <redis-url> <prefix> <key> <per-second> <burst> <duration-ms>
// It prints "ready" once loaded and starts on the first line read from stdin, so that both processes
// hammer the same window however long each took to start. It connects only then, so a parent that dies
// before sending that line leaves nothing holding this process open.
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { createRedisRateLimiter } from '../../src/rate-limit/redis-rate-limiter.js';

const [url, prefix, key, perSecond, burst, durationMs] = process.argv.slice(2);
if (url === undefined || prefix === undefined || key === undefined || durationMs === undefined) {
  throw new Error('usage: hammer-rate-limiter.ts <redis-url> <prefix> <key> <per-second> <burst> <duration-ms>');
}
const limit = { perSecond: Number(perSecond), burst: Number(burst) };

const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
await once(lines, 'line');
lines.close();

const limiter = createRedisRateLimiter({ url, prefix });

const end = performance.now() + Number(durationMs);
let admitted = 0;
let calls = 0;
while (performance.now() < end) {
  const decision = await limiter.take(key, limit);
  calls += 1;
  if (decision.allowed) admitted += 1;
}
await limiter.close();
process.stdout.write(`${JSON.stringify({ admitted, calls })}\n`);
