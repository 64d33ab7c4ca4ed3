import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config.js';
import { createOriginCheck } from './origin.js';

describe("the gateway's Origin check", () => {
  const config = loadConfig({
    PUBLIC_URL: 'https://plugboard.example.com/base/',
    ALLOWED_ORIGINS: 'http://localhost:3000, https://Agents.Example.com/',
  });
  const allowed = createOriginCheck(config.gateway.allowedOrigins);

  it("takes PUBLIC_URL's origin and ALLOWED_ORIGINS, in any case and with default ports spelled out", () => {
    assert.deepEqual(config.gateway.allowedOrigins, [
      'https://plugboard.example.com',
      'http://localhost:3000',
      'https://agents.example.com',
    ]);
    for (const origin of [
      'https://plugboard.example.com',
      'HTTPS://PLUGBOARD.example.com',
      'https://plugboard.example.com:443',
      'http://localhost:3000',
      'https://agents.example.com',
    ]) {
      assert.equal(allowed(origin), true, origin);
    }
  });

  it('lets requests without an Origin through, and refuses any other origin, null and malformed ones', () => {
    assert.equal(allowed(undefined), true);
    for (const origin of [
      'https://evil.example',
      'null',
      '',
      'http://plugboard.example.com',
      'https://plugboard.example.com:8443',
      'http://localhost:3001',
      'https://plugboard.example.com/path',
      'https://user@plugboard.example.com',
    ]) {
      assert.equal(allowed(origin), false, origin);
    }
    assert.equal(
      allowed(['https://plugboard.example.com', 'https://plugboard.example.com']),
      false,
      'two Origin headers',
    );
  });

  it('refuses ALLOWED_ORIGINS entries that are not origins, naming each', () => {
    assert.throws(
      () => loadConfig({ ALLOWED_ORIGINS: 'https://ok.example, https://x.example/path, *, ftp://files.example' }),
      (error: Error) => {
        assert.match(error.message, /"https:\/\/x\.example\/path" is not an origin/);
        assert.match(error.message, /"\*" is not an origin/);
        assert.match(error.message, /"ftp:\/\/files\.example" is not an origin/);
        assert.doesNotMatch(error.message, /ok\.example/);
        return true;
      },
    );
  });
});
