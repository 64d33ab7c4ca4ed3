// A real HAProxy in front of several plugboard nodes, installed from Debian's packages when missing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const onPath = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

/** Makes sure `haproxy` runs here, installing Debian's package when it is missing; fails naming HAProxy otherwise. */
export function ensureHaproxy(): void {
  if (onPath('haproxy')) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let install = spawnSync('apt-get', ['install', '-y', '-q', 'haproxy'], { env, encoding: 'utf8' });
  if (install.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { env, encoding: 'utf8' });
    install = spawnSync('apt-get', ['install', '-y', '-q', 'haproxy'], { env, encoding: 'utf8' });
  }
  if (!onPath('haproxy')) {
    throw new Error(
      `HAProxy is not installed and "apt-get install haproxy" failed; the multi-node tests need it:\n${install.stderr ?? ''}`,
    );
  }
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Balancer {
  readonly url: string;
  readonly output: () => string;
  stop(): Promise<void>;
}

/**
 * Round robin over the nodes, each checked with GET /readyz every 200 ms: two failed checks take a node out
 * (a draining node answers 503 at once), two good ones put it back. A request whose connection could not be
 * made is sent to another node; nothing that reached a node is sent twice.
 */
export async function startHaproxy(nodePorts: readonly number[]): Promise<Balancer> {
  ensureHaproxy();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'plugboard-haproxy-'));
  const config = [
    'global',
    '  maxconn 2000',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    // Without it a check must finish within "inter" (200 ms), which a busy machine misses now and then.
    '  timeout check 2s',
    '  retries 3',
    '  option redispatch 1',
    '  retry-on conn-failure',
    'frontend plugboard',
    `  bind 127.0.0.1:${port}`,
    '  default_backend nodes',
    'backend nodes',
    '  balance roundrobin',
    // Round robin sends each request to another node than the last; without this every request but a client's
    // first would open a new connection to its node (HAProxy's default "safe" reuse).
    '  http-reuse always',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    '  default-server inter 200ms fastinter 100ms downinter 200ms fall 2 rise 2',
    ...nodePorts.map((p, i) => `  server n${i + 1} 127.0.0.1:${p} check`),
    '',
  ].join('\n');
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const child: ChildProcess = spawn('haproxy', ['-f', file, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.once('exit', () => child.kill('SIGKILL'));
  try {
    await waitForPort(port, 5000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`HAProxy did not start: ${(error as Error).message}\n${output}`, { cause: error });
  }
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
