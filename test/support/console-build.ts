import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONSOLE_SRC = join(ROOT, 'console');
const CONSOLE_INDEX = join(ROOT, 'dist/console/index.html');

function newestMtime(dir: string): number {
  return Math.max(
    ...readdirSync(dir).map((name) => {
      const path = join(dir, name);
      const stat = statSync(path);
      return stat.isDirectory() ? newestMtime(path) : stat.mtimeMs;
    }),
  );
}

/** Builds the console when dist/console is missing or older than any of its sources. */
export function ensureConsoleBuilt(): void {
  if (existsSync(CONSOLE_INDEX) && statSync(CONSOLE_INDEX).mtimeMs >= newestMtime(CONSOLE_SRC)) return;
  const result = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', 'console', '--logLevel', 'warn'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  assert.equal(result.status, 0, `vite build console failed:\n${result.stdout}\n${result.stderr}`);
}
