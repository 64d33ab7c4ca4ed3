import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from 'mysql2/promise';
import { probeConnection } from './probe-connection.js';
import type { ProbeResult } from './probe.js';
import { defaultEgress } from '../../test/support/egress.js';
import { assertNoSocketTo, probeHungServer, requireService } from '../../test/support/probe-servers.js';

const host = '127.0.0.1';
const port = 3306;
const root = { host, port, username: 'root', password: '', database: 'test' };

function probe(content: Record<string, unknown>, timeoutMs = 5000, type = 'mysql'): Promise<ProbeResult> {
  const result = probeConnection({ type, content }, { timeoutMs, egress: defaultEgress });
  assert.ok(result, `plugboard should probe ${type}`);
  return result;
}

// A user with a password, because root has none here and a wrong password needs a right one to differ from.
async function asRoot(sql: string): Promise<void> {
  const connection = await createConnection({ host, port, user: 'root', password: '' });
  try {
    await connection.query(sql);
  } finally {
    await connection.end();
  }
}

describe('probing MySQL and MariaDB', { timeout: 20_000 }, () => {
  before(async () => {
    await requireService('MariaDB', host, port);
    await asRoot("CREATE USER IF NOT EXISTS 'pb_probe'@'%' IDENTIFIED BY 'right-pass'");
  });
  after(() => asRoot("DROP USER IF EXISTS 'pb_probe'@'%'"));

  it('connects, runs SELECT 1, reports the time taken and hangs up', async () => {
    const result = await probe(root);
    assert.equal(result.ok, true, result.message);
    assert.match(result.message, /^connected in \d+ ms$/);
    assert.ok(result.latencyMs >= 0);
    await assertNoSocketTo(port);
  });

  it('accepts the mariadb type, user instead of username and the port as text', async () => {
    const result = await probe({ host, port: '3306', user: 'root', database: 'test' }, 5000, 'mariadb');
    assert.equal(result.ok, true, result.message);
  });

  it('connects with a user whose password is right', async () => {
    const result = await probe({ host, port, username: 'pb_probe', password: 'right-pass' });
    assert.equal(result.ok, true, result.message);
  });

  it('says authentication failed for a wrong password, without repeating it', async () => {
    const result = await probe({ host, port, username: 'pb_probe', password: 'wrong-pass-7f3a' });
    assert.equal(result.ok, false);
    assert.equal(result.message, 'authentication failed for user pb_probe');
    assert.ok(!result.message.includes('wrong-pass-7f3a'));
  });

  it('names a database that does not exist', async () => {
    const result = await probe({ ...root, database: 'nope' });
    assert.deepEqual([result.ok, result.message], [false, 'database "nope" does not exist']);
  });

  it('masks a password that the server echoes back, here pasted into the database field', async () => {
    const result = await probe({ host, port, username: 'pb_probe', password: 'right-pass', database: 'right-pass' });
    assert.deepEqual([result.ok, result.message], [false, 'user pb_probe may not use database "******"']);
  });

  it('reports a refused connection with the address', async () => {
    const result = await probe({ ...root, port: 1 });
    assert.deepEqual([result.ok, result.message], [false, 'host unreachable: connection refused at 127.0.0.1:1']);
  });

  it('gives up at the deadline on a server that never answers, and closes the socket', async () => {
    const result = await probeHungServer((port) => probe({ ...root, port }, 300));
    assert.ok(result.tookMs < 1000, `took ${result.tookMs} ms`);
    assert.deepEqual(
      [result.ok, result.message],
      [false, `timed out after 300 ms waiting for 127.0.0.1:${result.port}`],
    );
  });

  it('says the server offers no TLS when the settings ask for it', async () => {
    const result = await probe({ ...root, tls: true });
    assert.deepEqual(
      [result.ok, result.message],
      [false, 'the server at 127.0.0.1:3306 does not offer TLS, but the settings ask for it'],
    );
  });

  it('names every missing or bad setting without connecting', async () => {
    const result = await probe({ port: 'three', password: 'x' });
    assert.deepEqual(result, {
      ok: false,
      message: 'invalid settings: host is missing, port must be a whole number from 1 to 65535, username is missing',
      latencyMs: 0,
    });
  });
});
