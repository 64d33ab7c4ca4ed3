// plugboard nodes as separate processes, the way an operator runs several behind a load balancer.
import { startCli } from './cli-process.js';

export interface Node {
  readonly id: string;
  readonly port: number;
  readonly url: string;
  /** Everything the process printed so far (all of its lives). */
  output(): string;
  /** Starts the process (again); resolves when /readyz answers 200. */
  start(): Promise<void>;
  /** Sends the signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

async function waitReady(url: string, timeoutMs: number, exited: () => boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited())
      throw new Error(`the node at ${url} exited while starting; its last output:\n${output().slice(-4000)}`);
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the node at ${url} was not ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function createNode(id: string, port: number, env: Record<string, string>): Node {
  let log = '';
  let current: ReturnType<typeof startCli> | undefined;
  let done = true;
  const url = `http://127.0.0.1:${port}`;
  return {
    id,
    port,
    url,
    output: () => log + (current ? current.output.stdout + current.output.stderr : ''),
    async start() {
      if (current) log += current.output.stdout + current.output.stderr;
      done = false;
      const started = startCli(['serve'], { ...env, PORT: String(port), HOST: '127.0.0.1', NODE_ID: id }, 10 * 60_000);
      current = started;
      void started.exited.then(() => {
        if (current === started) done = true;
      });
      await waitReady(
        url,
        120_000,
        () => done,
        () => started.output.stdout + started.output.stderr,
      );
    },
    async stop(signal = 'SIGTERM') {
      if (!current || done) return null;
      current.child.kill(signal);
      return (await current.exited).code;
    },
  };
}
