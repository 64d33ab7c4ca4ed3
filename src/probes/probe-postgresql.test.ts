import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { probeConnection } from './probe-connection.js';
import type { ProbeResult } from './probe.js';
import { defaultEgress } from '../../test/support/egress.js';
import { assertNoSocketTo, probeHungServer, requireService } from '../../test/support/probe-servers.js';

const host = '127.0.0.1';
const port = 5432;
const postgres = { host, port, username: 'postgres', database: 'test' };

function probe(content: Record<string, unknown>, timeoutMs = 5000, type = 'postgresql'): Promise<ProbeResult> {
  const result = probeConnection({ type, content }, { timeoutMs, egress: defaultEgress });
  assert.ok(result, `plugboard should probe ${type}`);
  return result;
}

// This server trusts every local connection (pg_hba "trust"), so any password passes and a wrong one
// cannot be shown failing here; an unknown role and an unknown database stand in for refused settings.
describe('probing PostgreSQL', { timeout: 20_000 }, () => {
  before(() => requireService('PostgreSQL', host, port));

  it('connects, runs SELECT 1, reports the time taken and hangs up', async () => {
    const result = await probe(postgres);
    assert.equal(result.ok, true, result.message);
    assert.match(result.message, /^connected in \d+ ms$/);
    await assertNoSocketTo(port);
  });

  it('accepts the postgres type, user instead of username and the port as text', async () => {
    const result = await probe(
      { host, port: '5432', user: 'postgres', password: 'ignored-by-trust' },
      5000,
      'postgres',
    );
    assert.equal(result.ok, true, result.message);
  });

  it('names a database that does not exist', async () => {
    const result = await probe({ ...postgres, database: 'nope' });
    assert.deepEqual([result.ok, result.message], [false, 'database "nope" does not exist']);
  });

  it('says authentication failed for a role that does not exist', async () => {
    const result = await probe({ ...postgres, username: 'pb_no_such_role' });
    assert.deepEqual(
      [result.ok, result.message],
      [false, 'authentication failed for user pb_no_such_role: role "pb_no_such_role" does not exist'],
    );
  });

  it('masks a password that the server echoes back, here pasted into the database field', async () => {
    const result = await probe({ ...postgres, password: 'hunter2-9c1e', database: 'hunter2-9c1e' });
    assert.deepEqual([result.ok, result.message], [false, 'database "******" does not exist']);
  });

  it('reports a refused connection with the address', async () => {
    const result = await probe({ ...postgres, port: 1 });
    assert.deepEqual([result.ok, result.message], [false, 'host unreachable: connection refused at 127.0.0.1:1']);
  });

  it('gives up at the deadline on a server that never answers, and closes the socket', async () => {
    const result = await probeHungServer((port) => probe({ ...postgres, port }, 300));
    assert.ok(result.tookMs < 1000, `took ${result.tookMs} ms`);
    assert.deepEqual(
      [result.ok, result.message],
      [false, `timed out after 300 ms waiting for 127.0.0.1:${result.port}`],
    );
  });

  it('says the server offers no TLS when the settings ask for it', async () => {
    const result = await probe({ ...postgres, ssl: true });
    assert.deepEqual(
      [result.ok, result.message],
      [false, 'the server at 127.0.0.1:5432 does not offer TLS, but the settings ask for it'],
    );
  });

  it('names every missing or bad setting without connecting', async () => {
    const result = await probe({ host: '  ', user: 42, tls: 'maybe' });
    assert.deepEqual(result, {
      ok: false,
      message: 'invalid settings: host is missing, user must be text, tls must be true or false',
      latencyMs: 0,
    });
  });
});
