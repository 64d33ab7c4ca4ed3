// Two nodes on one PostgreSQL store behind one PUBLIC_URL, as an operator runs them behind a balancer: a token
// node A issued is accepted by node B (both derive the signing key from the master keys) and refreshed there (the
// authorization server's state is in the store); a grant revoked on node A is refused by node B, although B had
// it cached, as soon as PostgreSQL tells B of the change.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { initializeWith, refreshWith, startOAuthTestServer, type OAuthTestServer } from './support/oauth-app.js';
import { OWNER_KEY } from './support/stores.js';

const EDITOR = { email: 'ed@example.com', password: 'correct horse battery', role: 'editor' };

// Several nodes share a PostgreSQL store only (an SQLite file belongs to one process).
describe('OAuth on two nodes of one store [postgres]', () => {
  let nodeA: OAuthTestServer;
  let nodeB: App;
  let urlB: string;

  before(async () => {
    nodeA = await startOAuthTestServer('postgres', { people: [EDITOR], env: { NODE_ID: 'node-a' } });
    nodeB = await createApp(
      loadConfig({
        ...nodeA.app.store.env,
        PUBLIC_URL: nodeA.base,
        NODE_ID: 'node-b',
        PLUGBOARD_ADMIN_KEY: OWNER_KEY,
        RATE_LIMIT_READ_PER_SECOND: '0',
        RATE_LIMIT_WRITE_PER_SECOND: '0',
        RATE_LIMIT_GATEWAY_PER_SECOND: '0',
      }),
    );
    urlB = `${await nodeB.server.listen({ port: 0, host: '127.0.0.1' })}/mcp/default/shop`;
  });
  after(async () => {
    await nodeB?.close();
    await nodeA?.close();
  });

  it('accepts on node B a token issued on node A, and refreshes it there', async () => {
    const provider = nodeA.registeringClient('Roaming agent');
    const onA = await nodeA.connect(provider, EDITOR);
    await onA.close();
    const { access_token: accessToken, refresh_token: refreshToken } = provider.tokens()!;

    // The SDK client, its tokens from node A, connects to node B and calls a tool without authorizing again.
    provider.authorizationUrl = undefined;
    const onB = new Client({ name: 'roaming-agent', version: '1.0.0' });
    await onB.connect(new StreamableHTTPClientTransport(new URL(urlB), { authProvider: provider }));
    try {
      const result = await onB.callTool({ name: 'getItem', arguments: { id: 'on-b' } });
      assert.equal((result.structuredContent as { id: string }).id, 'on-b', JSON.stringify(result));
    } finally {
      await onB.close();
    }
    assert.equal(provider.authorizationUrl, undefined, 'no new authorization');
    assert.equal(provider.tokens()!.access_token, accessToken, 'with the token node A issued');

    // Node B rotates the refresh token node A issued; node A accepts the new access token and not the old refresh.
    const clientId = provider.clientInformation()!.client_id;
    const refreshed = await refreshWith(new URL(urlB).origin, clientId, refreshToken!);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.equal((await initializeWith(nodeA.mcpUrl, refreshed.body.access_token!)).status, 200);
    assert.equal((await initializeWith(urlB, refreshed.body.access_token!)).status, 200);
  });

  it('refuses on node B a grant revoked on node A, although B had it cached', async (t) => {
    const provider = nodeA.registeringClient('Revoked elsewhere');
    const client = await nodeA.connect(provider, EDITOR);
    await client.close();
    const { access_token: accessToken, refresh_token: refreshToken } = provider.tokens()!;
    const clientId = provider.clientInformation()!.client_id;
    // Node B checks the token, and so holds its grant in its cache.
    assert.equal((await initializeWith(urlB, accessToken)).status, 200);
    assert.equal((await initializeWith(urlB, accessToken)).status, 200);

    const revoked = await fetch(`${nodeA.base}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshToken!, token_type_hint: 'refresh_token', client_id: clientId }),
    });
    assert.equal(revoked.status, 200, await revoked.text());
    const at = Date.now();
    assert.equal((await initializeWith(nodeA.mcpUrl, accessToken)).status, 401, 'node A, at once');
    // Node B drops the cached grant when PostgreSQL notifies it: within 2 s, usually a few milliseconds.
    let status = (await initializeWith(urlB, accessToken)).status;
    while (status !== 401 && Date.now() - at < 2000) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      status = (await initializeWith(urlB, accessToken)).status;
    }
    assert.equal(status, 401, 'node B, once notified');
    t.diagnostic(`node B refused the revoked grant ${Date.now() - at} ms after node A answered the revocation`);
    const refreshed = await refreshWith(new URL(urlB).origin, clientId, refreshToken!);
    assert.equal(refreshed.body.error, 'invalid_grant', 'node B refuses the refresh too');
  });
});
