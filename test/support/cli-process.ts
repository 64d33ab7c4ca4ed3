// The plugboard command as an operator runs it: a child process on the TypeScript sources, with only the
// environment it is given, killed if it outlives its timeout or the test process.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
// A safety kill, not a speed check: a command run through tsx takes ~4 s of CPU to start (10 s wall at load 9
// measured for `serve --help`), and 30 s was exceeded under the suite's own load in CI.
const TIMEOUT_MS = 90_000;

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Started {
  readonly child: ChildProcess;
  readonly output: { stdout: string; stderr: string };
  readonly exited: Promise<Run>;
}

/** Starts `plugboard <args>` with exactly `env` (plus PATH and HOME). */
export function startCli(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = TIMEOUT_MS,
  stdin?: string,
): Started {
  const child = spawn(process.execPath, [...CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (stdin !== undefined) child.stdin!.end(stdin);
  children.add(child);
  const output = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<Run>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, ...output });
    });
  });
  return { child, output, exited };
}

/** Runs a command to its end. */
export const runCli = (args: readonly string[], env: Record<string, string>): Promise<Run> =>
  startCli(args, env).exited;

/** Runs a command to its end with `stdin` as its standard input. */
export const runCliWithInput = (args: readonly string[], env: Record<string, string>, stdin: string): Promise<Run> =>
  startCli(args, env, TIMEOUT_MS, stdin).exited;
