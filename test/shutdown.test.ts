import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startCli } from './support/cli-process.js';
import { ENGINES, OWNER_KEY, createTestStore, type TestStore } from './support/stores.js';

const WS = '/api/v1/workspaces/default';

/** Waits for the JSON log line that says the server listens, and returns its address. */
async function listening(output: { stdout: string }, deadline = Date.now() + 30_000): Promise<string> {
  while (Date.now() < deadline) {
    for (const line of output.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as { msg?: string; address?: string };
      if (entry.msg === 'plugboard is listening' && entry.address) return entry.address;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the server did not start:\n${output.stdout}`);
}

for (const engine of ENGINES) {
  describe(`stopping on SIGTERM [${engine}]`, () => {
    const stores: TestStore[] = [];
    let blackHole: Server | undefined;
    const sockets = new Set<Socket>();
    after(async () => {
      for (const socket of sockets) socket.destroy();
      blackHole?.close();
      for (const store of stores) await store.drop();
    });

    it('turns not-ready, finishes the request in flight, then exits cleanly', async () => {
      const store = await createTestStore(engine);
      stores.push(store);
      // A TCP server that accepts and never answers: a connection test against it runs until its timeout.
      blackHole = createServer((socket) => sockets.add(socket));
      await new Promise<void>((resolve) => blackHole!.listen(0, '127.0.0.1', resolve));
      const port = (blackHole.address() as AddressInfo).port;

      const server = startCli(['serve'], {
        ...store.env,
        PORT: '0',
        LOG_LEVEL: 'info',
        PLUGBOARD_ADMIN_KEY: OWNER_KEY,
        SHUTDOWN_DRAIN_MS: '800',
        CONNECTION_TEST_TIMEOUT_MS: '1500',
      });
      const base = await listening(server.output);
      const headers = { authorization: `Bearer ${OWNER_KEY}`, 'content-type': 'application/json' };
      const created = await fetch(`${base}${WS}/connections`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'slow', type: 'redis', content: { host: '127.0.0.1', port } }),
      });
      assert.equal(created.status, 201);
      const { id } = (await created.json()) as { id: number };
      assert.equal((await fetch(`${base}/readyz`)).status, 200);

      const inFlight = fetch(`${base}${WS}/connections/${id}/test`, {
        method: 'POST',
        headers: { authorization: headers.authorization },
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      server.child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const draining = await fetch(`${base}/readyz`);
      assert.equal(draining.status, 503);
      assert.deepEqual(await draining.json(), { status: 'not-ready', reason: 'draining' });

      const answer = await inFlight;
      assert.equal(answer.status, 200);
      const result = (await answer.json()) as { health: { state: string; message: string } };
      assert.equal(result.health.state, 'failing');
      assert.match(result.health.message, /timed out/);

      const exit = await server.exited;
      assert.equal(exit.code, 0, exit.stdout + exit.stderr);
      assert.match(exit.stdout, /"msg":"stopped"/);
    });
  });
}

describe('stopping on SIGTERM with a connection that sent nothing', () => {
  let store: TestStore | undefined;
  after(async () => store?.drop());

  it('closes it at the stop instead of waiting out its headers timeout', async () => {
    store = await createTestStore('sqlite');
    const server = startCli(['serve'], {
      ...store.env,
      PORT: '0',
      LOG_LEVEL: 'info',
      PLUGBOARD_ADMIN_KEY: OWNER_KEY,
      SHUTDOWN_DRAIN_MS: '200',
      HEADERS_TIMEOUT_MS: '120000',
      REQUEST_TIMEOUT_MS: '120000',
    });
    const base = new URL(await listening(server.output));
    // What a browser's preconnect does: a connection opened ahead of a request that never comes.
    const idle = connect(Number(base.port), base.hostname);
    await new Promise<void>((resolve, reject) => idle.once('connect', resolve).once('error', reject));
    const closedByServer = new Promise<void>((resolve) => idle.once('close', () => resolve()));
    // One that served a request and stays open (keep-alive) is closed too.
    assert.equal((await fetch(`${base.origin}/healthz`)).status, 200);
    const stopping = Date.now();
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    assert.equal(exit.code, 0, exit.stdout + exit.stderr);
    await closedByServer;
    // Node would hold the close until the connection's headers timeout (120 s here).
    assert.ok(Date.now() - stopping < 60_000, `stopped after ${Date.now() - stopping} ms`);
  });
});
