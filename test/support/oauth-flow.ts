// The OAuth flows of the tests: a free port for a server that must know its PUBLIC_URL before it listens.
import { createServer } from 'node:net';

/** A port nothing listens on right now (the app then listens on it, its PUBLIC_URL naming it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
