// Managed OAuth to upstream APIs, against a real authorization server (npm oidc-provider) and a real MCP client:
// connect flows, connect links, client credentials, and the refresh engine on one node and on two.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { launchChromium } from './support/chromium.js';
import { freePort } from './support/oauth-flow.js';
import { CLIENT_ID, CLIENT_SECRET, startOAuthUpstream, type OAuthUpstream } from './support/oauth-upstream.js';
import { inviteAndJoin, signIn } from './support/people.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';
import { openStored, placeOfStored } from './support/sealed.js';
import { settledToolset } from './support/toolsets.js';
import { startUpstreamApi } from './support/upstream-api.js';

const WS = '/api/v1/workspaces/default';
const HOUR_MS = 3600_000;

for (const engine of ENGINES) {
  describe(`managed upstream OAuth [${engine}]`, () => {
    let offsetMs = 0;
    const clock = { now: () => new Date(Date.now() + offsetMs).toISOString() };
    let app: TestApp;
    let base: string;
    let provider: OAuthUpstream;
    let agentSecret: string;
    let connectionId: number;
    let ccConnectionId: number;
    const people: Record<string, { session: string; csrf: string }> = {};

    before(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      provider = await startOAuthUpstream(`${base}/oauth/callback`);
      app = await startTestApp(engine, {
        clock,
        env: { PUBLIC_URL: base, OAUTH_REFRESH_ATTEMPTS: '2', OAUTH_CONNECT_TTL_SECONDS: '600' },
      });
      await app.server.listen({ port, host: '127.0.0.1' });
      for (const [email, role] of [
        ['ada@example.com', 'editor'],
        ['bob@example.com', 'editor'],
        ['vic@example.com', 'viewer'],
      ] as const) {
        const { browser } = await inviteAndJoin(app, {
          email,
          role,
          password: 'a long enough password',
          origin: base,
        });
        people[email] = { session: browser.jar.get('pb_session')!, csrf: browser.jar.get('pb_csrf')! };
      }
      const config = {
        authorizeUrl: `${provider.issuer}/auth`,
        tokenUrl: `${provider.issuer}/token`,
        issuer: provider.issuer,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        scopes: 'read write',
      };
      for (const [id, schemeType] of [
        ['records', 'oauth2-code'],
        ['records-service', 'oauth2-client-credentials'],
      ] as const) {
        const connector = await app.call('POST', `${WS}/connectors`, {
          body: {
            id,
            name: id,
            baseUrl: provider.apiUrl,
            authSchemeConfigs: [
              {
                id: 'oauth',
                schemeType,
                config: { ...config, scopes: schemeType === 'oauth2-code' ? 'read write' : 'read' },
              },
            ],
          },
        });
        assert.equal(connector.status, 201, connector.text);
        const connection = await app.call('POST', `${WS}/connections`, {
          body: { connectorId: id, name: `${id}-main`, type: 'http' },
        });
        assert.equal(connection.status, 201, connection.text);
        if (schemeType === 'oauth2-code') connectionId = connection.body.id;
        else ccConnectionId = connection.body.id;
        const toolset = await app.call('POST', `${WS}/toolsets`, {
          body: {
            name: id,
            spec: { schema: { type: 'OpenAPI', detail: provider.document() }, connectionId: connection.body.id },
          },
        });
        assert.equal(toolset.status, 201, toolset.text);
        await settledToolset(app, id);
      }
      const agent = await app.call('POST', `${WS}/access-clients`, { body: { name: 'agent', toolsets: ['*'] } });
      assert.equal(agent.status, 201, agent.text);
      agentSecret = agent.body.secret;
    });
    after(async () => {
      await app?.stop();
      await provider?.close();
    });

    /** An MCP client of the gateway of `node` (the official SDK), connected. */
    async function agentOf(node = base, toolset = 'records') {
      const client = new Client({ name: 'oauth-test-agent', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${node}/mcp/default/${toolset}`), {
          requestInit: { headers: { authorization: `Bearer ${agentSecret}` } },
        }),
      );
      return {
        call: async () => (await client.callTool({ name: 'whoAmI', arguments: {} })) as CallToolResult,
        close: () => client.close(),
      };
    }
    /** One tool call through the gateway of `node`. */
    async function callTool(node = base, toolset = 'records'): Promise<CallToolResult> {
      const agent = await agentOf(node, toolset);
      try {
        return await agent.call();
      } finally {
        await agent.close();
      }
    }
    /**
     * `count` calls at once, spread evenly over `nodes`, from clients connected beforehand, while the provider takes
     * 300 ms per token request: every call finds the token expired before any refresh can finish.
     */
    async function concurrentCalls(count: number, nodes: readonly string[]): Promise<CallToolResult[]> {
      const agents = await Promise.all(Array.from({ length: count }, (_, i) => agentOf(nodes[i % nodes.length])));
      provider.tokenDelayMs = 300;
      try {
        return await Promise.all(agents.map((agent) => agent.call()));
      } finally {
        provider.tokenDelayMs = 0;
        await Promise.all(agents.map((agent) => agent.close()));
      }
    }
    const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;

    /** POST …/connect as a signed-in person (session cookie and CSRF token, as the console sends them). */
    async function startConnect(email: string, body: object = {}) {
      const { session, csrf } = people[email]!;
      return app.call('POST', `${WS}/connections/${connectionId}/connect`, {
        key: null,
        body,
        headers: { cookie: `pb_session=${session}; pb_csrf=${csrf}`, 'x-csrf-token': csrf, origin: base },
      });
    }
    /** The provider's redirect back to plugboard's callback, arriving with `cookie`. */
    async function callback(url: URL, cookie?: string) {
      const reply = await app.server.inject({
        method: 'GET',
        url: `${url.pathname}${url.search}`,
        headers: cookie ? { cookie } : {},
      });
      return { status: reply.statusCode, text: reply.body, headers: reply.headers };
    }
    const sessionOf = (email: string) => `pb_session=${people[email]!.session}`;
    const connection = async (id = connectionId) => (await app.call('GET', `${WS}/connections/${id}`)).body;

    it('tells an agent that calls a tool of a connection never connected where to connect it', async () => {
      const result = await callTool();
      assert.equal(result.isError, true);
      assert.match(
        textOf(result),
        /is not connected to its provider yet\. Open http:\/\/127\.0\.0\.1:\d+\/oauth\/connect\/[\w-]+ /,
      );
      assert.equal((await connection()).oauth, null);
    });

    it('connects through the provider (state, PKCE S256, scopes), stores the tokens sealed and calls the API with them', async () => {
      const started = await startConnect('ada@example.com');
      assert.equal(started.status, 200, started.text);
      const authorization = new URL(started.body.authorizationUrl);
      assert.equal(authorization.origin + authorization.pathname, `${provider.issuer}/auth`);
      assert.equal(authorization.searchParams.get('code_challenge_method'), 'S256');
      assert.equal(authorization.searchParams.get('scope'), 'read write');
      assert.equal(authorization.searchParams.get('redirect_uri'), `${base}/oauth/callback`);
      assert.ok((authorization.searchParams.get('state') ?? '').length >= 40, 'a long random state');

      const back = await provider.authorize(authorization.href);
      const finished = await callback(back, sessionOf('ada@example.com'));
      assert.equal(finished.status, 200, finished.text);
      assert.match(finished.text, /is connected\. You can close this page\./);
      assert.equal(provider.grants.authorization_code, 1);

      const result = await callTool();
      assert.equal(result.isError, undefined, textOf(result));
      assert.deepEqual(result.structuredContent, { account: 'ada', client: CLIENT_ID });
      const sent = provider.apiCalls.at(-1)!.token!;
      const view = await app.call('GET', `${WS}/connections/${connectionId}`);
      assert.equal(view.body.oauth.state, 'connected');
      assert.equal(view.body.oauth.schemeType, 'oauth2-code');
      assert.equal(view.body.oauth.scope, 'read write');
      assert.ok(Date.parse(view.body.oauth.expiresAt) > Date.parse(clock.now()));
      assert.ok(!view.text.includes(sent), 'the access token is never returned');
      // At rest: sealed, and found at its place by the walk `keys rewrap` makes (so key rotation covers it).
      const stored = await app.db.kysely
        .selectFrom('connection_tokens')
        .select('tokens')
        .where('connection_id', '=', connectionId)
        .executeTakeFirstOrThrow();
      assert.ok(!stored.tokens.includes(sent), 'no plaintext token in the store');
      const sealed = JSON.parse(stored.tokens) as { accessToken: string; refreshToken: string };
      assert.equal(await openStored(app.db, app.vault, sealed.accessToken), sent);
      assert.equal((await placeOfStored(app.db, sealed.refreshToken)).path, '/tokens/refreshToken');
      const history = await app.call('GET', `${WS}/connections/${connectionId}/history`);
      assert.equal(history.status, 200, history.text);
      const connected = history.body.items.find((e: { action: string }) => e.action === 'connection:connect');
      assert.ok(connected, history.text);
      assert.match(connected.principalId, /^usr_/);
      assert.deepEqual(connected.changedFields, ['oauth']);
      assert.ok(!history.text.includes(sent));
      const list = await app.call('GET', `${WS}/connections`);
      assert.ok(!list.text.includes(sent));
      assert.equal(list.body.items.find((c: { id: number }) => c.id === connectionId).oauth.state, 'connected');
    });

    it('connects in headless Chromium: a person signs in, starts connecting and lands on a page to close', async () => {
      const chromium = await launchChromium();
      try {
        const context = await chromium.newContext();
        // Loopback only: nothing else may be fetched on this network.
        await context.route('**/*', (route) =>
          new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort(),
        );
        const page = await context.newPage();
        await page.goto(`${base}/auth/sign-in?return_to=/api/v1/me`);
        await page.fill('#email', 'ada@example.com');
        await page.fill('#password', 'a long enough password');
        await Promise.all([page.waitForURL(`${base}/api/v1/me`), page.click('button[type=submit]')]);
        const before = provider.grants.authorization_code ?? 0;
        const authorizationUrl = await page.evaluate<string>(`(async () => {
          const csrf = /pb_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '';
          const response = await fetch('${WS}/connections/${connectionId}/connect', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
            body: '{}',
          });
          return (await response.json()).authorizationUrl;
        })()`);
        await page.goto(authorizationUrl);
        await page.waitForURL(`${base}/oauth/callback?**`);
        assert.match(
          (await page.textContent('#connected')) ?? '',
          /records-main.* is connected\. You can close this page\./,
        );
        assert.equal(provider.grants.authorization_code, before + 1);
        await context.close();
      } finally {
        await chromium.close();
      }
      const result = await callTool();
      assert.deepEqual(result.structuredContent, { account: 'ada', client: CLIENT_ID });
    });

    it('refuses a state used twice, one that expired, and one brought back by another person', async () => {
      const first = await startConnect('ada@example.com');
      const back = await provider.authorize(first.body.authorizationUrl);
      const bob = await callback(back, sessionOf('bob@example.com'));
      assert.equal(bob.status, 403);
      assert.match(bob.text, /started by someone else/);
      const nobody = await callback(back);
      assert.equal(nobody.status, 403);
      const ok = await callback(back, sessionOf('ada@example.com'));
      assert.equal(ok.status, 200, ok.text);
      const again = await callback(back, sessionOf('ada@example.com'));
      assert.equal(again.status, 400);
      assert.match(again.text, /already completed/);

      const late = await startConnect('ada@example.com');
      const lateBack = await provider.authorize(late.body.authorizationUrl);
      offsetMs += 601_000;
      try {
        const expired = await callback(lateBack, sessionOf('ada@example.com'));
        assert.equal(expired.status, 400);
        assert.match(expired.text, /expired/);
      } finally {
        offsetMs -= 601_000;
      }
      const forged = await callback(
        new URL(`${base}/oauth/callback?code=forged&state=forged`),
        sessionOf('ada@example.com'),
      );
      assert.equal(forged.status, 400);
      assert.match(forged.text, /not known/);
    });

    it('shows a denied authorization as a clear page, not an error', async () => {
      const started = await startConnect('ada@example.com');
      provider.deny = true;
      try {
        const back = await provider.authorize(started.body.authorizationUrl);
        const denied = await callback(back, sessionOf('ada@example.com'));
        assert.equal(denied.status, 400);
        assert.match(denied.text, /did not grant access \(access_denied: The person said no\.\)/);
      } finally {
        provider.deny = false;
      }
      assert.equal((await connection()).oauth.state, 'connected', 'the tokens stored before are kept');
    });

    it('exchanges the code outside the write path: other writes go on while the provider is slow', async () => {
      const started = await startConnect('ada@example.com');
      assert.equal(started.status, 200, started.text);
      const back = await provider.authorize(new URL(started.body.authorizationUrl).href);
      provider.tokenDelayMs = 5000;
      let settled = false;
      try {
        const finishing = callback(back, sessionOf('ada@example.com')).finally(() => (settled = true));
        await new Promise((resolve) => setTimeout(resolve, 300));
        // On SQLite every write goes through one writer: a token request held inside it held them all.
        const write = await app.call('PATCH', `${WS}/connections/${connectionId}`, {
          body: { description: 'written while connecting' },
          contentType: 'application/merge-patch+json',
        });
        assert.equal(write.status, 200, write.text);
        assert.equal(settled, false, 'the write waited for the provider');
        const finished = await finishing;
        assert.equal(finished.status, 200, finished.text);
        assert.equal((await connection()).oauth.state, 'connected');
      } finally {
        provider.tokenDelayMs = 0;
      }
    });

    it('refreshes a token that is due before the call, and stores the rotated refresh token', async () => {
      const before = provider.grants.refresh_token ?? 0;
      offsetMs += HOUR_MS;
      const result = await callTool();
      assert.equal(result.isError, undefined, textOf(result));
      assert.equal(provider.grants.refresh_token, before + 1);
      // The provider revokes the whole grant when a rotated refresh token is used again: a second refresh that
      // works proves the new one was stored.
      offsetMs += HOUR_MS;
      const again = await callTool();
      assert.equal(again.isError, undefined, textOf(again));
      assert.equal(provider.grants.refresh_token, before + 2);
      const view = await connection();
      assert.equal(view.oauth.state, 'connected');
      assert.ok(view.oauth.lastRefreshAt);
    });

    it("answers a conditional GET of a connection with 200 once its OAuth state moved, though the connection's revision did not", async () => {
      const read = await app.call('GET', `${WS}/connections/${connectionId}`);
      const etag = String(read.headers.etag);
      const unchanged = await app.call('GET', `${WS}/connections/${connectionId}`, {
        headers: { 'if-none-match': etag },
      });
      assert.equal(unchanged.status, 304);
      offsetMs += HOUR_MS;
      assert.equal((await callTool()).isError, undefined);
      const moved = await app.call('GET', `${WS}/connections/${connectionId}`, { headers: { 'if-none-match': etag } });
      assert.equal(moved.status, 200, 'the refresh moved lastRefreshAt and expiresAt');
      assert.equal(moved.body.revision, read.body.revision, 'the connection itself did not change');
      assert.notEqual(moved.body.oauth.lastRefreshAt, read.body.oauth.lastRefreshAt);
      assert.notEqual(moved.headers.etag, etag);
      // A write is judged against the connection it replaces, which no refresh changes: the tag read before the
      // refresh lets it through; any tag of an older revision is refused, whatever OAuth state it was read with.
      const patch = (ifMatch: string) =>
        app.call('PATCH', `${WS}/connections/${connectionId}`, {
          body: { description: `written with ${ifMatch}` },
          headers: { 'if-match': ifMatch },
        });
      const patched = await patch(etag);
      assert.equal(patched.status, 200, patched.text);
      assert.equal((await patch(etag)).status, 412);
      assert.equal((await patch(String(moved.headers.etag))).status, 412);
      assert.equal((await patch(String(patched.headers.etag))).status, 200);
    });

    it('refreshes once and calls again when the upstream answers 401', async () => {
      await callTool();
      const token = provider.apiCalls.at(-1)!.token!;
      await provider.revokeAccessToken(token);
      const before = provider.grants.refresh_token ?? 0;
      const calls = provider.apiCalls.length;
      const result = await callTool();
      assert.equal(result.isError, undefined, textOf(result));
      assert.equal(provider.grants.refresh_token, before + 1);
      assert.deepEqual(
        provider.apiCalls.slice(calls).map((c) => c.status),
        [401, 200],
      );
    });

    it('makes exactly one refresh for 20 concurrent calls that find the token expired', async () => {
      const before = provider.grants.refresh_token ?? 0;
      offsetMs += HOUR_MS;
      const results = await concurrentCalls(20, [base]);
      for (const result of results) assert.equal(result.isError, undefined, textOf(result));
      assert.equal(provider.grants.refresh_token, before + 1);
    });

    if (engine === 'postgres') {
      it('makes exactly one refresh across three nodes on one store, 50 concurrent calls each (a row lock held for the refresh)', async () => {
        const others = await Promise.all(
          [1, 2].map(() =>
            startTestApp(engine, { clock, store: app.store, env: { PUBLIC_URL: base, OAUTH_REFRESH_ATTEMPTS: '2' } }),
          ),
        );
        try {
          const nodes = [
            base,
            ...(await Promise.all(others.map((o) => o.server.listen({ port: 0, host: '127.0.0.1' })))),
          ];
          const before = provider.grants.refresh_token ?? 0;
          const requests = provider.tokenRequests;
          offsetMs += HOUR_MS;
          const results = await concurrentCalls(150, nodes);
          for (const result of results) assert.equal(result.isError, undefined, textOf(result));
          assert.equal(provider.tokenRequests - requests, 1, 'one token request reached the provider');
          assert.equal(provider.grants.refresh_token, before + 1);
          const reached = provider.apiCalls.slice(-150);
          assert.deepEqual(new Set(reached.map((c) => c.status)), new Set([200]), 'the API accepted every call');
          assert.equal(new Set(reached.map((c) => c.token)).size, 1, 'every call used the one refreshed token');
        } finally {
          await Promise.all(others.map((o) => o.close()));
        }
      });
    }

    it('retries a token endpoint that answers 5xx, marks the connection degraded, and recovers', async () => {
      offsetMs += HOUR_MS;
      provider.failTokenRequests = 100;
      const requests = provider.tokenRequests;
      let result: CallToolResult;
      try {
        result = await callTool();
      } finally {
        provider.failTokenRequests = 0;
      }
      assert.equal(result.isError, true);
      assert.match(
        textOf(result),
        /could not get a fresh OAuth token after 2 tries \(The token endpoint answered with HTTP 503\)/,
      );
      assert.equal(provider.tokenRequests - requests, 2, 'tried twice (OAUTH_REFRESH_ATTEMPTS)');
      const degraded = await connection();
      assert.equal(degraded.oauth.state, 'degraded');
      assert.match(degraded.oauth.lastError, /503/);
      const metrics = await app.server.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /plugboard_upstream_oauth_connections\{state="degraded"\} 1/);
      assert.match(metrics.body, /plugboard_upstream_oauth_refreshes_total\{outcome="degraded"\} [1-9]/);

      provider.failTokenRequests = 1;
      const recovered = await callTool();
      assert.equal(recovered.isError, undefined, textOf(recovered));
      const view = await connection();
      assert.equal(view.oauth.state, 'connected');
      assert.equal(view.oauth.lastError, null);
    });

    it('marks a revoked grant reconnect-required, gives the agent the connect link, and the link reconnects once', async () => {
      await callTool();
      await provider.revokeGrantOf(provider.apiCalls.at(-1)!.token!);
      offsetMs += HOUR_MS;
      const result = await callTool();
      assert.equal(result.isError, true);
      const link = /Open (http:\/\/\S+\/oauth\/connect\/[\w-]+) to connect it/.exec(textOf(result))?.[1];
      assert.ok(link, textOf(result));
      assert.match(textOf(result), /must be connected again/);
      const view = await connection();
      assert.equal(view.oauth.state, 'reconnect-required');
      assert.match(view.oauth.lastError, /invalid_grant/);
      const again = await callTool();
      assert.ok(textOf(again).includes(link), 'the same link while it is unused');

      const page = await app.server.inject({ method: 'GET', url: new URL(link).pathname });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<form method="post"><button type="submit" id="connect">Connect<\/button>/);
      // As a browser posts the page's form: an empty urlencoded body.
      const open = (cookie?: string) =>
        app.server.inject({
          method: 'POST',
          url: new URL(link).pathname,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            origin: base,
            ...(cookie ? { cookie } : {}),
          },
          payload: '',
        });
      // An hour on, the sessions signed in at the start have gone idle: sign in again.
      const signedIn = async (email: string) => {
        const { browser } = await signIn(app, email, 'a long enough password', base);
        return `pb_session=${browser.jar.get('pb_session')!}`;
      };
      const [ada, bob, vic] = [
        await signedIn('ada@example.com'),
        await signedIn('bob@example.com'),
        await signedIn('vic@example.com'),
      ];
      // The link went to whoever called the tool (an agent, and whatever reads its output): connecting the shared
      // connection puts an account behind every caller's calls, so only someone who may change the connection can.
      const anonymous = await open();
      assert.equal(anonymous.statusCode, 403, anonymous.body);
      assert.match(anonymous.body, /sign in to plugboard as an editor/);
      const viewer = await open(vic);
      assert.equal(viewer.statusCode, 403, viewer.body);
      const opened = await open(bob);
      assert.equal(opened.statusCode, 303, `refusals did not use the link up: ${opened.body}`);
      provider.account = 'grace';
      try {
        const back = await provider.authorize(String(opened.headers.location));
        const elsewhere = await callback(back, ada);
        assert.equal(elsewhere.status, 403, 'the flow is bound to the editor who opened the link');
        const finished = await callback(back, bob);
        assert.equal(finished.status, 200, finished.text);
      } finally {
        provider.account = 'ada';
      }
      const reused = await open(bob);
      assert.equal(reused.statusCode, 410);
      assert.match(reused.body, /already used/);
      const after = await callTool();
      assert.deepEqual(after.structuredContent, { account: 'grace', client: CLIENT_ID });
      assert.equal((await connection()).oauth.state, 'connected');
    });

    it('hands out a connect link that works once, for someone else to connect', async () => {
      // With an API key: a script can hand links out too.
      const started = await app.call('POST', `${WS}/connections/${connectionId}/connect`, { body: { handOff: true } });
      assert.equal(started.status, 200, started.text);
      assert.equal(started.body.authorizationUrl, null);
      assert.match(started.body.connectUrl, new RegExp(`^${base}/oauth/connect/`));
      const path = new URL(started.body.connectUrl).pathname;
      // A scanner that fetches every link in a message does not use it up: only the page's POST does.
      assert.equal((await app.server.inject({ method: 'GET', url: path })).statusCode, 200);
      assert.equal((await app.server.inject({ method: 'GET', url: path })).statusCode, 200);
      assert.equal((await app.server.inject({ method: 'POST', url: path })).statusCode, 303);
      assert.equal((await app.server.inject({ method: 'POST', url: path })).statusCode, 410);
      const unknown = await app.server.inject({
        method: 'POST',
        url: '/oauth/connect/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      });
      assert.equal(unknown.statusCode, 410);
    });

    it('fetches a client-credentials token on first use and again before it expires', async () => {
      const before = provider.grants.client_credentials ?? 0;
      const first = await callTool(base, 'records-service');
      assert.equal(first.isError, undefined, textOf(first));
      assert.deepEqual(first.structuredContent, { account: null, client: CLIENT_ID });
      await callTool(base, 'records-service');
      assert.equal(provider.grants.client_credentials, before + 1, 'the token is kept between calls');
      offsetMs += HOUR_MS;
      const later = await callTool(base, 'records-service');
      assert.equal(later.isError, undefined, textOf(later));
      assert.equal(provider.grants.client_credentials, before + 2);
      assert.equal((await connection(ccConnectionId)).oauth.schemeType, 'oauth2-client-credentials');
    });

    it("never sends a connection's tokens to a baseUrl the connector was moved to after they were issued", async () => {
      const listener = await startUpstreamApi();
      try {
        for (const connector of ['records', 'records-service']) {
          const moved = await app.call('PATCH', `${WS}/connectors/${connector}`, { body: { baseUrl: listener.url } });
          assert.equal(moved.status, 200, moved.text);
          const toolset = await app.call('PATCH', `${WS}/toolsets/${connector}`, {
            body: { spec: { baseUrl: listener.url } },
          });
          assert.equal(toolset.status, 200, toolset.text);
          await settledToolset(app, connector);
          const result = await callTool(base, connector);
          assert.equal(result.isError, true);
          assert.match(
            textOf(result),
            /its OAuth tokens were issued for http:\/\/127\.0\.0\.1:\d+ and go nowhere else/,
          );
        }
        assert.deepEqual(listener.seen, [], 'no request reached the new baseUrl');
      } finally {
        for (const connector of ['records', 'records-service']) {
          await app.call('PATCH', `${WS}/connectors/${connector}`, { body: { baseUrl: provider.apiUrl } });
          await app.call('PATCH', `${WS}/toolsets/${connector}`, { body: { spec: { baseUrl: null } } });
          await settledToolset(app, connector);
        }
        await listener.close();
      }
      assert.equal((await callTool()).isError, undefined, 'back at the origin they were issued for');
    });

    it('tries refused client credentials again once the client settings are fixed', async () => {
      const created = await app.call('POST', `${WS}/connections`, {
        body: { connectorId: 'records-service', name: 'records-service-own', type: 'http' },
      });
      assert.equal(created.status, 201, created.text);
      const id: number = created.body.id;
      const toolset = await app.call('POST', `${WS}/toolsets`, {
        body: {
          name: 'records-own',
          spec: { schema: { type: 'OpenAPI', detail: provider.document() }, connectionId: id },
        },
      });
      assert.equal(toolset.status, 201, toolset.text);
      await settledToolset(app, 'records-own');
      assert.equal((await callTool(base, 'records-own')).isError, undefined);

      const wrong = await app.call('PATCH', `${WS}/connections/${id}`, {
        body: { content: { clientSecret: 'not-the-secret' } },
      });
      assert.equal(wrong.status, 200, wrong.text);
      offsetMs += HOUR_MS;
      const refused = await callTool(base, 'records-own');
      assert.equal(refused.isError, true);
      assert.match(
        textOf(refused),
        /The provider refused the OAuth client of connection "records-service-own" \(The token endpoint answered 401 invalid_client/,
      );
      assert.ok(!textOf(refused).includes('not-the-secret'));
      assert.equal((await connection(id)).oauth.state, 'reconnect-required');

      const fixed = await app.call('PATCH', `${WS}/connections/${id}`, { body: { content: { clientSecret: null } } });
      assert.equal(fixed.status, 200, fixed.text);
      const works = await callTool(base, 'records-own');
      assert.equal(works.isError, undefined, textOf(works));
      assert.equal((await connection(id)).oauth.state, 'connected');
      await app.call('DELETE', `${WS}/toolsets/records-own`);
    });

    it('documents the connect route and the oauth field, and refuses a connectionId that cannot work', async () => {
      const openapi = (await app.call('GET', '/openapi.json')).body;
      const connect = openapi.paths['/api/v1/workspaces/{workspaceId}/connections/{connectionId}/connect'];
      assert.ok(connect?.post, 'POST …/connect is in /openapi.json');
      assert.ok(JSON.stringify(openapi).includes('reconnect-required'), 'the oauth states are in the schemas');
      const spec = (connectionId: number, type = 'OpenAPI') => ({
        schema: { type, detail: type === 'MCP' ? `${provider.issuer}/mcp` : provider.document() },
        connectionId,
      });
      const nowhere = await app.call('POST', `${WS}/toolsets`, { body: { name: 'nowhere', spec: spec(987654) } });
      assert.equal(nowhere.status, 400);
      assert.equal(nowhere.body.errors[0].path, '/spec/connectionId');
      const mcp = await app.call('POST', `${WS}/toolsets`, {
        body: { name: 'mcp-one', spec: spec(connectionId, 'MCP') },
      });
      assert.equal(mcp.status, 400);
      assert.match(mcp.body.errors[0].message, /OpenAPI toolsets only/);
    });

    it('refuses to connect a client-credentials connection, and a viewer, with 4xx', async () => {
      const cc = await app.call('POST', `${WS}/connections/${ccConnectionId}/connect`, { body: {} });
      assert.equal(cc.status, 400);
      assert.match(cc.body.detail, /nothing to connect/);
      const missing = await app.call('POST', `${WS}/connections/999999/connect`, { body: {} });
      assert.equal(missing.status, 404);
      const unauthenticated = await app.call('POST', `${WS}/connections/${connectionId}/connect`, {
        key: null,
        body: {},
      });
      assert.equal(unauthenticated.status, 401);
    });
    it("drops a connection's tokens with it", async () => {
      const tokensOf = async (id: number) =>
        (
          await app.db.kysely
            .selectFrom('connection_tokens')
            .select('connection_id')
            .where('connection_id', '=', id)
            .execute()
        ).length;
      assert.equal(await tokensOf(ccConnectionId), 1);
      await app.call('DELETE', `${WS}/toolsets/records-service`);
      const deleted = await app.call('DELETE', `${WS}/connections/${ccConnectionId}`);
      assert.equal(deleted.status, 204, deleted.text);
      assert.equal(await tokensOf(ccConnectionId), 0);
    });
  });
}
