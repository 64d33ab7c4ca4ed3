// MCP clients connect with OAuth as people use them: the official SDK client's auth() flow (Client ID Metadata
// Document served by the test over HTTPS on loopback, and dynamic registration), a person in headless Chromium
// signing in and approving on the consent page; then what a token may not do: reach another toolset or the
// native API, outlive its revoked grant, call tools for a viewer, or survive a refresh token used twice.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { ensureConsoleBuilt } from './support/console-build.js';
import { waitForExpression } from './support/console-page.js';
import {
  MemoryOAuthProvider,
  makeTestCertificates,
  startCallbackServer,
  startDocumentServer,
  type CallbackServer,
  type DocumentServer,
} from './support/oauth-clients.js';
import {
  connectWithOAuth,
  consentInBrowser,
  freePort,
  refusedInBrowser,
  type ConsentSeen,
} from './support/oauth-flow.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  UnauthorizedError,
  discoverAuthorizationServerMetadata,
  exchangeAuthorization,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InvalidClientError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { inviteAndJoin } from './support/people.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';
import { startUpstreamApi, type UpstreamApi } from './support/upstream-api.js';

const WS = '/api/v1/workspaces/default';
const EDITOR = { email: 'ed@example.com', password: 'correct horse battery', role: 'editor' };
const VIEWER = { email: 'vi@example.com', password: 'another long password', role: 'viewer' };
const PUBLIC_CLIENT = 'pre-registered-ide';
const CONFIDENTIAL_CLIENT = 'pre-registered-agent';
const CONFIDENTIAL_SECRET = 'a-secret-the-operator-gave-the-agent-0123456789';

