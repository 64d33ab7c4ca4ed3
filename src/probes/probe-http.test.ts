import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { probeConnection } from './probe-connection.js';
import type { ProbeResult } from './probe.js';
import { defaultEgress } from '../../test/support/egress.js';
import { assertNoSocketTo, closedPort, probeHungServer } from '../../test/support/probe-servers.js';

const requests: string[] = [];
const server = createServer((request, response) => {
  requests.push(`${request.method} ${request.url}`);
  const path = request.url?.split('?')[0];
  const status: Record<string, number> = {
    '/ok': 200,
    '/get-only': 200,
    '/missing': 404,
    '/broken': 500,
    '/private': 401,
    '/moved': 301,
    '/busy': 429,
  };
  if (path === '/get-only' && request.method !== 'GET') response.writeHead(405, { allow: 'GET' });
  else if (path === '/post-only') response.writeHead(405, { allow: 'POST' });
  else if (path === '/moved') response.writeHead(301, { location: '/elsewhere' });
  else response.writeHead(status[path ?? ''] ?? 404);
  response.end('body');
});
let base = '';

function probe(content: Record<string, unknown>, baseUrl?: string | null, timeoutMs = 5000): Promise<ProbeResult> {
  const result = probeConnection({ type: 'http', content, baseUrl }, { timeoutMs, egress: defaultEgress });
  assert.ok(result, 'plugboard should probe http');
  return result;
}

describe('probing an HTTP service', { timeout: 20_000 }, () => {
  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('sends HEAD, counts a 2xx answer as reachable and hangs up', async () => {
    requests.length = 0;
    const result = await probe({ url: `${base}/ok` });
    assert.equal(result.ok, true, result.message);
    assert.match(result.message, new RegExp(`^connected in \\d+ ms; HTTP 200 from ${base}/ok$`));
    assert.deepEqual(requests, ['HEAD /ok']);
    await assertNoSocketTo(Number(new URL(base).port), 0);
  });

  it('fails on a 404 and names the URL', async () => {
    const result = await probe({ url: `${base}/missing` });
    assert.deepEqual([result.ok, result.message], [false, `HTTP 404 from ${base}/missing`]);
  });

  it('fails on a 500', async () => {
    const result = await probe({ url: `${base}/broken` });
    assert.deepEqual([result.ok, result.message], [false, `HTTP 500 from ${base}/broken`]);
  });

  it('falls back to GET when the server does not allow HEAD', async () => {
    requests.length = 0;
    const result = await probe({ url: `${base}/get-only` });
    assert.equal(result.ok, true, result.message);
    assert.match(result.message, /HTTP 200 from .*\/get-only \(GET, as HEAD is not allowed\)$/);
    assert.deepEqual(requests, ['HEAD /get-only', 'GET /get-only']);
  });

  it('counts an endpoint that takes neither HEAD nor GET as reachable', async () => {
    const result = await probe({ url: `${base}/post-only` });
    assert.equal(result.ok, true, result.message);
    assert.match(result.message, /the endpoint takes neither HEAD nor GET$/);
  });

  it('counts a 401 as reachable but refused, since the probe sends no credentials', async () => {
    const result = await probe({ url: `${base}/private` });
    assert.equal(result.ok, true, result.message);
    assert.match(
      result.message,
      new RegExp(`reachable but refused: HTTP 401 from ${base}/private; the probe sends no credentials$`),
    );
  });

  it('counts a redirect as reachable without following it', async () => {
    requests.length = 0;
    const result = await probe({ url: `${base}/moved` });
    assert.equal(result.ok, true, result.message);
    assert.match(result.message, /HTTP 301 from .*\/moved, a redirect the probe does not follow$/);
    assert.deepEqual(requests, ['HEAD /moved']);
  });

  it('counts a 429 as reachable but rate-limited', async () => {
    const result = await probe({ url: `${base}/busy` });
    assert.equal(result.ok, true, result.message);
    assert.match(result.message, /reachable but rate-limited: HTTP 429/);
  });

  it('uses the connector base URL when the settings have no url, and resolves a relative url against it', async () => {
    requests.length = 0;
    assert.equal((await probe({}, `${base}/ok`)).ok, true);
    assert.equal((await probe({ url: '/ok' }, `${base}/api/`)).ok, true);
    assert.deepEqual(requests, ['HEAD /ok', 'HEAD /ok']);
  });

  it('leaves credentials and the query out of messages and requests', async () => {
    requests.length = 0;
    const result = await probe({ url: `http://me:pass-7f3a@127.0.0.1:${new URL(base).port}/missing?api_key=key-7f3a` });
    assert.deepEqual([result.ok, result.message], [false, `HTTP 404 from ${base}/missing`]);
    assert.deepEqual(requests, ['HEAD /missing?api_key=key-7f3a']);
  });

  it('refuses anything but an http or https URL without connecting', async () => {
    assert.deepEqual(await probe({ url: 'ftp://127.0.0.1/file' }), {
      ok: false,
      message: 'invalid settings: url must be an http:// or https:// URL',
      latencyMs: 0,
    });
    assert.equal((await probe({ url: 'not a url' })).message, 'invalid settings: url is not a valid URL');
    assert.equal((await probe({}, null)).message, 'invalid settings: url is missing, and the connector has no baseUrl');
  });

  it('reports a refused connection with the address', async () => {
    const port = await closedPort();
    const result = await probe({ url: `http://127.0.0.1:${port}/` });
    assert.deepEqual([result.ok, result.message], [false, `host unreachable: connection refused at 127.0.0.1:${port}`]);
  });

  it('gives up at the deadline on a server that never answers, and closes the socket', async () => {
    const result = await probeHungServer((port) => probe({ url: `http://127.0.0.1:${port}/` }, null, 300));
    assert.ok(result.tookMs < 1000, `took ${result.tookMs} ms`);
    assert.deepEqual(
      [result.ok, result.message],
      [false, `timed out after 300 ms waiting for http://127.0.0.1:${result.port}/`],
    );
  });
});
