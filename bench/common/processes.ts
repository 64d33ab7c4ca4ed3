/** Child servers and the CPU time they spend, read from /proc so that it covers every thread of the process. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Clock ticks per second for /proc/<pid>/stat (100 on nearly every Linux, but ask). */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of one process, in ticks. */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may itself contain spaces or ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Resolves once `ticks` (a CPU-time counter) stops moving for 200 ms, or after 10 s: the server has finished
 * what the last run left queued, and the next measurement starts from a quiet process.
 */
export async function waitIdle(ticks: () => number): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last = ticks();
  while (Date.now() < deadline) {
    await sleep(200);
    const now = ticks();
    if (now - last <= 1) return;
    last = now;
  }
}

export const ticksToMs = (ticks: number) => (ticks * 1000) / CLK_TCK;

/** A port nobody listens on right now (the child binds it a moment later; a clash would fail loudly). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface Server {
  readonly name: string;
  readonly pid: number;
  readonly origin: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

/**
 * Starts a server as a child process with its output in `logFile`, and resolves once `GET /healthz` answers.
 * The child is the node process itself (no npm or shell in between), so its pid is the one to measure.
 */
export async function startServer(options: {
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  port: number;
  logFile: string;
  cwd: string;
}): Promise<Server> {
  const log = createWriteStream(options.logFile);
  const child: ChildProcess = spawn(process.execPath, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exited: number | string | null | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = code ?? signal;
      resolve();
    }),
  );
  const origin = `http://127.0.0.1:${options.port}`;
  const stop = async () => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      const killed = await Promise.race([exit.then(() => false), sleep(10_000).then(() => true)]);
      if (killed) {
        child.kill('SIGKILL');
        await exit;
      }
    }
    log.end();
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`${options.name} exited (${exited}) before it was ready:\n${tail(options.logFile)}`);
    }
    try {
      if ((await fetch(`${origin}/healthz`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${options.name} did not answer /healthz within 60 s:\n${tail(options.logFile)}`);
    }
    await sleep(100);
  }
  return { name: options.name, pid: child.pid!, origin, logFile: options.logFile, stop };
}

/** The last lines of a log, for error messages. */
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
