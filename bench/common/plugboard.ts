/** What every benchmark needs to start plugboard the way users run it, and to read its settings. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory. */
export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** A progress line on stderr (stdout carries the report only). */
export const say = (line: string) => process.stderr.write(`${line}\n`);

/** A positive whole number from the environment, or `fallback` when unset. */
export function intEnv(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: expected a positive whole number, got "${value}"`);
  return n;
}

/**
 * The command that starts plugboard. The built CLI is what users run, so prefer it and (re)build when dist/ is
 * missing or older than src/. When the build fails (src/ mid-edit), run src/ through tsx and say so.
 * `mode` is `dist` (the default) or `tsx` (always run src/ through tsx).
 */
export function plugboardCommand(mode: string): { args: string[]; how: string } {
  const tsx = { args: ['--import', 'tsx', join(ROOT, 'src/cli/main.ts')], how: 'src/ through tsx' };
  if (mode === 'tsx') return tsx;
  const main = join(ROOT, 'dist/cli/main.js');
  const built = existsSync(main) ? statSync(main).mtimeMs : 0;
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
      const path = join(dir, e.name);
      return Math.max(max, e.isDirectory() ? newest(path) : statSync(path).mtimeMs);
    }, 0);
  if (built < newest(join(ROOT, 'src'))) {
    say(
      built === 0
        ? 'building plugboard (dist/ is missing)…'
        : 'building plugboard (src/ changed since the last build)…',
    );
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) {
      say(
        `npm run build failed; running plugboard from src/ through tsx instead.\n${(build.stdout + build.stderr).trim().split('\n').slice(-10).join('\n')}`,
      );
      return { ...tsx, how: 'src/ through tsx (npm run build failed)' };
    }
  }
  return { args: [main], how: 'dist/ (npm run build)' };
}

/** The environment without plugboard's own settings, so that the caller's shell cannot change what is measured. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (
      /^(DATABASE_|RATE_LIMIT_|PLUGBOARD_|REDIS_URL|REQUIRE_IF_MATCH|BODY_LIMIT|CONNECTION_TEST_|DATA_DIR|PORT|HOST|LOG_LEVEL|NODE_OPTIONS|GATEWAY_|RECONCILE_)/.test(
        name,
      )
    )
      delete env[name];
  }
  return env;
}
