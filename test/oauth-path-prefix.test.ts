// plugboard behind a reverse proxy that mounts it under a path prefix (PUBLIC_URL=http://…/plugboard), the proxy a
// real one started by the test (test/support/prefix-proxy.ts: the prefix stripped, the well-known documents of the
// prefixed issuer and endpoints passed on as they are). Every URL the server publishes carries the prefix, and the
// official SDK client completes its OAuth flow, a person signing in and approving in Chromium, using only the
// URLs the server published: the toolset's MCP URL, the 401's resource_metadata and the metadata documents.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { MemoryOAuthProvider, startCallbackServer, type CallbackServer } from './support/oauth-clients.js';
import { connectWithOAuth, consentInBrowser, type TransportKind } from './support/oauth-flow.js';
import { inviteAndJoin } from './support/people.js';
import { startPrefixProxy, upstreamPathOf, type PrefixProxy } from './support/prefix-proxy.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';
import { startUpstreamApi, type UpstreamApi } from './support/upstream-api.js';

const WS = '/api/v1/workspaces/default';
const PREFIX = '/plugboard';
const EDITOR = { email: 'ed@example.com', password: 'correct horse battery', role: 'editor' };

for (const engine of ENGINES) {
  describe(`OAuth behind a proxy with a path prefix [${engine}]`, () => {
    let app: TestApp;
    let upstream: UpstreamApi;
    let proxy: PrefixProxy;
    let callback: CallbackServer;
    let chromium: Browser;
    let publicUrl: string;
    let mcpUrl: string;

    before(async () => {
      upstream = await startUpstreamApi();
      callback = await startCallbackServer();
      let appPort = 0;
      proxy = await startPrefixProxy(PREFIX, () => appPort);
      publicUrl = `${proxy.origin}${PREFIX}`;
      app = await startTestApp(engine, { env: { PUBLIC_URL: publicUrl } });
      await app.server.listen({ port: 0, host: '127.0.0.1' });
      appPort = (app.server.server.address() as AddressInfo).port;
      const created = await app.call('POST', `${WS}/toolsets`, {
        body: { name: 'shop', spec: { schema: { type: 'OpenAPI', detail: upstream.document() } } },
      });
      assert.equal(created.status, 201, created.text);
      await settledToolset(app, 'shop');
      // The MCP URL as the server publishes it to the people who configure clients.
      const toolset = await app.call('GET', `${WS}/toolsets/shop`);
      mcpUrl = (toolset.body as { status: { outputs: { urls: { internetUrl: string } } } }).status.outputs.urls
        .internetUrl;
      // The invitation link is under the prefix too (inviteAndJoin checks it and follows it).
      await inviteAndJoin(app, { ...EDITOR, origin: proxy.origin, publicUrl });
      chromium = await launchChromium();
    });

    after(async () => {
      await chromium?.close();
      await app?.stop();
      await proxy?.close();
      await upstream?.close();
      await callback?.close();
    });

    it('serves the upstream connect pages with their stylesheet under the prefix', async () => {
      const page = await fetch(`${publicUrl}/oauth/connect/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.ok(html.includes(`href="${PREFIX}/auth/style.css"`), html);
      assert.equal((await fetch(`${proxy.origin}${PREFIX}/auth/style.css`)).status, 200);
    });

    it('publishes every URL under the prefix: MCP URL, 401 challenge, resource and authorization server metadata', async () => {
      assert.equal(mcpUrl, `${publicUrl}/mcp/default/shop`);
      const refused = await fetch(mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
      assert.equal(refused.status, 401);
      const challenge = refused.headers.get('www-authenticate') ?? '';
      const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
      // RFC 9728 §3.1: the well-known segment goes between the host and the resource's whole path.
      assert.equal(metadataUrl, `${proxy.origin}/.well-known/oauth-protected-resource${PREFIX}/mcp/default/shop`);
      const resource = (await (await fetch(metadataUrl)).json()) as Record<string, unknown>;
      assert.equal(resource.resource, mcpUrl);
      assert.deepEqual(resource.authorization_servers, [publicUrl]);

      // RFC 8414 §3.1 for an issuer with a path, and OpenID discovery under the issuer: one document, all on the prefix.
      for (const url of [
        `${proxy.origin}/.well-known/oauth-authorization-server${PREFIX}`,
        `${publicUrl}/.well-known/openid-configuration`,
      ]) {
        const answer = await fetch(url);
        assert.equal(answer.status, 200, url);
        const metadata = (await answer.json()) as Record<string, unknown>;
        assert.equal(metadata.issuer, publicUrl, url);
        const endpoints = Object.entries(metadata).filter(([key]) => key.endsWith('_endpoint') || key === 'jwks_uri');
        assert.ok(endpoints.length >= 4, JSON.stringify(metadata));
        for (const [key, value] of endpoints)
          assert.ok(String(value).startsWith(`${publicUrl}/oauth/`), `${key}: ${String(value)}`);
      }
    });

    for (const kind of ['streamable-http', 'sse'] as const satisfies readonly TransportKind[]) {
      it(`connects the SDK client over ${kind} with only the published URLs, through the proxy`, async () => {
        const url = kind === 'sse' ? mcpUrl.replace('/mcp/', '/sse/') : mcpUrl;
        const from = proxy.seen.length;
        const provider = new MemoryOAuthProvider(callback.url, {
          client_name: `Prefixed ${kind} agent`,
          redirect_uris: [callback.url],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
        });
        const client = await connectWithOAuth(
          url,
          provider,
          async (authorizationUrl) => {
            assert.ok(authorizationUrl.href.startsWith(`${publicUrl}/oauth/authorize?`), authorizationUrl.href);
            assert.equal(authorizationUrl.searchParams.get('resource'), url);
            return (await consentInBrowser(chromium, authorizationUrl, EDITOR, callback)).query;
          },
          kind,
        );
        try {
          assert.ok((await client.listTools()).tools.some((t) => t.name === 'getItem'));
          const result = await client.callTool({ name: 'getItem', arguments: { id: 'first' } });
          assert.equal((result.structuredContent as { id: string }).id, 'first', JSON.stringify(result));
        } finally {
          await client.close();
        }
        const claims = decodeJwt(provider.tokens()!.access_token);
        assert.equal(claims.aud, url, "the token's audience is the endpoint's URL, prefix and all");
        assert.equal(claims.iss, publicUrl);
        // The browser's sign-in, consent and redirects and the client's requests all went through the proxy's
        // routes: nothing was asked of the host's root, outside plugboard's prefix.
        // (Chromium asks the host for /favicon.ico by itself.)
        const strays = proxy.seen
          .slice(from)
          .filter((path) => upstreamPathOf(PREFIX, path) === undefined && path !== '/favicon.ico');
        assert.deepEqual(strays, []);
        assert.ok(proxy.seen.slice(from).some((path) => path.startsWith(`${PREFIX}/oauth/interaction/`)));
        assert.ok(proxy.seen.slice(from).some((path) => path.startsWith(`${PREFIX}/auth/sign-in`)));
      });
    }
  });
}
