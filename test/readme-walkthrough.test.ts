// The README's walkthrough, run as a reader runs it: its ```sh walkthrough blocks in order, in one POSIX shell,
// against a real `plugboard serve` on the embedded SQLite default and the example upstream from examples/.
// When the README drifts from what the server does, this fails.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCli } from './support/cli-process.js';
import { freePort } from './support/haproxy.js';
import { OWNER_KEY } from './support/stores.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The bodies of the README's fenced blocks whose info string is `sh walkthrough`, in order. */
function walkthroughBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh walkthrough\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

async function waitUntilReady(base: string, output: { stdout: string; stderr: string }): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const ready = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`plugboard did not get ready:\n${output.stdout}\n${output.stderr}`);
}

function runShell(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const shell = spawn('sh', ['-c', script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    });
    let stdout = '';
    let stderr = '';
    shell.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    shell.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => shell.kill('SIGKILL'), 90_000);
    shell.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the README walkthrough', () => {
  const blocks = walkthroughBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  const dataDir = mkdtempSync(join(tmpdir(), 'plugboard-walkthrough-'));
  let upstream: ChildProcess | undefined;
  let server: ReturnType<typeof startCli> | undefined;
  let pb = '';
  let upstreamUrl = '';

  before(async () => {
    const [port, upstreamPort] = [await freePort(), await freePort()];
    upstream = spawn(process.execPath, ['examples/upstream.mjs'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, UPSTREAM_PORT: String(upstreamPort) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      upstream!.stdout!.once('data', () => resolve());
      upstream!.once('exit', (code) => reject(new Error(`examples/upstream.mjs exited with ${code}`)));
    });
    upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
    pb = `http://127.0.0.1:${port}`;
    server = startCli(
      ['serve'],
      { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, PLUGBOARD_ADMIN_KEY: OWNER_KEY, LOG_LEVEL: 'warn' },
      120_000,
    );
    await waitUntilReady(pb, server.output);
  });

  after(async () => {
    upstream?.kill();
    if (server) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is marked in the README: several ```sh walkthrough blocks', () => {
    assert.ok(blocks.length >= 4, `found ${blocks.length} walkthrough blocks`);
  });

  it("runs as written in one POSIX shell, and the tool call returns the upstream's notes", async () => {
    const script = ['set -eu', ...blocks].join('\n');
    const run = await runShell(script, { PB: pb, UPSTREAM: upstreamUrl, KEY: OWNER_KEY });
    assert.equal(run.code, 0, `the walkthrough failed:\n${run.stdout}\n${run.stderr}`);
    const lines = run.stdout.trim().split('\n');
    assert.deepEqual(
      JSON.parse(lines.at(-1)!).map((n: { text: string }) => n.text),
      ['Welcome to plugboard', 'Water the plants'],
    );
    assert.ok(
      lines.some((l) => l.startsWith(`${pb}/mcp/default/notes pbac_`)),
      'the toolset gives its MCP URL on this server, the client its token',
    );
    for (const tool of ['listNotes', 'createNote', 'getNote', 'deleteNote'])
      assert.match(run.stdout, new RegExp(`"name":"${tool}"`));
  });
});
