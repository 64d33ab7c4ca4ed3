import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { createUpstreamClient } from '../services/call-openapi-tool.js';
import type { ToolOperation } from '../openapi/tool-operation.js';
import { probeConnection } from '../probes/probe-connection.js';
import { egressFetch } from './egress-connect.js';
import { createEgressPolicy, parseEgressAllow, type Resolver } from './egress-policy.js';

/**
 * A raw TCP listener that records the first bytes of each connection (an HTTP request line and Host header,
 * or a TLS ClientHello with its SNI) and answers a tiny HTTP 200 to anything that looks like HTTP.
 */
async function recorder(host: string, port = 0) {
  const seen: string[] = [];
  const server: Server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', (chunk) => {
      seen.push(chunk.toString('latin1'));
      if (/^[A-Z]+ /.test(chunk.toString('latin1')))
        socket.end(
          'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{}',
        );
      else socket.destroy();
    });
    // Drivers that wait for the server to speak first (MySQL) get a hang-up instead.
    setTimeout(() => socket.destroy(), 200).unref();
  });
  server.listen(port, host);
  await once(server, 'listening');
  return { seen, port: (server.address() as { port: number }).port, close: () => server.close() };
}

/** A resolver that answers `first` once, then `later`: what a DNS name rebound between check and connect looks like. */
function rebinding(first: string, later: string) {
  const asked: string[] = [];
  const resolver: Resolver = async (host) => {
    asked.push(host);
    return [{ address: asked.length === 1 ? first : later, family: 4 }];
  };
  return { asked, resolver };
}

const open = parseEgressAllow('').allow;

