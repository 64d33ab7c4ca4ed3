// Access tokens are short-lived (OAUTH_ACCESS_TOKEN_TTL_SECONDS): the gateway refuses one whose lifetime is over,
// by the app's clock, and the official SDK client, refused, refreshes and goes on with the new token. The test
// moves the app's clock instead of waiting out the lifetime.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { initializeWith, startOAuthTestServer, type OAuthTestServer } from './support/oauth-app.js';
import { ENGINES } from './support/stores.js';

const EDITOR = { email: 'ed@example.com', password: 'correct horse battery', role: 'editor' };
const TTL_SECONDS = 45;

/** The wall clock until the test pins it to an instant. */
function pinnableClock() {
  let pinned: number | undefined;
  return {
    now: () => new Date(pinned ?? Date.now()).toISOString(),
    pin: (ms: number) => void (pinned = ms),
  };
}

for (const engine of ENGINES) {
  describe(`access-token lifetime [${engine}]`, () => {
    const clock = pinnableClock();
    let server: OAuthTestServer;

    before(async () => {
      server = await startOAuthTestServer(engine, {
        people: [EDITOR],
        clock,
        env: { OAUTH_ACCESS_TOKEN_TTL_SECONDS: String(TTL_SECONDS) },
      });
    });
    after(async () => {
      await server?.close();
    });

    it('refuses an access token once its lifetime is over; the SDK client then refreshes and goes on', async () => {
      const provider = server.registeringClient('Long-running agent');
      const client = await server.connect(provider, EDITOR);
      try {
        const first = provider.tokens()!.access_token;
        const { iat, exp } = decodeJwt(first);
        assert.equal(exp! - iat!, TTL_SECONDS, 'the token lives OAUTH_ACCESS_TOKEN_TTL_SECONDS');

        clock.pin((exp! - 1) * 1000);
        assert.equal((await initializeWith(server.mcpUrl, first)).status, 200, 'a second before its end');
        clock.pin(exp! * 1000);
        const expired = await initializeWith(server.mcpUrl, first);
        assert.equal(expired.status, 401, 'at its end');
        assert.match(expired.challenge ?? '', /resource_metadata="[^"]+\/mcp\/default\/shop"/);

        // The token endpoint stamps tokens by the wall clock: a refresh a second after the first token was issued
        // gives one that ends after the pinned instant.
        while (Date.now() < (iat! + 1) * 1000) await new Promise((resolve) => setTimeout(resolve, 50));
        const result = await client.callTool({ name: 'getItem', arguments: { id: 'after-refresh' } });
        assert.equal((result.structuredContent as { id: string }).id, 'after-refresh', JSON.stringify(result));

        const second = provider.tokens()!.access_token;
        assert.notEqual(second, first, 'the client refreshed');
        assert.ok(decodeJwt(second).exp! > exp!);
        assert.equal((await initializeWith(server.mcpUrl, first)).status, 401, 'the old token stays refused');
        assert.equal((await initializeWith(server.mcpUrl, second)).status, 200);
      } finally {
        await client.close();
      }
    });
  });
}