for (const engine of ENGINES) {
  describe(`MCP clients connect with OAuth [${engine}]`, () => {
    let app: TestApp;
    let upstream: UpstreamApi;
    let documents: DocumentServer;
    let callback: CallbackServer;
    let chromium: Browser;
    let base: string;
    let shopUrl: string;
    let otherUrl: string;
    let editorId: string;

    before(async () => {
      upstream = await startUpstreamApi();
      const tls = makeTestCertificates();
      documents = await startDocumentServer(tls);
      callback = await startCallbackServer();
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      app = await startTestApp(engine, {
        env: {
          PUBLIC_URL: base,
          // Every test signs a person in from 127.0.0.1: more than the default 10 a minute of one address.
          SIGN_IN_PER_MINUTE: '100',
          // An IDE's public client and a server-side agent's confidential client, registered by the operator.
          OAUTH_CLIENTS: JSON.stringify([
            { client_id: PUBLIC_CLIENT, client_name: 'Pre-registered IDE', redirect_uris: [callback.url] },
            {
              client_id: CONFIDENTIAL_CLIENT,
              client_name: 'Pre-registered agent',
              client_secret: CONFIDENTIAL_SECRET,
              token_endpoint_auth_method: 'client_secret_basic',
              redirect_uris: [callback.url],
            },
          ]),
        },
        trustedCaCertificates: [tls.ca],
      });
      await app.server.listen({ port, host: '127.0.0.1' });
      for (const name of ['shop', 'other']) {
        const created = await app.call('POST', `${WS}/toolsets`, {
          body: { name, spec: { schema: { type: 'OpenAPI', detail: upstream.document() } } },
        });
        assert.equal(created.status, 201, created.text);
        await settledToolset(app, name);
      }
      shopUrl = `${base}/mcp/default/shop`;
      otherUrl = `${base}/mcp/default/other`;
      editorId = (await inviteAndJoin(app, { ...EDITOR, origin: base })).userId;
      await inviteAndJoin(app, { ...VIEWER, origin: base });
      chromium = await launchChromium();
    });

    after(async () => {
      await chromium?.close();
      await app?.stop();
      await upstream?.close();
      await documents?.close();
      await callback?.close();
    });

    const clientMetadata = (name: string) => ({
      client_name: name,
      redirect_uris: [callback.url],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    });

    /** Calls the MCP endpoint with a bearer token: the HTTP status and WWW-Authenticate of `method`. */
    async function rawCall(url: string, token: string, method: string, params: unknown = {}) {
      const answer = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
        }),
      });
      if (method === 'initialize' || answer.status !== 200)
        return { status: answer.status, challenge: answer.headers.get('www-authenticate') };
      const session = answer.headers.get('mcp-session-id')!;
      const called = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': session,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method, params }),
      });
      return { status: called.status, challenge: called.headers.get('www-authenticate'), body: await called.text() };
    }

    it('connects the SDK client with a Client ID Metadata Document, after sign-in and consent in Chromium', async () => {
      const documentUrl = `${documents.origin}/clients/agent.json`;
      documents.set('/clients/agent.json', {
        client_id: documentUrl,
        ...clientMetadata('Test agent'),
        logo_uri: `${documents.origin}/logo.png`,
      });
      const provider = new MemoryOAuthProvider(callback.url, clientMetadata('Test agent'), documentUrl);
      let seen: Awaited<ReturnType<typeof consentInBrowser>>['seen'] | undefined;
      const client = await connectWithOAuth(shopUrl, provider, async (url) => {
        assert.equal(url.searchParams.get('client_id'), documentUrl, 'the document URL is the client id');
        assert.equal(url.searchParams.get('resource'), shopUrl);
        assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
        const result = await consentInBrowser(chromium, url, EDITOR, callback);
        seen = result.seen;
        return result.query;
      });
      try {
        assert.equal(seen?.clientName, 'Test agent');
        assert.equal(seen?.logoHost, new URL(documents.origin).host);
        assert.equal(seen?.redirectHost, new URL(callback.url).host);
        assert.equal(seen?.toolset, 'shop in workspace default');
        assert.deepEqual(seen?.scopes, [
          { scope: 'mcp:read', granted: true },
          { scope: 'mcp:call', granted: true },
        ]);
        const { tools } = await client.listTools();
        assert.ok(tools.some((t) => t.name === 'getItem'));
        const result = await client.callTool({ name: 'getItem', arguments: { id: 'first' } });
        assert.equal(result.isError, undefined, JSON.stringify(result));
        assert.equal((result.structuredContent as { id: string }).id, 'first');
      } finally {
        await client.close();
      }
      const grants = await app.call('GET', `${WS}/oauth-grants`);
      assert.equal(grants.status, 200, grants.text);
      const grant = (
        grants.body.items as { clientId: string; userId: string; toolset: string; scopes: string[] }[]
      ).find((g) => g.clientId === documentUrl);
      assert.deepEqual(grant && { userId: grant.userId, toolset: grant.toolset, scopes: grant.scopes }, {
        userId: editorId,
        toolset: 'shop',
        scopes: ['mcp:read', 'mcp:call'],
      });
      // Every event of the flow names the client it came through, by id and by the name its grant records.
      const named = { id: documentUrl, name: 'Test agent' };
      type Event = {
        action: string;
        principalId: string;
        resourceId: string;
        changedFields: string[];
        client: unknown;
      };
      const audit = await app.call('GET', `${WS}/audit?limit=200`);
      const events = (audit.body.items as Event[]).filter((e) => e.principalId === editorId);
      for (const action of ['oauth-grant:create', 'oauth-token:issue'])
        assert.deepEqual(
          events.filter((e) => e.action === action).map((e) => e.client),
          [named],
          `${action}: ${JSON.stringify(events)}`,
        );
      // The call's audit row is written after the answer: wait for it.
      let call: Event | undefined;
      for (let i = 0; i < 50 && !call; i++) {
        const calls = await app.call('GET', `${WS}/audit?limit=200`);
        call = (calls.body.items as Event[]).find((e) => e.action === 'mcp-tool:call' && e.principalId === editorId);
        if (!call) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(
        call && { resourceId: call.resourceId, changedFields: call.changedFields, client: call.client },
        {
          resourceId: 'shop/getItem',
          changedFields: [],
          client: named,
        },
      );
      // Everything done through one client, by its id.
      const byClient = await app.call('GET', `${WS}/audit?limit=200&clientId=${encodeURIComponent(documentUrl)}`);
      assert.equal(byClient.status, 200, byClient.text);
      const actions = (byClient.body.items as Event[]).map((e) => e.action);
      assert.ok(
        ['mcp-tool:call', 'oauth-token:issue', 'oauth-grant:create'].every((a) => actions.includes(a)) &&
          (byClient.body.items as Event[]).every((e) => (e.client as { id: string }).id === documentUrl),
        actions.join(),
      );
      // Events not made through an OAuth client name none.
      const others = (audit.body.items as Event[]).filter(
        (e) => !e.action.startsWith('oauth-') && e.action !== 'mcp-tool:call',
      );
      assert.ok(others.length > 0 && others.every((e) => e.client === null), JSON.stringify(others.slice(0, 3)));
    });

    for (const kind of ['public', 'confidential'] as const) {
      it(`connects a pre-registered ${kind} client (OAUTH_CLIENTS) without registering it`, async () => {
        const provider = MemoryOAuthProvider.preRegistered(
          callback.url,
          kind === 'public'
            ? { client_id: PUBLIC_CLIENT }
            : {
                client_id: CONFIDENTIAL_CLIENT,
                client_secret: CONFIDENTIAL_SECRET,
                token_endpoint_auth_method: 'client_secret_basic',
              },
        );
        let seen: ConsentSeen | undefined;
        const client = await connectWithOAuth(shopUrl, provider, async (url) => {
          assert.equal(url.searchParams.get('client_id'), provider.clientInformation()!.client_id);
          const result = await consentInBrowser(chromium, url, EDITOR, callback);
          seen = result.seen;
          return result.query;
        });
        try {
          assert.equal(seen?.clientName, kind === 'public' ? 'Pre-registered IDE' : 'Pre-registered agent');
          assert.ok((await client.listTools()).tools.some((t) => t.name === 'getItem'));
          const result = await client.callTool({ name: 'getItem', arguments: { id: 'first' } });
          assert.equal((result.structuredContent as { id: string }).id, 'first', JSON.stringify(result));
        } finally {
          await client.close();
        }
        assert.equal(
          provider.clientInformation()?.client_id,
          kind === 'public' ? PUBLIC_CLIENT : CONFIDENTIAL_CLIENT,
          'the SDK kept the pre-registered id: it did not register a client of its own',
        );
        const refresh = provider.tokens()!.refresh_token!;
        if (kind === 'confidential') {
          // A confidential client proves itself at the token endpoint: without its secret, or with a wrong one, no.
          const bare = await tokenRequest({
            grant_type: 'refresh_token',
            refresh_token: refresh,
            client_id: CONFIDENTIAL_CLIENT,
          });
          assert.equal(bare.body.error, 'invalid_client', JSON.stringify(bare.body));
          const wrong = await tokenRequest(
            { grant_type: 'refresh_token', refresh_token: refresh },
            `Basic ${Buffer.from(`${CONFIDENTIAL_CLIENT}:not-the-secret`).toString('base64')}`,
          );
          assert.equal(wrong.body.error, 'invalid_client', JSON.stringify(wrong.body));
          const right = await tokenRequest(
            { grant_type: 'refresh_token', refresh_token: refresh },
            `Basic ${Buffer.from(`${CONFIDENTIAL_CLIENT}:${CONFIDENTIAL_SECRET}`).toString('base64')}`,
          );
          assert.equal(right.status, 200, JSON.stringify(right.body));
        }
      });
    }

    it("shows the client of an OAuth call in the console's audit timeline, and filters by it", async () => {
      ensureConsoleBuilt();
      const provider = MemoryOAuthProvider.preRegistered(callback.url, { client_id: PUBLIC_CLIENT });
      const client = await connectWithOAuth(
        shopUrl,
        provider,
        async (url) => (await consentInBrowser(chromium, url, EDITOR, callback)).query,
      );
      try {
        await client.callTool({ name: 'getItem', arguments: { id: 'first' } });
      } finally {
        await client.close();
      }
      const context = await chromium.newContext();
      try {
        const page = await context.newPage();
        await page.goto(`${base}/auth/sign-in?return_to=${encodeURIComponent('/console/w/default/audit')}`);
        await page.getByLabel('Email').fill(EDITOR.email);
        await page.getByLabel('Password').fill(EDITOR.password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL(`${base}/console/w/default/audit`);
        // The call's row is written just after the answer: reload until it is there.
        const via = page.locator(`.timeline li:has(.audit-client[data-client-id="${PUBLIC_CLIENT}"])`);
        for (let i = 0; i < 20 && !(await via.filter({ hasText: 'mcp-tool:call' }).count()); i++) {
          await page.reload();
          await page.locator('.timeline li').first().waitFor();
        }
        const call = via.filter({ hasText: 'mcp-tool:call' }).first();
        assert.match((await call.textContent()) ?? '', /via client Pre-registered IDE/);
        await call.getByRole('button', { name: 'Only events via this client' }).click();
        await page.waitForURL(/clientId=pre-registered-ide/);
        await waitForExpression(
          page,
          `[...document.querySelectorAll('.timeline li')].length > 0 && [...document.querySelectorAll('.timeline li')].every((li) => li.querySelector('.audit-client')?.dataset.clientId === '${PUBLIC_CLIENT}')`,
        );
        assert.equal(await page.getByLabel('Via OAuth client (client id)').inputValue(), PUBLIC_CLIENT);
      } finally {
        await context.close();
      }
    });

    it('refuses a client id nobody registered with invalid_client, in the browser and at the token endpoint', async () => {
      const provider = MemoryOAuthProvider.preRegistered(callback.url, { client_id: 'never-registered' });
      const first = new StreamableHTTPClientTransport(new URL(shopUrl), { authProvider: provider });
      await assert.rejects(new Client({ name: 'oauth-test', version: '1.0.0' }).connect(first), UnauthorizedError);
      const refused = await refusedInBrowser(chromium, provider.authorizationUrl!);
      assert.equal(refused.error, 'invalid_client');
      assert.equal(refused.at.origin, base, 'the browser stays on the authorization server');
      // The SDK's own token request gets the error that makes a client register again.
      const metadata = await discoverAuthorizationServerMetadata(base);
      await assert.rejects(
        exchangeAuthorization(base, {
          metadata,
          clientInformation: { client_id: 'never-registered' },
          authorizationCode: 'any',
          codeVerifier: 'a'.repeat(43),
          redirectUri: callback.url,
          resource: new URL(shopUrl),
        }),
        InvalidClientError,
      );
    });

    it("refuses a pre-registered client's redirect URI that is not registered, without redirecting to it", async () => {
      const elsewhere = await startCallbackServer();
      try {
        const provider = MemoryOAuthProvider.preRegistered(elsewhere.url, { client_id: PUBLIC_CLIENT });
        const first = new StreamableHTTPClientTransport(new URL(shopUrl), { authProvider: provider });
        await assert.rejects(new Client({ name: 'oauth-test', version: '1.0.0' }).connect(first), UnauthorizedError);
        assert.equal(provider.authorizationUrl!.searchParams.get('redirect_uri'), elsewhere.url);
        const refused = await refusedInBrowser(chromium, provider.authorizationUrl!);
        assert.equal(refused.error, 'invalid_redirect_uri');
        assert.equal(refused.at.origin, base, 'the browser stays on the authorization server');
        const arrived = await Promise.race([
          elsewhere.next().then(() => true),
          new Promise<false>((resolve) => setTimeout(() => resolve(false), 300)),
        ]);
        assert.equal(arrived, false, 'nothing was sent to the unregistered redirect URI');
      } finally {
        await elsewhere.close();
      }
    });

    it('connects with dynamic registration; its token is refused by another toolset and by the native API', async () => {
      const provider = new MemoryOAuthProvider(callback.url, clientMetadata('Registered agent'));
      const client = await connectWithOAuth(
        shopUrl,
        provider,
        async (url) => (await consentInBrowser(chromium, url, EDITOR, callback)).query,
      );
      try {
        assert.ok((await client.listTools()).tools.length > 0);
      } finally {
        await client.close();
      }
      const registered = provider.clientInformation();
      assert.ok(registered && !registered.client_id.startsWith('https:'), 'a registered client id');
      const token = provider.tokens()!.access_token;
      const other = await rawCall(otherUrl, token, 'initialize');
      assert.equal(other.status, 401, 'a token for one toolset is no token for another');
      assert.match(other.challenge ?? '', /resource_metadata=".*\/oauth-protected-resource\/mcp\/default\/other"/);
      const api = await app.call('GET', `${WS}/toolsets`, { key: token });
      assert.equal(api.status, 401, 'nor for the native API');
    });

    it('connects over the legacy HTTP+SSE transport with OAuth; a token for another endpoint is refused there', async () => {
      const sseUrl = `${base}/sse/default/shop`;
      const unauthenticated = await fetch(sseUrl, { headers: { accept: 'text/event-stream' } });
      assert.equal(unauthenticated.status, 401);
      const challenge = unauthenticated.headers.get('www-authenticate') ?? '';
      const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
      assert.equal(metadataUrl, `${base}/.well-known/oauth-protected-resource/sse/default/shop`, challenge);
      const metadata = (await (await fetch(metadataUrl)).json()) as {
        resource: string;
        authorization_servers: string[];
      };
      assert.deepEqual(metadata.resource, sseUrl, 'the SSE endpoint is a protected resource of its own');
      assert.deepEqual(metadata.authorization_servers, [base]);

      const provider = new MemoryOAuthProvider(callback.url, clientMetadata('SSE agent'));
      const client = await connectWithOAuth(
        sseUrl,
        provider,
        async (url) => {
          assert.equal(url.searchParams.get('resource'), sseUrl);
          return (await consentInBrowser(chromium, url, EDITOR, callback)).query;
        },
        'sse',
      );
      try {
        assert.ok((await client.listTools()).tools.some((t) => t.name === 'getItem'));
        const result = await client.callTool({ name: 'getItem', arguments: { id: 'first' } });
        assert.equal((result.structuredContent as { id: string }).id, 'first', JSON.stringify(result));
      } finally {
        await client.close();
      }
      const sseToken = provider.tokens()!.access_token;

      // A token for the other toolset (over either transport) opens no stream here and posts no message.
      const otherProvider = new MemoryOAuthProvider(callback.url, clientMetadata('Other agent'));
      const other = await connectWithOAuth(
        otherUrl,
        otherProvider,
        async (url) => (await consentInBrowser(chromium, url, EDITOR, callback)).query,
      );
      await other.close();
      const otherToken = otherProvider.tokens()!.access_token;
      for (const token of [otherToken, 'not-a-token']) {
        const stream = await fetch(sseUrl, {
          headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
        });
        assert.equal(stream.status, 401, 'a token for another endpoint opens no stream');
        assert.match(stream.headers.get('www-authenticate') ?? '', /oauth-protected-resource\/sse\/default\/shop"/);
        await stream.body?.cancel();
      }
      // The message endpoint of a stream opened with the right token refuses a message sent with the other one.
      const controller = new AbortController();
      const opened = await fetch(sseUrl, {
        headers: { accept: 'text/event-stream', authorization: `Bearer ${sseToken}` },
        signal: controller.signal,
      });
      try {
        assert.equal(opened.status, 200);
        const reader = opened.body!.getReader();
        let text = '';
        while (!/event: endpoint\ndata: (.+)\n/.test(text))
          text += new TextDecoder().decode((await reader.read()).value);
        const endpoint = new URL(/event: endpoint\ndata: (.+)\n/.exec(text)![1]!, sseUrl);
        const post = (token: string) =>
          fetch(endpoint, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
          });
        const refused = await post(otherToken);
        assert.equal(refused.status, 401, 'a token for another toolset posts nothing to this session');
        assert.match(refused.headers.get('www-authenticate') ?? '', /oauth-protected-resource\/sse\/default\/shop"/);
        assert.equal((await post(sseToken)).status, 202, 'the right token may');
      } finally {
        controller.abort();
      }
      // A token names one endpoint: the SSE one's is no token for the Streamable HTTP endpoint of the same toolset.
      assert.equal((await rawCall(shopUrl, sseToken, 'initialize')).status, 401);
    });

    it('refuses the client once its grant is revoked, by the user or by an owner', async () => {
      for (const revoker of ['owner', 'user'] as const) {
        const provider = new MemoryOAuthProvider(callback.url, clientMetadata(`Revoked by ${revoker}`));
        const client = await connectWithOAuth(
          shopUrl,
          provider,
          async (url) => (await consentInBrowser(chromium, url, EDITOR, callback)).query,
        );
        await client.close();
        const token = provider.tokens()!.access_token;
        assert.equal((await rawCall(shopUrl, token, 'tools/list')).status, 200);
        const grants = await app.call('GET', `${WS}/oauth-grants`);
        const grant = (grants.body.items as { id: string; clientName: string }[]).find(
          (g) => g.clientName === `Revoked by ${revoker}`,
        )!;
        const revoked =
          revoker === 'owner'
            ? await app.call('DELETE', `${WS}/oauth-grants/${grant.id}`)
            : await revokeAsUser(grant.id);
        assert.equal(revoked.status, 204, revoked.text);
        // The audit still names the client once its grant is gone (by the name recorded with the event).
        const audit = await app.call('GET', `${WS}/audit?limit=50&resourceType=oauth-grant&resourceId=${grant.id}`);
        assert.deepEqual(
          (audit.body.items as { action: string; client: unknown }[]).find((e) => e.action === 'oauth-grant:revoke')
            ?.client,
          { id: provider.clientInformation()!.client_id, name: `Revoked by ${revoker}` },
        );
        const refused = await rawCall(shopUrl, token, 'tools/list');
        assert.equal(refused.status, 401, `the access token dies with its grant (${revoker})`);
        const refresh = await tokenRequest({
          grant_type: 'refresh_token',
          refresh_token: provider.tokens()!.refresh_token!,
          client_id: provider.clientInformation()!.client_id,
        });
        assert.equal(refresh.status, 400);
        assert.equal(refresh.body.error, 'invalid_grant', 'and so does its refresh token');
      }
    });

    async function revokeAsUser(grantId: string) {
      const { browser } = await import('./support/people.js').then(async (people) =>
        people.signIn(app, EDITOR.email, EDITOR.password, base),
      );
      const session = browser.jar.get('pb_session')!;
      const csrf = browser.jar.get('pb_csrf')!;
      return app.call('DELETE', `/api/v1/me/oauth-grants/${grantId}`, {
        key: null,
        headers: { cookie: `pb_session=${session}; pb_csrf=${csrf}`, 'x-csrf-token': csrf, origin: base },
      });
    }

    async function tokenRequest(fields: Record<string, string>, authorization?: string) {
      const answer = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(authorization ? { authorization } : {}),
        },
        body: new URLSearchParams(fields),
      });
      return { status: answer.status, body: (await answer.json()) as Record<string, string> };
    }

    it('rotates refresh tokens, and revokes the grant when a refresh token is used twice', async () => {
      const provider = new MemoryOAuthProvider(callback.url, clientMetadata('Rotating agent'));
      const client = await connectWithOAuth(
        shopUrl,
        provider,
        async (url) => (await consentInBrowser(chromium, url, EDITOR, callback)).query,
      );
      await client.close();
      const clientId = provider.clientInformation()!.client_id;
      const first = provider.tokens()!.refresh_token!;
      const rotated = await tokenRequest({ grant_type: 'refresh_token', refresh_token: first, client_id: clientId });
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      assert.notEqual(rotated.body.refresh_token, first, 'a new refresh token each time');
      assert.equal((await rawCall(shopUrl, rotated.body.access_token!, 'tools/list')).status, 200);
      const replayed = await tokenRequest({ grant_type: 'refresh_token', refresh_token: first, client_id: clientId });
      assert.equal(replayed.body.error, 'invalid_grant');
      const after = await tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: rotated.body.refresh_token!,
        client_id: clientId,
      });
      assert.equal(after.body.error, 'invalid_grant', 'reuse revoked the whole grant');
      assert.equal((await rawCall(shopUrl, rotated.body.access_token!, 'tools/list')).status, 401);
    });

    it('lets a viewer list tools but answers a call with 403 insufficient_scope', async () => {
      const provider = new MemoryOAuthProvider(callback.url, clientMetadata('Viewer agent'));
      let scopes: readonly { scope: string; granted: boolean }[] = [];
      const client = await connectWithOAuth(shopUrl, provider, async (url) => {
        const result = await consentInBrowser(chromium, url, VIEWER, callback);
        scopes = result.seen.scopes;
        return result.query;
      });
      await client.close();
      assert.deepEqual(scopes, [
        { scope: 'mcp:read', granted: true },
        { scope: 'mcp:call', granted: false },
      ]);
      const token = provider.tokens()!.access_token;
      assert.equal((await rawCall(shopUrl, token, 'tools/list')).status, 200);
      const call = await rawCall(shopUrl, token, 'tools/call', { name: 'getItem', arguments: { id: 'first' } });
      assert.equal(call.status, 403);
      assert.match(call.challenge ?? '', /error="insufficient_scope"/);
      assert.match(call.challenge ?? '', /scope="mcp:call"/);
      assert.ok(
        !upstream.seen.some((r) => r.headers.authorization === `Bearer ${token}`),
        'tokens are never passed on',
      );
    });
  });
}
