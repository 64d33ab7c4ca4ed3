// The plugboard command, spawned for real: serve (first start, restart, PLUGBOARD_ADMIN_KEY), migrate,
// admin create-key, configuration errors and --help, on both stores.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ENGINES, createTestStore, type TestStore } from './support/stores.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const RUN_TIMEOUT_MS = 30_000;
const KEY = /pbk_[A-Za-z0-9_-]{16,}/;
const ADMIN_KEY = 'pbk_cli_test_admin_key_0123456789';

/** Every child this file started; whatever is still running at the end is killed. */
const children = new Set<ChildProcess>();

process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Started {
  readonly child: ChildProcess;
  readonly output: { stdout: string; stderr: string };
  readonly exited: Promise<Run>;
}

/** Only what the CLI needs from this process's environment, so that nothing of the test runner leaks in. */
function envFor(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

function start(args: string[], env: Record<string, string>, timeoutMs = RUN_TIMEOUT_MS): Started {
  const child = spawn(process.execPath, [...CLI, ...args], {
    cwd: ROOT,
    env: envFor(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  // 'close' comes once the process has exited and its pipes are drained.
  const exited = new Promise<Run>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, ...output });
    });
  });
  return { child, output, exited };
}

/** Runs a command to its end (killed after the timeout). */
async function run(args: string[], env: Record<string, string>): Promise<Run> {
  return start(args, env).exited;
}

interface Server {
  readonly process: Started;
  readonly url: string;
}

