// What one node does against many or slow clients, and what it discloses: the per-node connection cap, the
// header, request and keep-alive timeouts, the /metrics token and the X-Plugboard-Node header.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { startTestApp, type TestApp } from './support/stores.js';

/** A raw TCP client that keeps what the server sends and whether it closed. */
interface Peer {
  readonly socket: Socket;
  readonly received: () => string;
  readonly closed: Promise<void>;
  isClosed(): boolean;
  /** Sends one keep-alive GET and resolves with the status of its answer. */
  get(path: string, headers?: Record<string, string>): Promise<number>;
}

function openPeer(port: number): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let closed = false;
    let waiting: ((status: number) => void) | undefined;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const match = /HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n/.exec(text);
      if (match && waiting) {
        const done = waiting;
        waiting = undefined;
        const length = /content-length: (\d+)/i.exec(match[0]);
        const end = match.index + match[0].length + Number(length?.[1] ?? 0);
        if (text.length >= end) {
          text = text.slice(end);
          done(Number(match[1]));
        } else {
          waiting = done;
        }
      }
    });
    const closedPromise = new Promise<void>((done) => socket.on('close', () => ((closed = true), done())));
    socket.on('error', () => undefined);
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => text,
        closed: closedPromise,
        isClosed: () => closed,
        get(path, headers = {}) {
          return new Promise((done, fail) => {
            waiting = done;
            socket.once('close', () => fail(new Error(`closed before answering ${path}`)));
            const lines = Object.entries({ host: 'plugboard.test', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
            socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`);
          });
        },
      }),
    );
    socket.once('error', reject);
  });
}

/** Resolves true if the promise settles within `ms`, false otherwise. */
const within = (promise: Promise<unknown>, ms: number) =>
  Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref()),
  ]);

async function listen(app: TestApp): Promise<number> {
  await app.server.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.server.address() as { port: number }).port;
}

describe('the connection cap', () => {
  let app: TestApp;
  let port: number;
  const peers: Peer[] = [];
  before(async () => {
    app = await startTestApp('sqlite', { env: { MAX_CONNECTIONS: '4' } });
    port = await listen(app);
  });
  after(async () => {
    for (const peer of peers) peer.socket.destroy();
    await app?.stop();
  });

  it('closes sockets above MAX_CONNECTIONS at once while the open ones keep being served, and takes new ones when others close', async () => {
    for (let i = 0; i < 4; i++) {
      const peer = await openPeer(port);
      peers.push(peer);
      assert.equal(await peer.get('/healthz'), 200);
    }
    const refused = await openPeer(port).catch(() => undefined);
    if (refused) {
      peers.push(refused);
      refused.socket.write('GET /healthz HTTP/1.1\r\nhost: plugboard.test\r\n\r\n');
      assert.equal(await within(refused.closed, 2000), true, 'the fifth socket is closed');
      assert.equal(refused.received(), '', 'and answered nothing');
    }
    assert.equal(await peers[0]!.get('/healthz'), 200, 'an open keep-alive socket is still served');
    peers[1]!.socket.destroy();
    await peers[1]!.closed;
    // The server counts the closed socket out when it sees the close, a moment after the client did.
    let status: number | undefined;
    for (const deadline = Date.now() + 2000; status === undefined && Date.now() < deadline;) {
      const next = await openPeer(port);
      peers.push(next);
      status = await next.get('/healthz').catch(() => undefined);
      if (status === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(status, 200, 'a new socket is taken once another has closed');
  });
});

describe('slow clients', () => {
  let app: TestApp;
  let port: number;
  const peers: Peer[] = [];
  const open = async () => {
    const peer = await openPeer(port);
    peers.push(peer);
    return peer;
  };
  before(async () => {
    app = await startTestApp('sqlite', {
      env: { HEADERS_TIMEOUT_MS: '500', REQUEST_TIMEOUT_MS: '1000', KEEP_ALIVE_TIMEOUT_MS: '1200' },
    });
    port = await listen(app);
  });
  after(async () => {
    for (const peer of peers) peer.socket.destroy();
    await app?.stop();
  });

  it('disconnects a client that sends its headers too slowly', async () => {
    const peer = await open();
    peer.socket.write('GET /healthz HTTP/1.1\r\nhost: plugboard.test\r\n');
    const started = Date.now();
    const dribble = setInterval(() => peer.socket.write('x-slow: 1\r\n'), 100);
    try {
      assert.equal(await within(peer.closed, 3000), true, 'the socket is closed');
    } finally {
      clearInterval(dribble);
    }
    assert.ok(Date.now() - started >= 400, 'not before HEADERS_TIMEOUT_MS');
    assert.doesNotMatch(peer.received(), /HTTP\/1\.1 200/);
  });

  it('disconnects a client that connects and sends nothing', async () => {
    const peer = await open();
    assert.equal(await within(peer.closed, 3000), true, 'the idle socket is closed');
  });

  it('disconnects a client that sends its body too slowly', async () => {
    const peer = await open();
    peer.socket.write(
      'POST /api/v1/workspaces HTTP/1.1\r\nhost: plugboard.test\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{',
    );
    const dribble = setInterval(() => peer.socket.write(' '), 100);
    try {
      assert.equal(await within(peer.closed, 4000), true, 'the socket is closed');
    } finally {
      clearInterval(dribble);
    }
  });

  it('keeps an idle keep-alive socket past HEADERS_TIMEOUT_MS and closes it after KEEP_ALIVE_TIMEOUT_MS', async () => {
    const peer = await open();
    assert.equal(await peer.get('/healthz'), 200);
    // A load balancer reuses its sockets after idling: the header timeout must not cut them off in between.
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.equal(await peer.get('/healthz'), 200);
    const idle = Date.now();
    assert.equal(await within(peer.closed, 5000), true, 'the idle keep-alive socket is closed');
    assert.ok(Date.now() - idle >= 1000, 'not before KEEP_ALIVE_TIMEOUT_MS');
  });
});

describe('the /metrics token', () => {
  let app: TestApp;
  const TOKEN = 'metrics-token-0123456789abcdef';
  before(async () => {
    app = await startTestApp('sqlite', { env: { METRICS_TOKEN: TOKEN } });
  });
  after(async () => {
    await app?.stop();
  });

  it('answers /metrics only with Authorization: Bearer METRICS_TOKEN, and 401 otherwise', async () => {
    for (const authorization of [
      undefined,
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Basic ${TOKEN}`,
      'Bearer ',
      TOKEN,
    ]) {
      const reply = await app.server.inject({
        method: 'GET',
        url: '/metrics',
        headers: authorization === undefined ? {} : { authorization },
      });
      assert.equal(reply.statusCode, 401, `${authorization}: ${reply.body.slice(0, 200)}`);
      assert.match(String(reply.headers['content-type']), /^application\/problem\+json/);
      assert.doesNotMatch(reply.body, /plugboard_http_requests_total/);
      assert.doesNotMatch(reply.body, new RegExp(TOKEN));
    }
    const reply = await app.server.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(reply.statusCode, 200);
    assert.match(reply.body, /plugboard_http_requests_total/);
  });

  it('keeps /metrics open when METRICS_TOKEN is not set', async () => {
    const open = await startTestApp('sqlite');
    try {
      assert.equal((await open.server.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
    } finally {
      await open.stop();
    }
  });
});

describe('the X-Plugboard-Node header', () => {
  it('carries NODE_ID on every edge', async () => {
    const app = await startTestApp('sqlite', { env: { NODE_ID: 'node-a' } });
    try {
      for (const url of [
        '/healthz',
        '/api/v1/workspaces',
        '/o/default/connectors',
        '/v1/access-clients',
        '/2023-07-14/toolsets',
        '/nowhere',
      ]) {
        const reply = await app.server.inject({ method: 'GET', url });
        assert.equal(reply.headers['x-plugboard-node'], 'node-a', url);
      }
    } finally {
      await app.stop();
    }
  });

  it('discloses neither the host name nor the process id when NODE_ID is not set, and stays the same within a node', async () => {
    const app = await startTestApp('sqlite');
    try {
      const first = String((await app.server.inject({ method: 'GET', url: '/healthz' })).headers['x-plugboard-node']);
      const second = String(
        (await app.server.inject({ method: 'GET', url: '/api/v1/workspaces' })).headers['x-plugboard-node'],
      );
      assert.equal(first, second);
      assert.equal(first.includes(hostname()), false, first);
      assert.equal(first.includes(String(process.pid)), false, first);
      assert.match(first, /^[\x21-\x7e]{1,128}$/);
    } finally {
      await app.stop();
    }
  });
});
