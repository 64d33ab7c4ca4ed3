// OAuth access tokens are signed with a key derived from the active master key, and verified with the keys of every
// master key listed (docs/operations.md, "Rotating the master key"): a token signed before the rotation stays good
// while the old key is listed, new tokens are signed with the new key, and once the old key is removed its tokens
// are refused. SQLite only: the signing keys are derived at start, nothing of them is stored.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { initializeWith, refreshWith, startOAuthTestServer, type OAuthTestServer } from './support/oauth-app.js';

const EDITOR = { email: 'ed@example.com', password: 'correct horse battery', role: 'editor' };
const OLD = `k1:${randomBytes(32).toString('base64')}`;
const NEW = `k2:${randomBytes(32).toString('base64')}`;

describe('OAuth signing keys across a master-key rotation [sqlite]', () => {
  let server: OAuthTestServer;

  before(async () => {
    server = await startOAuthTestServer('sqlite', { people: [EDITOR], env: { PLUGBOARD_MASTER_KEYS: OLD } });
  });
  after(async () => {
    await server?.close();
  });

  const kidOf = (token: string) => decodeProtectedHeader(token).kid;
  const publishedKids = async () =>
    ((await (await fetch(`${server.base}/oauth/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);

  it('keeps tokens signed before the rotation while the old key is listed, and refuses them once it is removed', async () => {
    const provider = server.registeringClient('Agent across a rotation');
    const client = await server.connect(provider, EDITOR);
    await client.close();
    const before = provider.tokens()!;
    const oldKid = kidOf(before.access_token);
    assert.deepEqual(await publishedKids(), [oldKid]);

    await server.restart({ PLUGBOARD_MASTER_KEYS: `${NEW},${OLD}` });
    assert.equal((await initializeWith(server.mcpUrl, before.access_token)).status, 200, 'the old key still verifies');
    const refreshed = await refreshWith(server.base, provider.clientInformation()!.client_id, before.refresh_token!);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    const after = refreshed.body.access_token!;
    const newKid = kidOf(after);
    assert.notEqual(newKid, oldKid, 'new tokens are signed with the new key');
    assert.deepEqual(await publishedKids(), [newKid, oldKid], 'both published, the signing one first');
    assert.equal((await initializeWith(server.mcpUrl, after)).status, 200);

    await server.restart({ PLUGBOARD_MASTER_KEYS: NEW });
    assert.equal(
      (await initializeWith(server.mcpUrl, before.access_token)).status,
      401,
      'the removed key verifies none',
    );
    assert.equal((await initializeWith(server.mcpUrl, after)).status, 200);
    assert.deepEqual(await publishedKids(), [newKid]);
  });
});
