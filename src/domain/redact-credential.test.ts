import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, credentialSpellings, redactSpellings } from './redact-credential.js';

const redact = (text: string, value: string) => redactSpellings(text, credentialSpellings(value));

describe('redacting an injected credential', () => {
  it('replaces every occurrence of the value as sent, JSON-escaped, URL- and form-encoded', () => {
    const value = 'k "ey"/+=&ü';
    const echoes = [
      `header: ${value}; again ${value}`,
      JSON.stringify({ headers: { 'x-api-key': value } }),
      JSON.stringify({ url: `/x?api_key=${encodeURIComponent(value)}` }),
      `/x?${new URLSearchParams({ api_key: value }).toString()}`,
      JSON.stringify(value).replace(/\//g, '\\/'),
    ];
    for (const echo of echoes) {
      const redacted = redact(echo, value);
      assert.ok(redacted.includes(REDACTED), redacted);
      for (const spelling of credentialSpellings(value))
        assert.equal(redacted.includes(spelling), false, `${spelling} in ${redacted}`);
    }
  });

  it("redacts a scheme's token alone, and Basic credentials decoded, password included", () => {
    const basic = `Basic ${Buffer.from('svc:s3cret-pw').toString('base64')}`;
    assert.equal(
      redact(`got ${basic.slice(6)} and svc:s3cret-pw and s3cret-pw`, basic),
      `got ${REDACTED} and ${REDACTED} and ${REDACTED}`,
    );
    assert.equal(redact('token tok-123456 seen', 'Bearer tok-123456'), `token ${REDACTED} seen`);
  });

  it('leaves short parts of a credential alone, but never the whole value', () => {
    assert.equal(
      redact('user is svc, password pw', `Basic ${Buffer.from('svc:pw').toString('base64')}`),
      'user is svc, password pw',
    );
    assert.equal(redact('key=ab', 'ab'), `key=${REDACTED}`);
  });
});
