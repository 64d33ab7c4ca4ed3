// RFC 7009 token revocation as a client does it: the official SDK client connects (sign-in and consent in
// Chromium), finds `revocation_endpoint` in the authorization server's metadata, and revokes its refresh token or
// its access token there. Either ends the grant: the next MCP call and the next refresh are refused, and the
// revocation is in the audit, naming the user and the client.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UnauthorizedError, discoverOAuthServerInfo } from '@modelcontextprotocol/sdk/client/auth.js';
import type { MemoryOAuthProvider } from './support/oauth-clients.js';
import { initializeWith, refreshWith, startOAuthTestServer, type OAuthTestServer } from './support/oauth-app.js';
import { ENGINES } from './support/stores.js';

const WS = '/api/v1/workspaces/default';
const EDITOR = { email: 'ed@example.com', password: 'correct horse battery', role: 'editor' };
const AGENT = { id: 'confidential-agent', secret: 'a-secret-the-operator-gave-the-agent-0123456789' };

interface AuditEvent {
  readonly action: string;
  readonly principalId: string;
  readonly resourceId: string;
  readonly client: unknown;
}

for (const engine of ENGINES) {
  describe(`RFC 7009 token revocation [${engine}]`, () => {
    let server: OAuthTestServer;

    before(async () => {
      server = await startOAuthTestServer(engine, {
        people: [EDITOR],
        env: {
          OAUTH_CLIENTS: JSON.stringify([
            {
              client_id: AGENT.id,
              client_secret: AGENT.secret,
              token_endpoint_auth_method: 'client_secret_basic',
              redirect_uris: ['http://localhost:4999/callback'],
            },
          ]),
        },
      });
    });
    after(async () => {
      await server?.close();
    });

    /** Revokes `token` at the endpoint the metadata advertises, as `provider`'s client. */
    async function revoke(provider: MemoryOAuthProvider, token: string, hint?: 'access_token' | 'refresh_token') {
      const { authorizationServerMetadata } = await discoverOAuthServerInfo(server.mcpUrl);
      // The SDK types the metadata without it: RFC 8414 §2 names it.
      const endpoint = (authorizationServerMetadata as { revocation_endpoint?: string } | undefined)
        ?.revocation_endpoint;
      assert.equal(endpoint, `${server.base}/oauth/revoke`, 'the metadata advertises the revocation endpoint');
      const answer = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          token,
          client_id: provider.clientInformation()!.client_id,
          ...(hint ? { token_type_hint: hint } : {}),
        }),
      });
      return { status: answer.status, text: await answer.text() };
    }

    async function grantOf(clientId: string): Promise<string> {
      const grants = await server.app.call('GET', `${WS}/oauth-grants`);
      const grant = (grants.body.items as { id: string; clientId: string }[]).find((g) => g.clientId === clientId);
      assert.ok(grant, `a grant of ${clientId}: ${grants.text}`);
      return grant.id;
    }

    async function revocationsOf(grantId: string): Promise<AuditEvent[]> {
      const audit = await server.app.call(
        'GET',
        `${WS}/audit?limit=50&resourceType=oauth-grant&resourceId=${encodeURIComponent(grantId)}`,
      );
      return (audit.body.items as AuditEvent[]).filter((e) => e.action === 'oauth-grant:revoke');
    }

    for (const kind of ['refresh_token', 'access_token'] as const)
      it(`ends the grant when the client revokes its ${kind.replace('_', ' ')}: the next call and refresh are refused, and it is audited`, async () => {
        const name = `Revokes its ${kind}`;
        const provider = server.registeringClient(name);
        const client = await server.connect(provider, EDITOR);
        try {
          assert.ok((await client.listTools()).tools.length > 0);
          const clientId = provider.clientInformation()!.client_id;
          const grantId = await grantOf(clientId);
          const { access_token: accessToken, refresh_token: refreshToken } = provider.tokens()!;
          assert.ok(refreshToken, 'the client holds a refresh token');

          const revoked = await revoke(provider, kind === 'access_token' ? accessToken : refreshToken, kind);
          assert.equal(revoked.status, 200, revoked.text);

          assert.equal((await initializeWith(server.mcpUrl, accessToken)).status, 401, 'the access token is refused');
          const refreshed = await refreshWith(server.base, clientId, refreshToken);
          assert.equal(refreshed.body.error, 'invalid_grant', 'and so is the refresh token');
          // The SDK client finds both refused, and is sent to authorize again.
          provider.authorizationUrl = undefined;
          await assert.rejects(client.listTools(), UnauthorizedError);
          assert.ok(provider.authorizationUrl, 'the client was sent to the authorization endpoint again');
          const listed = await server.app.call('GET', `${WS}/oauth-grants`);
          assert.ok(!(listed.body.items as { id: string }[]).some((g) => g.id === grantId), 'the grant is gone');
          assert.deepEqual(
            (await revocationsOf(grantId)).map((e) => ({ principalId: e.principalId, client: e.client })),
            [{ principalId: server.userIds.get(EDITOR.email), client: { id: clientId, name } }],
            'audited once, as the user, naming the client',
          );
        } finally {
          await client.close();
        }
      });

    it("answers 200 and revokes nothing for a token that is not the client's, or is no token at all", async () => {
      const owner = server.registeringClient('Owner of the token');
      const ownerClient = await server.connect(owner, EDITOR);
      await ownerClient.close();
      const other = server.registeringClient('Another client');
      const otherClient = await server.connect(other, EDITOR);
      await otherClient.close();
      const { access_token: accessToken, refresh_token: refreshToken } = owner.tokens()!;
      // RFC 7009 §2.2: an invalid token is answered 200; a public client may not revoke another's tokens.
      for (const [token, hint] of [
        [accessToken, 'access_token'],
        [refreshToken!, 'refresh_token'],
        ['not-a-token', undefined],
        [`${accessToken.slice(0, -4)}AAAA`, 'access_token'],
      ] as const)
        assert.equal((await revoke(other, token, hint)).status, 200);
      // A confidential client is told it may not (as oidc-provider answers for the tokens it stores).
      const confidential = await fetch(`${server.base}/oauth/revoke`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          authorization: `Basic ${Buffer.from(`${AGENT.id}:${AGENT.secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ token: accessToken, token_type_hint: 'access_token' }),
      });
      assert.equal(confidential.status, 400);
      assert.equal(((await confidential.json()) as { error: string }).error, 'invalid_request');
      assert.equal((await initializeWith(server.mcpUrl, accessToken)).status, 200, "the owner's token still works");
      const grantId = await grantOf(owner.clientInformation()!.client_id);
      assert.deepEqual(await revocationsOf(grantId), [], 'nothing was revoked');
      const refreshed = await refreshWith(server.base, owner.clientInformation()!.client_id, refreshToken!);
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    });
  });
}
