import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PROBED_TYPES, probeConnection } from './probe-connection.js';
import { defaultEgress } from '../../test/support/egress.js';

describe('probing a connection', () => {
  it('lists the types it can probe, aliases included', () => {
    assert.deepEqual([...PROBED_TYPES].sort(), ['http', 'mariadb', 'mysql', 'postgres', 'postgresql', 'redis']);
  });

  it('returns undefined for a type it has no probe for', () => {
    assert.equal(
      probeConnection({ type: 'smtp', content: { host: 'mail' } }, { timeoutMs: 1000, egress: defaultEgress }),
      undefined,
    );
    assert.equal(
      probeConnection({ type: 'constructor', content: {} }, { timeoutMs: 1000, egress: defaultEgress }),
      undefined,
    );
  });

  it('refuses a timeout that is not a positive number of milliseconds', () => {
    for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => probeConnection({ type: 'redis', content: {} }, { timeoutMs, egress: defaultEgress }),
        RangeError,
      );
    }
  });

  it('checks the settings of every probed type before connecting', async () => {
    for (const type of PROBED_TYPES) {
      const result = await probeConnection({ type, content: {} }, { timeoutMs: 1000, egress: defaultEgress });
      assert.equal(result?.ok, false, type);
      assert.equal(result?.latencyMs, 0, type);
      assert.match(result?.message ?? '', /^invalid settings: (host|url) is missing/, type);
    }
  });

  it('masks a secret that comes back in any message, here a password pasted into the host field', async () => {
    // Whatever the resolver says (not found, no answer, timed out), the message names the host.
    const result = await probeConnection(
      { type: 'redis', content: { host: 'hunter2-9c1e.invalid', password: 'hunter2-9c1e' } },
      { timeoutMs: 2000, egress: defaultEgress },
    );
    assert.equal(result?.ok, false);
    assert.match(result?.message ?? '', /\*{6}\.invalid/);
    assert.ok(!result?.message.includes('hunter2-9c1e'), result?.message);
  });
});
