// `npm start` builds only when dist/ is older than its sources: scripts/build-if-stale.mjs on a scratch tree,
// with a stand-in build command that records each run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../scripts/build-if-stale.mjs', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
};

/** A build that writes what a real one leaves in dist/ and counts itself in builds.log. */
const FAKE_BUILD = `
const fs = require('node:fs');
fs.mkdirSync('dist/cli', { recursive: true });
fs.mkdirSync('dist/console', { recursive: true });
fs.writeFileSync('dist/cli/main.js', '');
fs.writeFileSync('dist/console/index.html', '');
fs.appendFileSync('builds.log', 'built\\n');
`;

describe('scripts/build-if-stale.mjs', () => {
  let root: string;
  let later = Date.now() / 1000 + 10;
  const builds = () =>
    existsSync(join(root, 'builds.log')) ? readFileSync(join(root, 'builds.log'), 'utf8').split('\n').length - 1 : 0;
  const run = (command = ['-e', FAKE_BUILD]) =>
    spawnSync(process.execPath, [SCRIPT, '--root', root, '--', process.execPath, ...command], { encoding: 'utf8' });
  /** Saves a file with a time after everything before it. */
  const touch = (path: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    if (!existsSync(join(root, path))) writeFileSync(join(root, path), '');
    later += 10;
    utimesSync(join(root, path), later, later);
  };

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'plugboard-build-'));
    for (const path of [
      'src/cli/main.ts',
      'console/src/main.tsx',
      'console/index.html',
      'package.json',
      'tsconfig.json',
    ])
      touch(path);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('builds when there is no stamp, then not again while nothing changed', () => {
    const first = run();
    assert.equal(first.status, 0, first.stderr);
    assert.equal(builds(), 1);
    assert.ok(existsSync(join(root, 'dist/.build-stamp')));
    const second = run();
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /up to date/);
    assert.equal(builds(), 1);
  });

  it('builds again after a source, the console, package.json or a new tsconfig changes, and only then', () => {
    let expected = builds();
    for (const path of ['src/cli/main.ts', 'console/src/main.tsx', 'package.json', 'tsconfig.build.json']) {
      touch(path);
      assert.equal(run().status, 0);
      assert.equal(builds(), ++expected, `no build after ${path} changed`);
      assert.equal(run().status, 0);
      assert.equal(builds(), expected, `built twice for ${path}`);
    }
  });

  it('ignores node_modules and dist, and builds when an output is gone', () => {
    const before = builds();
    touch('console/node_modules/dep/index.js');
    touch('dist/cli/other.js');
    assert.equal(run().status, 0);
    assert.equal(builds(), before);
    rmSync(join(root, 'dist/console/index.html'));
    assert.equal(run().status, 0);
    assert.equal(builds(), before + 1);
  });

  it('fails with the build, writes no stamp, and builds again next time', () => {
    touch('src/cli/main.ts');
    const failed = run(['-e', 'process.exit(3)']);
    assert.notEqual(failed.status, 0);
    const before = builds();
    assert.equal(run().status, 0);
    assert.equal(builds(), before + 1);
  });

  it('is what npm start runs first', () => {
    assert.equal(PACKAGE.scripts.prestart, 'node scripts/build-if-stale.mjs');
  });
});