describe('connecting through the egress policy', () => {
  let checked: Awaited<ReturnType<typeof recorder>>;
  let rebound: Awaited<ReturnType<typeof recorder>>;
  before(async () => {
    checked = await recorder('127.0.0.1');
    // The same port on another loopback address: only the address tells the two apart.
    rebound = await recorder('127.0.0.2', checked.port);
  });
  after(() => {
    checked.close();
    rebound.close();
  });
  const reset = () => {
    checked.seen.length = 0;
    rebound.seen.length = 0;
  };

  for (const [type, content] of [
    ['http', (port: number) => ({ url: `http://rebind.test:${port}/health` })],
    ['https', (port: number) => ({ url: `https://rebind.test:${port}/health` })],
    ['redis', (port: number) => ({ host: 'rebind.test', port })],
    ['redis', (port: number) => ({ host: 'rebind.test', port, tls: true })],
    ['postgresql', (port: number) => ({ host: 'rebind.test', port, username: 'x' })],
    ['mysql', (port: number) => ({ host: 'rebind.test', port, username: 'x' })],
  ] as const) {
    const settings = content(0);
    const name = `${type}${'tls' in settings ? ' over TLS' : ''}`;
    it(`connects a ${name} probe to the address it checked, once, whatever DNS answers next`, async () => {
      reset();
      const { asked, resolver } = rebinding('127.0.0.1', '127.0.0.2');
      const egress = createEgressPolicy({ rules: { denyPrivate: false, allow: open }, resolver });
      const probeType = type === 'https' ? 'http' : type;
      await probeConnection({ type: probeType, content: content(checked.port) }, { timeoutMs: 1000, egress });
      assert.deepEqual(asked, ['rebind.test']);
      assert.equal(rebound.seen.length, 0, 'the rebound address was contacted');
      assert.ok(checked.seen.length >= 1 || type === 'mysql', 'the checked address was not contacted');
      // The host name stays the request's: HTTP's Host header, TLS's server name (SNI).
      if (type === 'http')
        assert.match(checked.seen[0]!, new RegExp(`\r\nhost: rebind\\.test:${checked.port}\r\n`, 'i'));
      if (type === 'https' || 'tls' in settings)
        assert.ok(checked.seen[0]!.includes('rebind.test'), 'no SNI in the ClientHello');
    });
  }

  it('sends a gateway upstream call to the checked address and keeps the Host header', async () => {
    reset();
    const { asked, resolver } = rebinding('127.0.0.1', '127.0.0.2');
    const client = createUpstreamClient(createEgressPolicy({ rules: { denyPrivate: false, allow: open }, resolver }));
    const operation = {
      method: 'get',
      path: '/items',
      parameters: [],
      serverUrl: `http://rebind.test:${checked.port}`,
      body: null,
    } as unknown as ToolOperation;
    const result = await client.call({
      operation,
      baseUrl: null,
      credential: null,
      arguments: {},
      timeoutMs: 1000,
      maxResponseBytes: 1000,
    });
    await client.close();
    assert.equal(result.isError, undefined, JSON.stringify(result));
    assert.deepEqual([asked, rebound.seen.length, checked.seen.length], [['rebind.test'], 0, 1]);
    assert.match(
      checked.seen[0]!,
      new RegExp(`^GET /items HTTP/1.1\r\n(.*\r\n)*host: rebind\\.test:${checked.port}\r\n`, 'i'),
    );
  });

  it('sends fetch (the MCP transports) to the checked address, and rejects a refusal with the policy message', async () => {
    reset();
    const { asked, resolver } = rebinding('127.0.0.1', '127.0.0.2');
    const fetch = egressFetch(createEgressPolicy({ rules: { denyPrivate: false, allow: open }, resolver }));
    assert.equal((await fetch(`http://rebind.test:${checked.port}/mcp`)).status, 200);
    assert.deepEqual([asked, rebound.seen.length, checked.seen.length], [['rebind.test'], 0, 1]);
    const strict = egressFetch(createEgressPolicy({ rules: { denyPrivate: true, allow: open } }));
    await assert.rejects(strict(`http://127.0.0.1:${checked.port}/mcp`), {
      name: 'EgressRefused',
      message: 'refused by the egress policy: 127.0.0.1 is a private address (EGRESS_DENY_PRIVATE=true)',
    });
    assert.equal(checked.seen.length, 1);
  });

  it('tries the next checked address when nothing answers at one, as happy eyeballs would', async () => {
    reset();
    // Nothing listens on 127.0.0.3: like `localhost` answering ::1 first to a service bound to 127.0.0.1 only.
    const resolver: Resolver = async () => [
      { address: '127.0.0.3', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ];
    const egress = createEgressPolicy({ rules: { denyPrivate: false, allow: open }, resolver });
    const http = await probeConnection(
      { type: 'http', content: { url: `http://two.test:${checked.port}/` } },
      { timeoutMs: 1000, egress },
    );
    assert.equal(http?.ok, true, http?.message);
    await probeConnection(
      { type: 'redis', content: { host: 'two.test', port: checked.port } },
      { timeoutMs: 1000, egress },
    );
    const client = createUpstreamClient(egress);
    const operation = {
      method: 'get',
      path: '/items',
      parameters: [],
      serverUrl: `http://two.test:${checked.port}`,
      body: null,
    } as unknown as ToolOperation;
    const result = await client.call({
      operation,
      baseUrl: null,
      credential: null,
      arguments: {},
      timeoutMs: 1000,
      maxResponseBytes: 1000,
    });
    await client.close();
    assert.equal(result.isError, undefined, JSON.stringify(result));
    assert.equal(checked.seen.length, 3);
  });

  it('checks the target of every redirect fetch follows', async () => {
    const redirector = createServer((socket) => {
      socket.once('data', () =>
        socket.end(
          'HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/latest/meta-data/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
        ),
      );
    });
    redirector.listen(0, '127.0.0.1');
    await once(redirector, 'listening');
    try {
      const fetch = egressFetch(createEgressPolicy({ rules: { denyPrivate: false, allow: open } }));
      await assert.rejects(
        fetch(`http://127.0.0.1:${(redirector.address() as { port: number }).port}/`),
        /refused by the egress policy: 169\.254\.169\.254 is a link-local address/,
      );
    } finally {
      redirector.close();
    }
  });
});
