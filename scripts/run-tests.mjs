// Runs every *.test.ts under src/ and test/ with node's test runner (TypeScript through tsx).
// Node 20's runner does not expand globs itself, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : find(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

// run-test-files.mjs starts files in the order given, two at a time. The slowest start first, so that none of them
// is left running alone at the end (measured on 2 cores, 2026-12-07: the suite took 1,298 s in name order, its
// files 2,093 s together). Seconds per file as measured then; files not listed follow in name order.
const slowest = [
  ['test/cli.test.ts', 190],
  ['test/console.test.ts', 148],
  ['test/oauth-mcp-clients.test.ts', 97],
  ['test/toolsets-cli.test.ts', 84],
  ['test/people.test.ts', 81],
  ['test/multi-node.test.ts', 77],
  ['test/console-people.test.ts', 74],
  ['test/console-oauth.test.ts', 65],
  ['test/key-rotation.test.ts', 54],
  ['test/upstream-oauth-crash.test.ts', 52],
  ['test/crash-safety.test.ts', 42],
  ['test/identity.test.ts', 34],
  ['test/oauth-path-prefix.test.ts', 34],
  ['test/oauth-revocation.test.ts', 34],
  ['test/oauth-mcp-remote.test.ts', 31],
  ['test/reliability.test.ts', 30],
  ['test/shutdown.test.ts', 30],
];
const rank = new Map(slowest.map(([file], i) => [join(...file.split('/')), i]));
const filter = process.argv.slice(2);
const files = ['src', 'test']
  .flatMap(find)
  .filter((f) => filter.length === 0 || filter.some((part) => f.includes(part)))
  .sort()
  .sort((a, b) => (rank.get(a) ?? rank.size) - (rank.get(b) ?? rank.size));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', fileURLToPath(new URL('run-test-files.mjs', import.meta.url)), ...files],
  {
    stdio: 'inherit',
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
  },
);
process.exit(result.status ?? 1);
