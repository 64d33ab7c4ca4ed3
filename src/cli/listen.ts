import { createServer } from 'node:net';

/** A listen error the operator can fix, said in one line: which address, and which setting to change. */
export function listenProblem(error: unknown, host: string, port: number): string | undefined {
  const at = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${at}: the port is in use by another program; stop it, or choose another port with PORT (or --port).`;
    case 'EACCES':
      return `cannot listen on ${at}: not allowed to use port ${port}; choose a port above 1023 with PORT (or --port).`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${at}: ${host} is not an address of this machine; change HOST (or --host).`;
    default:
      return undefined;
  }
}

/**
 * Fails, in one line, when the address cannot be listened on, before anything else starts: a start that could
 * not listen would otherwise have created the owner key of an empty store and shown it to nobody.
 */
export async function checkCanListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error) =>
      reject(new Error(listenProblem(error, host, port) ?? `cannot listen on ${host}:${port}: ${error.message}`)),
    );
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** Where a person opens what a server listening at `address` serves (`0.0.0.0` is no address to browse to). */
export function browsableUrl(address: string): string {
  const url = new URL(address);
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  if (url.hostname === '[::]') url.hostname = '[::1]';
  return url.origin;
}

/** The one line every start prints for a person, whatever the log level. */
export function startLine(address: string, consoleBase: string): string {
  return `plugboard listening on ${address} (console: ${consoleBase}/console/)`;
}
