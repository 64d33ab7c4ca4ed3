import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { probeConnection } from './probe-connection.js';
import type { ProbeResult } from './probe.js';
import { defaultEgress } from '../../test/support/egress.js';
import { assertNoSocketTo, probeHungServer, requireService } from '../../test/support/probe-servers.js';

const host = '127.0.0.1';
const port = 6379;

function probe(content: Record<string, unknown>, timeoutMs = 5000): Promise<ProbeResult> {
  const result = probeConnection({ type: 'redis', content }, { timeoutMs, egress: defaultEgress });
  assert.ok(result, 'plugboard should probe redis');
  return result;
}

// This server has no password: AUTH is refused whatever is sent, which stands in for a wrong password.
describe('probing Redis', { timeout: 20_000 }, () => {
  before(() => requireService('Redis', host, port));

  it('connects, sends PING, reports the time taken and hangs up', async () => {
    const result = await probe({ host, port });
    assert.equal(result.ok, true, result.message);
    assert.match(result.message, /^connected in \d+ ms$/);
    await assertNoSocketTo(port);
  });

  it('uses the default port and selects the database given as db', async () => {
    const result = await probe({ host, db: '2' });
    assert.equal(result.ok, true, result.message);
  });

  it('says a password is refused by a server that has none, without repeating it', async () => {
    const result = await probe({ host, port, password: 'wrong-pass-7f3a' });
    assert.deepEqual(
      [result.ok, result.message],
      [
        false,
        'authentication failed for user default: the server at 127.0.0.1:6379 has no password set, but the settings give one',
      ],
    );
  });

  it('says authentication failed for a user name and password the server does not know', async () => {
    const result = await probe({ host, port, username: 'pb_probe', password: 'wrong-pass-7f3a' });
    assert.deepEqual([result.ok, result.message], [false, 'authentication failed for user pb_probe']);
  });

  it('names a database the server does not have', async () => {
    const result = await probe({ host, port, db: 100_000 });
    assert.deepEqual(
      [result.ok, result.message],
      [false, 'database 100000 does not exist on the server at 127.0.0.1:6379'],
    );
  });

  it('reports a refused connection with the address', async () => {
    const result = await probe({ host, port: 1 });
    assert.deepEqual([result.ok, result.message], [false, 'host unreachable: connection refused at 127.0.0.1:1']);
  });

  it('gives up at the deadline on a server that never answers, and closes the socket', async () => {
    const result = await probeHungServer((silentPort) => probe({ host, port: silentPort }, 300));
    assert.ok(result.tookMs < 1000, `took ${result.tookMs} ms`);
    assert.deepEqual(
      [result.ok, result.message],
      [false, `timed out after 300 ms waiting for 127.0.0.1:${result.port}`],
    );
  });

  it('names every missing or bad setting without connecting', async () => {
    const result = await probe({ port: 0, db: -1 });
    assert.deepEqual(result, {
      ok: false,
      message:
        'invalid settings: host is missing, port must be a whole number from 1 to 65535, db must be a whole number from 0 to 2147483647',
      latencyMs: 0,
    });
  });
});
