import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { checkWebhookUrl, eventBody, retryDelayMs, signatureOf } from './webhook.js';

describe('webhook signatures, backoff and URLs', () => {
  it('signs "<timestamp>.<body>" with HMAC-SHA256, hex, under t= and v1=', () => {
    const body = '{"id":"evt_1"}';
    const mac = createHmac('sha256', 'a-secret-of-16-chars').update(`1700000000.${body}`).digest('hex');
    assert.equal(signatureOf('a-secret-of-16-chars', 1700000000, body), `t=1700000000,v1=${mac}`);
    assert.notEqual(signatureOf('another-secret-16ch', 1700000000, body), `t=1700000000,v1=${mac}`);
    assert.notEqual(signatureOf('a-secret-of-16-chars', 1700000001, body), `t=1700000000,v1=${mac}`);
  });

  it('doubles the wait after each failed attempt, up to the cap, less at most a fifth', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => retryDelayMs(n, 1000, 5000, 0)),
      [1000, 2000, 4000, 5000, 5000],
    );
    assert.equal(retryDelayMs(2, 1000, 5000, 1), 1600);
    assert.equal(retryDelayMs(60, 1000, 5000, 0), 5000, 'no overflow for a large attempt');
  });

  it('takes http(s) URLs with a host and no credentials, and says why it refuses the others', () => {
    assert.deepEqual(checkWebhookUrl('https://hooks.example.com/plugboard?x=1').errors, []);
    const refused = (url: string) =>
      checkWebhookUrl(url)
        .errors.map((e) => e.message)
        .join('; ');
    assert.match(refused('ftp://example.com/x'), /must use http or https, not ftp/);
    assert.match(refused('https://user:pw@example.com/'), /must not carry a user name or password/);
    assert.match(refused('https://user@example.com/'), /must not carry a user name or password/);
    assert.match(refused('/relative'), /not an absolute URL/);
    assert.match(refused('file:///etc/passwd'), /must use http or https/);
  });

  it('builds the event body with the connection, the state and the error, and nothing else', () => {
    const body = JSON.parse(
      eventBody('evt_x', {
        type: 'connection.refresh_failed',
        at: '2026-01-01T00:00:00.000Z',
        workspaceId: 'default',
        connection: { id: 3, uid: 'cnu_a', name: 'crm' },
        state: 'degraded',
        error: 'HTTP 503',
      }),
    ) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['id', 'type', 'time', 'workspaceId', 'connection', 'state', 'error']);
    assert.equal(body.time, '2026-01-01T00:00:00.000Z');
  });
});
