// Test support for the probe tests: the real services they need, and stand-ins for broken ones.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import type { ProbeResult } from '../../src/probes/probe.js';

/** Fails with the service's name and address when nothing listens there: these tests need the real thing. */
export async function requireService(name: string, host: string, port: number): Promise<void> {
  const socket = connect({ host, port });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.setTimeout(2000, () => reject(new Error('no answer within 2 s')));
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
  } catch (error) {
    throw new Error(
      `${name} is not reachable at ${host}:${port} (${(error as Error).message}); start it before running these tests`,
      { cause: error },
    );
  } finally {
    socket.destroy();
  }
}

/**
 * A TCP server on 127.0.0.1 that accepts connections and never says a word, like a hung service. It
 * never hangs up either, so a client that only half-closes (sends FIN but keeps its socket) would hold
 * its socket for good: `assertNoSocketTo()` tells the two apart.
 */
async function listenSilently() {
  const sockets = new Set<Socket>();
  const hungUp = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    // Reads and drops whatever arrives: an unread socket never sees the client hang up.
    socket.resume();
    socket.once('end', () => hungUp.add(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    port,
    /** How many connections arrived, so a test can tell that the probe really connected. */
    get accepted(): number {
      return sockets.size;
    },
    /** Resolves once every client has sent FIN, or rejects after `withinMs`. */
    async allHungUp(withinMs: number): Promise<void> {
      const deadline = Date.now() + withinMs;
      while (hungUp.size < sockets.size) {
        if (Date.now() > deadline)
          throw new Error(`${sockets.size - hungUp.size} client(s) still connected after ${withinMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/**
 * Probes a server that accepts and never answers, then checks that the probe connected, that the client
 * hung up, and that it left no socket behind.
 */
export async function probeHungServer(
  probe: (port: number) => Promise<ProbeResult>,
): Promise<ProbeResult & { port: number; tookMs: number }> {
  const silent = await listenSilently();
  try {
    const started = Date.now();
    const result = await probe(silent.port);
    const tookMs = Date.now() - started;
    assert.ok(silent.accepted > 0, 'the probe never connected');
    await silent.allHungUp(1000);
    await assertNoSocketTo(silent.port, 0);
    return { ...result, port: silent.port, tookMs };
  } finally {
    await silent.close();
  }
}

/** Fails unless, within `withinMs`, this process holds no socket to a remote `port` (Linux: read from /proc). */
export async function assertNoSocketTo(port: number, withinMs = 500): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (socketsTo(port) > 0) {
    if (Date.now() >= deadline) assert.fail(`${socketsTo(port)} socket(s) to port ${port} left open`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function socketsTo(port: number): number {
  const owned = new Set(
    readdirSync('/proc/self/fd').flatMap((fd) => {
      try {
        return [readlinkSync(`/proc/self/fd/${fd}`)];
      } catch {
        return [];
      }
    }),
  );
  // Each line: sl local_address rem_address st … uid timeout inode, addresses as HEXIP:HEXPORT.
  const lines = ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((table) =>
    readFileSync(table, 'utf8').trim().split('\n').slice(1),
  );
  return lines.filter((line) => {
    const fields = line.trim().split(/\s+/);
    return Number.parseInt(fields[2]?.split(':')[1] ?? '', 16) === port && owned.has(`socket:[${fields[9]}]`);
  }).length;
}

/** A port on 127.0.0.1 that nothing listens on: one the system just handed out and took back. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}
