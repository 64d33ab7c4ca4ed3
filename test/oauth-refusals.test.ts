// What the built-in authorization server and the MCP endpoints refuse, without anyone signed in: a request without
// a token learns where to authorize, PKCE is not optional, an unknown client is told so (invalid_client, so that
// clients register again), a Client ID Metadata Document's redirect URIs are the only ones its client may use, and
// a resource that is not one of this server's MCP endpoints gets no token.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';
import { startUpstreamApi, type UpstreamApi } from './support/upstream-api.js';
import { makeTestCertificates, startDocumentServer, type DocumentServer } from './support/oauth-clients.js';
import { freePort } from './support/oauth-flow.js';

const WS = '/api/v1/workspaces/default';
const REDIRECT = 'http://localhost:4999/callback';

const challengeOf = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

for (const engine of ENGINES) {
  describe(`OAuth refusals [${engine}]`, () => {
    let app: TestApp;
    let upstream: UpstreamApi;
    let documents: DocumentServer;
    let base: string;
    let mcpUrl: string;
    let clientId: string;

    before(async () => {
      upstream = await startUpstreamApi();
      const tls = makeTestCertificates();
      documents = await startDocumentServer(tls);
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      app = await startTestApp(engine, {
        env: {
          PUBLIC_URL: base,
          OAUTH_CLIENTS: JSON.stringify([
            { client_id: 'pre-registered-ide', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' },
          ]),
        },
        trustedCaCertificates: [tls.ca],
      });
      await app.server.listen({ port, host: '127.0.0.1' });
      const created = await app.call('POST', `${WS}/toolsets`, {
        body: { name: 'shop', spec: { schema: { type: 'OpenAPI', detail: upstream.document() } } },
      });
      assert.equal(created.status, 201, created.text);
      await settledToolset(app, 'shop');
      mcpUrl = `${base}/mcp/default/shop`;
      const registered = await fetch(`${base}/oauth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_name: 'Refused', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }),
      });
      assert.equal(registered.status, 201, await registered.clone().text());
      clientId = ((await registered.json()) as { client_id: string }).client_id;
    });

    after(async () => {
      await app?.stop();
      await upstream?.close();
      await documents?.close();
    });

    function authorizeUrl(params: Record<string, string>): string {
      const url = new URL(`${base}/oauth/authorize`);
      const defaults = {
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT,
        resource: mcpUrl,
        scope: 'mcp:read mcp:call',
        state: 'st',
      };
      for (const [key, value] of Object.entries({ ...defaults, ...params }))
        if (value !== '') url.searchParams.set(key, value);
      return url.href;
    }

    it("answers a request without a token with 401 pointing at the endpoint's protected resource metadata", async () => {
      const metadataUrl = `${base}/.well-known/oauth-protected-resource/mcp/default/shop`;
      // Each endpoint points at its own metadata: the legacy SSE one is a resource of its own.
      for (const [method, path] of [
        ['POST', '/mcp/default/shop'],
        ['GET', '/sse/default/shop'],
      ] as const) {
        const metadataUrl = `${base}/.well-known/oauth-protected-resource${path}`;
        const answer = await fetch(`${base}${path}`, {
          method,
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: method === 'POST' ? JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) : undefined,
        });
        assert.equal(answer.status, 401);
        const challenge = answer.headers.get('www-authenticate') ?? '';
        assert.match(challenge, /^Bearer /);
        assert.ok(challenge.includes(`resource_metadata="${metadataUrl}"`), challenge);
        assert.ok(challenge.includes('scope="mcp:read mcp:call"'), challenge);
      }
      const metadata = (await (await fetch(metadataUrl)).json()) as Record<string, unknown>;
      assert.equal(metadata.resource, mcpUrl);
      assert.deepEqual(metadata.authorization_servers, [base]);
      assert.deepEqual(metadata.scopes_supported, ['mcp:read', 'mcp:call']);
      const root = (await (await fetch(`${base}/.well-known/oauth-protected-resource`)).json()) as Record<
        string,
        unknown
      >;
      assert.deepEqual(root.authorization_servers, [base]);
    });

    it('publishes RFC 8414 and OpenID metadata: code flow with PKCE S256 only, registration and metadata documents', async () => {
      for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
        const answer = await fetch(`${base}${path}`);
        assert.equal(answer.status, 200);
        const metadata = (await answer.json()) as Record<string, unknown>;
        assert.equal(metadata.issuer, base);
        assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
        assert.deepEqual(metadata.response_types_supported, ['code']);
        assert.equal(metadata.client_id_metadata_document_supported, true);
        assert.equal(metadata.registration_endpoint, `${base}/oauth/register`);
        assert.equal(metadata.revocation_endpoint, `${base}/oauth/revoke`);
        assert.equal(metadata.token_endpoint, `${base}/oauth/token`);
      }
    });

    it('refuses an authorization request without PKCE, and one with the plain method', async () => {
      for (const params of [{}, { code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }] as Record<
        string,
        string
      >[]) {
        const answer = await fetch(authorizeUrl(params), { redirect: 'manual' });
        assert.equal(answer.status, 303, await answer.text());
        const back = new URL(answer.headers.get('location')!);
        assert.equal(back.origin + back.pathname, REDIRECT);
        assert.equal(back.searchParams.get('error'), 'invalid_request');
        assert.match(back.searchParams.get('error_description') ?? '', /PKCE|code_challenge/);
        assert.equal(back.searchParams.get('code'), null);
      }
    });

    it('answers an unknown client with invalid_client, at the authorization and the token endpoint', async () => {
      const page = await fetch(
        authorizeUrl({
          client_id: 'no-such-client',
          code_challenge: challengeOf('v'.repeat(43)),
          code_challenge_method: 'S256',
        }),
        { redirect: 'manual' },
      );
      assert.equal(page.status, 400);
      assert.match(await page.text(), /invalid_client/);
      const token = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: 'x',
          client_id: 'no-such-client',
          redirect_uri: REDIRECT,
          code_verifier: 'v'.repeat(43),
        }),
      });
      assert.equal(token.status, 401);
      assert.equal(((await token.json()) as { error: string }).error, 'invalid_client');
    });

    it('knows a pre-registered client (OAUTH_CLIENTS): it goes on to sign-in, and PKCE is required of it too', async () => {
      const pkce = {
        code_challenge: challengeOf(randomBytes(32).toString('base64url')),
        code_challenge_method: 'S256',
      };
      const known = await fetch(authorizeUrl({ ...pkce, client_id: 'pre-registered-ide' }), { redirect: 'manual' });
      assert.equal(known.status, 303);
      // Absolute, on PUBLIC_URL (with its path prefix, when it has one).
      assert.ok((known.headers.get('location') ?? '').startsWith(`${base}/oauth/interaction/`));
      const withoutPkce = await fetch(authorizeUrl({ client_id: 'pre-registered-ide' }), { redirect: 'manual' });
      assert.equal(new URL(withoutPkce.headers.get('location')!).searchParams.get('error'), 'invalid_request');
    });

    it('gives no authorization for a resource that is not one of its MCP endpoints', async () => {
      const pkce = {
        code_challenge: challengeOf(randomBytes(32).toString('base64url')),
        code_challenge_method: 'S256',
      };
      for (const resource of [
        `${base}/mcp/default/missing`,
        'https://elsewhere.example/mcp/default/shop',
        `${base}/api/v1`,
      ]) {
        const answer = await fetch(authorizeUrl({ ...pkce, resource }), { redirect: 'manual' });
        assert.equal(answer.status, 303, resource);
        const back = new URL(answer.headers.get('location')!);
        assert.equal(back.searchParams.get('error'), 'invalid_target', resource);
      }
    });

    it("refuses a redirect URI that is not in the client's metadata document, and an http: document URL", async () => {
      const documentUrl = `${documents.origin}/clients/refused.json`;
      documents.set('/clients/refused.json', {
        client_id: documentUrl,
        client_name: 'Documented client',
        redirect_uris: [REDIRECT],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      });
      const pkce = {
        code_challenge: challengeOf(randomBytes(32).toString('base64url')),
        code_challenge_method: 'S256',
      };
      const elsewhere = await fetch(
        authorizeUrl({ ...pkce, client_id: documentUrl, redirect_uri: 'http://localhost:5000/stolen' }),
        { redirect: 'manual' },
      );
      assert.equal(elsewhere.status, 400, 'an unlisted redirect URI is never redirected to');
      assert.equal(elsewhere.headers.get('location'), null);
      assert.match(await elsewhere.text(), /redirect_uri/);
      assert.equal(documents.fetches.get('/clients/refused.json'), 1, 'the document was fetched, once');

      const plain = await fetch(authorizeUrl({ ...pkce, client_id: documentUrl.replace('https:', 'http:') }), {
        redirect: 'manual',
      });
      assert.equal(plain.status, 400);
      assert.match(await plain.text(), /invalid_client/);
    });
  });
}