/** Starts `plugboard serve` on a free port and waits for its "listening" log line. */
async function serve(env: Record<string, string>): Promise<Server> {
  const started = start(['serve'], { ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' }, 300_000);
  const { output, child } = started;
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  for (;;) {
    for (const line of `${output.stdout}\n${output.stderr}`.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as { msg?: string; address?: string };
        if (entry.msg === 'plugboard is listening' && entry.address) return { process: started, url: entry.address };
      } catch {
        // a partial line; wait for the rest
      }
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`serve exited before listening:\n${output.stdout}\n${output.stderr}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serve did not log "plugboard is listening" in time:\n${output.stdout}\n${output.stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGTERM, as an operator would; SIGKILL if it does not stop in time. Resolves with the process's result. */
async function stop(server: Server | undefined): Promise<Run | undefined> {
  if (!server) return undefined;
  const { child, exited } = server.process;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const result = await exited;
    clearTimeout(timer);
    return result;
  }
  return exited;
}

async function api(server: Server, method: string, path: string, key: string | undefined, body?: unknown) {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

for (const engine of ENGINES) {
  describe(`plugboard serve on an empty store [${engine}]`, () => {
    let store: TestStore;
    let server: Server | undefined;
    let firstKey: string;

    before(async () => {
      store = await createTestStore(engine);
    });
    after(async () => {
      await stop(server);
      await store?.drop();
    });

    it('prints an owner key once on the first start, and that key works on the listening port', async () => {
      server = await serve(store.env);
      const { stdout, stderr } = server.process.output;
      const printed = stdout.match(KEY);
      assert.ok(printed, `no key in stdout:\n${stdout}`);
      firstKey = printed[0];
      assert.match(stdout, /created workspace "default" and an owner API key/);
      assert.ok(!stderr.includes(firstKey), 'the key also went to stderr');
      assert.equal(stdout.split(firstKey).length - 1, 2, 'the key appears in the banner and its curl example only');
      const log = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .join('\n');
      assert.ok(!log.includes(firstKey), 'the key is in a log line');

      const me = await api(server, 'GET', '/me', firstKey);
      assert.equal(me.status, 200);
      assert.deepEqual(me.body.roles, { default: 'owner' });
      const list = await api(server, 'GET', '/workspaces', firstKey);
      assert.deepEqual(
        list.body.items.map((w: any) => w.id),
        ['default'],
      );
      assert.equal((await api(server, 'GET', '/workspaces', undefined)).status, 401);
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      assert.equal(
        (await api(server, 'POST', '/workspaces/default/connectors', firstKey, { id: 'kept', name: 'Kept' })).status,
        201,
      );

      const result = await stop(server);
      server = undefined;
      assert.equal(result?.code, 0, `serve did not exit cleanly on SIGTERM:\n${result?.stderr}`);
    });

    it('prints no key on a second start of the same store, where the first key and data remain', async () => {
      server = await serve(store.env);
      const { stdout, stderr } = server.process.output;
      assert.ok(!KEY.test(stdout) && !KEY.test(stderr), `a key was printed:\n${stdout}\n${stderr}`);
      assert.ok(!stdout.includes('created workspace'));
      assert.equal((await api(server, 'GET', '/me', firstKey)).status, 200);
      assert.equal((await api(server, 'GET', '/workspaces/default/connectors/kept', firstKey)).body.name, 'Kept');
    });

    it('creates a key with admin create-key that authenticates with exactly the role asked for', async () => {
      assert.ok(server, 'the server of the previous test is running');
      const result = await run(['admin', 'create-key', '-w', 'default', '-r', 'viewer', '-n', 'x'], store.env);
      assert.equal(result.code, 0, result.stderr);
      const key = result.stdout.trim();
      assert.match(key, /^pbk_[A-Za-z0-9_-]+$/, 'stdout is the key alone');
      assert.match(result.stderr, /viewer of default/);
      const me = await api(server, 'GET', '/me', key);
      assert.equal(me.status, 200);
      assert.equal(me.body.name, 'x');
      assert.deepEqual(me.body.roles, { default: 'viewer' });
      assert.equal((await api(server, 'GET', '/workspaces/default/connectors', key)).status, 200);
      const write = await api(server, 'POST', '/workspaces/default/connectors', key, { name: 'nope' });
      assert.equal(write.status, 403);
      assert.equal(write.body.code, 'forbidden');
      const editor = await run(
        ['admin', 'create-key', '--workspace', 'default', '--role', 'editor', '--name', 'ed'],
        store.env,
      );
      assert.equal(editor.code, 0, editor.stderr);
      assert.equal(
        (await api(server, 'POST', '/workspaces/default/connectors', editor.stdout.trim(), { name: 'yes' })).status,
        201,
      );
    });

    it('refuses admin create-key for a workspace that does not exist, or a role that does not', async () => {
      const [missing, role, unnamed] = await Promise.all([
        run(['admin', 'create-key', '-w', 'nope', '-r', 'viewer', '-n', 'x'], store.env),
        run(['admin', 'create-key', '-w', 'default', '-r', 'superuser'], store.env),
        run(['admin', 'create-key', '-r', 'viewer'], store.env),
      ]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /workspace "nope" does not exist/);
      assert.ok(!KEY.test(missing.stdout), 'a key was printed');
      assert.notEqual(role.code, 0);
      assert.match(role.stderr, /superuser/);
      assert.ok(!KEY.test(role.stdout));
      assert.notEqual(unnamed.code, 0);
      assert.match(unnamed.stderr, /--workspace/);
    });

    it('reports the schema up to date when migrate runs on the live store', async () => {
      const result = await run(['migrate'], store.env);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /up to date/);
    });
  });

  describe(`plugboard serve on a port in use [${engine}]`, () => {
    let store: TestStore;
    let server: Server | undefined;
    const taken = createServer();
    before(async () => {
      store = await createTestStore(engine);
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    });
    after(async () => {
      await stop(server);
      taken.close();
      await store?.drop();
    });

    it('stops with one line naming the port and PORT, and prints no key', async () => {
      const port = String((taken.address() as AddressInfo).port);
      const result = await run(['serve'], { ...store.env, PORT: port, HOST: '127.0.0.1', LOG_LEVEL: 'info' });
      assert.notEqual(result.code, 0, result.stdout);
      assert.ok(
        !KEY.test(result.stdout) && !KEY.test(result.stderr),
        `a key was printed:\n${result.stdout}\n${result.stderr}`,
      );
      assert.ok(!result.stdout.includes('created workspace'), result.stdout);
      const message = result.stderr.trim();
      assert.equal(message.split('\n').length, 1, `more than one line:\n${result.stderr}`);
      assert.match(message, new RegExp(`127\\.0\\.0\\.1:${port}.*in use.*PORT`));
    });

    it('keeps the owner key for the next start that listens', async () => {
      server = await serve(store.env);
      assert.match(server.process.output.stdout, /created workspace "default" and an owner API key/);
    });
  });

  describe(`plugboard serve's start line [${engine}]`, () => {
    let store: TestStore;
    let started: Started | undefined;
    before(async () => {
      store = await createTestStore(engine);
    });
    after(async () => {
      if (started && started.child.exitCode === null) {
        started.child.kill('SIGTERM');
        await started.exited;
      }
      await store?.drop();
    });

    it("prints one line with the URL and the console's, before the banner, even with LOG_LEVEL=silent", async () => {
      started = start(['serve'], { ...store.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' }, 300_000);
      const deadline = Date.now() + RUN_TIMEOUT_MS;
      let match: RegExpExecArray | null;
      while (
        !(match = /^plugboard listening on (http:\/\/127\.0\.0\.1:(\d+)) \(console: (\S+)\)$/m.exec(
          started.output.stdout,
        ))
      ) {
        assert.ok(started.child.exitCode === null, `serve exited:\n${started.output.stdout}\n${started.output.stderr}`);
        assert.ok(Date.now() < deadline, `no start line:\n${started.output.stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const [, url, port, consoleUrl] = match;
      assert.notEqual(port, '0');
      assert.equal(consoleUrl, `${url}/console/`);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      // The banner tells where to go on the port it really listens on.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const { stdout } = started.output;
      assert.ok(stdout.indexOf('plugboard listening on') < stdout.indexOf('created workspace'), stdout);
      assert.ok(stdout.includes(`${url}/console/ and sign in`), stdout);
      assert.ok(!stdout.includes('{'), `a log line with LOG_LEVEL=silent:\n${stdout}`);
    });
  });

  describe(`plugboard serve with PLUGBOARD_ADMIN_KEY [${engine}]`, () => {
    let store: TestStore;
    let server: Server | undefined;
    before(async () => {
      store = await createTestStore(engine);
    });
    after(async () => {
      await stop(server);
      await store?.drop();
    });

    it('makes the given key the owner key on an empty store and prints no key', async () => {
      server = await serve({ ...store.env, PLUGBOARD_ADMIN_KEY: ADMIN_KEY });
      const { stdout, stderr } = server.process.output;
      assert.ok(!stdout.includes('pbk_') && !stderr.includes('pbk_'), `a key was printed:\n${stdout}\n${stderr}`);
      assert.match(stdout, /PLUGBOARD_ADMIN_KEY/);
      const me = await api(server, 'GET', '/me', ADMIN_KEY);
      assert.equal(me.status, 200);
      assert.deepEqual(me.body.roles, { default: 'owner' });
      assert.equal((await api(server, 'GET', '/me', 'pbk_some_other_key_0123456789')).status, 401);
    });

    it('ignores PLUGBOARD_ADMIN_KEY once the store has an owner', async () => {
      await stop(server);
      server = await serve({ ...store.env, PLUGBOARD_ADMIN_KEY: 'pbk_a_later_admin_key_0123456789' });
      assert.equal((await api(server, 'GET', '/me', ADMIN_KEY)).status, 200);
      assert.equal((await api(server, 'GET', '/me', 'pbk_a_later_admin_key_0123456789')).status, 401);
    });
  });

  describe(`plugboard migrate [${engine}]`, () => {
    let store: TestStore;
    before(async () => {
      store = await createTestStore(engine);
    });
    after(async () => {
      await store?.drop();
    });

    it('applies the migrations to an empty store, then says it is up to date', async () => {
      const first = await run(['migrate'], store.env);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /^applied: 0001-initial/);
      const second = await run(['migrate'], store.env);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stdout, 'schema is up to date\n');
    });

    it('leaves a migrated store without workspaces, so create-key has none to use', async () => {
      const result = await run(['admin', 'create-key', '-w', 'default'], store.env);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /workspace "default" does not exist/);
    });
  });
}

describe('plugboard configuration errors', { concurrency: true }, () => {
  const bad = { PORT: 'abc', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x', PLUGBOARD_MASTER_KEYS: 'bad' };

  for (const args of [['serve'], ['migrate'], ['admin', 'create-key', '-w', 'default']]) {
    it(`stops "${args.join(' ')}" with exit code 2, naming every problem at once`, async () => {
      const result = await run(args, bad);
      assert.equal(result.code, 2, `exit ${result.code}:\n${result.stderr}`);
      for (const name of ['PORT', 'LOG_LEVEL', 'DATABASE_URL', 'PLUGBOARD_MASTER_KEYS']) {
        assert.match(result.stderr, new RegExp(`^  - ${name}`, 'm'), `stderr does not name ${name}:\n${result.stderr}`);
      }
      assert.ok(!KEY.test(result.stdout));
    });
  }

  it('checks flags too: a bad --port or --log-level stops serve with exit code 2', async () => {
    const result = await run(['serve', '--port', '70000', '--log-level', 'chatty', '--database-url', 'sqlite://x'], {});
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /PORT/);
    assert.match(result.stderr, /LOG_LEVEL/);
    assert.match(result.stderr, /DATABASE_URL/);
  });

  it('refuses DATABASE_URL without PLUGBOARD_MASTER_KEYS, and an ill-formed PLUGBOARD_ADMIN_KEY', async () => {
    const result = await run(['serve'], {
      DATABASE_URL: 'postgres://127.0.0.1:1/none',
      PLUGBOARD_ADMIN_KEY: 'letmein',
      BODY_LIMIT: '1',
      REQUIRE_IF_MATCH: 'maybe',
    });
    assert.equal(result.code, 2, result.stderr);
    for (const name of ['PLUGBOARD_MASTER_KEYS', 'PLUGBOARD_ADMIN_KEY', 'BODY_LIMIT', 'REQUIRE_IF_MATCH']) {
      assert.match(result.stderr, new RegExp(`^  - ${name}`, 'm'), `stderr does not name ${name}:\n${result.stderr}`);
    }
  });
});

describe('plugboard --help', { concurrency: true }, () => {
  const cases: [string[], RegExp, string[]][] = [
    [
      ['serve', '--help'],
      /^Usage: plugboard serve/m,
      ['--port', '--host', '--data-dir', '--database-url', '--log-level', '--require-if-match'],
    ],
    [['migrate', '--help'], /^Usage: plugboard migrate/m, ['--data-dir', '--database-url']],
    [
      ['admin', 'create-key', '--help'],
      /^Usage: plugboard admin create-key/m,
      ['--workspace', '--role', '--name', 'viewer'],
    ],
    [['--help'], /^Usage: plugboard/m, ['serve', 'migrate', 'admin']],
  ];
  for (const [args, usage, words] of cases) {
    it(`explains "${args.join(' ')}" and exits 0`, async () => {
      const result = await run(args, {});
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, usage);
      for (const word of words) assert.ok(result.stdout.includes(word), `help lacks ${word}:\n${result.stdout}`);
    });
  }
});
