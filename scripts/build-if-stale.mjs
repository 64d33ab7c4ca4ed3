#!/usr/bin/env node
// Runs the build only when dist/ is older than its sources, so that `npm start` starts at once on an
// up-to-date tree. The sources are src/**, console/** (without node_modules and dist), package.json and
// tsconfig*.json; a successful build writes dist/.build-stamp holding the newest source time it saw before it
// started, so a file saved during the build makes the next start build again.
//
//   node scripts/build-if-stale.mjs [--root <dir>] [-- <build command...>]   (default command: npm run build)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SKIPPED_DIRS = new Set(['node_modules', 'dist']);
/** What a build leaves behind: without them dist/ is stale whatever the stamp says. */
const OUTPUTS = ['dist/cli/main.js', 'dist/console/index.html'];
const STAMP = 'dist/.build-stamp';

/** The newest modification time under `path`, in ms (0 when it does not exist). */
function newestIn(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory() && SKIPPED_DIRS.has(entry.name)) continue;
    newest = Math.max(newest, newestIn(join(path, entry.name)));
  }
  return newest;
}

/** The newest modification time of everything the build reads. */
export function newestSource(root) {
  const configs = readdirSync(root).filter((name) => /^tsconfig.*\.json$/.test(name));
  return Math.max(...['src', 'console', 'package.json', ...configs].map((name) => newestIn(join(root, name))));
}

/** Why dist/ under `root` must be built again, or undefined when it is up to date. */
export function staleReason(root) {
  const missing = OUTPUTS.find((path) => !existsSync(join(root, path)));
  if (missing) return `${missing} is missing`;
  const stampFile = join(root, STAMP);
  const built = existsSync(stampFile) ? Number(readFileSync(stampFile, 'utf8').trim()) : NaN;
  if (!Number.isFinite(built)) return `${STAMP} is missing`;
  return newestSource(root) > built ? 'sources changed since the last build' : undefined;
}

function parseArgs(argv) {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const command = dash < 0 ? ['npm', 'run', 'build'] : argv.slice(dash + 1);
  const at = own.indexOf('--root');
  const root = at < 0 ? resolve(dirname(fileURLToPath(import.meta.url)), '..') : resolve(own[at + 1]);
  return { root, command };
}

function main() {
  const { root, command } = parseArgs(process.argv.slice(2));
  const reason = staleReason(root);
  if (reason === undefined) {
    process.stdout.write('dist/ is up to date: not building (npm run build builds anyway)\n');
    return;
  }
  process.stdout.write(`building: ${reason}\n`);
  const started = newestSource(root);
  const result = spawnSync(command[0], command.slice(1), {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  if (result.status !== 0) {
    process.stderr.write(
      `build-if-stale: ${command.join(' ')} failed${result.error ? `: ${result.error.message}` : ''}\n`,
    );
    process.exitCode = result.status || 1;
    return;
  }
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(join(root, STAMP), `${started}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
