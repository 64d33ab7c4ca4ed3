// Per-user connections, written as an attacker would try them: two people signed in through MCP OAuth (the
// official SDK client, consent in headless Chromium) call one per-user toolset, whose upstream is an API behind a
// real authorization server (npm oidc-provider). Each reaches the API with their own upstream token, never the MCP
// client's; a connect link made for one is refused to the other; a viewer never sees another person's connection;
// a person removed from the workspace loses theirs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser as Chromium } from 'playwright-core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { launchChromium } from './support/chromium.js';
import { MemoryOAuthProvider, startCallbackServer, type CallbackServer } from './support/oauth-clients.js';
import { connectWithOAuth, consentInBrowser, freePort } from './support/oauth-flow.js';
import { CLIENT_ID, CLIENT_SECRET, startOAuthUpstream, type OAuthUpstream } from './support/oauth-upstream.js';
import { browserFor, inviteAndJoin, type Browser } from './support/people.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';

const WS = '/api/v1/workspaces/default';
const MCP_CLIENT = 'per-user-ide';
const PEOPLE = {
  ada: { email: 'ada@example.com', password: 'ada has a long password', role: 'editor' },
  bob: { email: 'bob@example.com', password: 'bob has a long password', role: 'editor' },
  vic: { email: 'vic@example.com', password: 'vic has a long password', role: 'viewer' },
  adm: { email: 'adm@example.com', password: 'adm has a long password', role: 'admin' },
} as const;
type Person = keyof typeof PEOPLE;

const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;
const linkIn = (text: string) => /Open (http:\/\/\S+\/oauth\/connect\/[\w-]+) to connect it/.exec(text)?.[1];

for (const engine of ENGINES) {
  describe(`per-user connections [${engine}]`, () => {
    let app: TestApp;
    let base: string;
    let provider: OAuthUpstream;
    let callback: CallbackServer;
    let chromium: Chromium;
    const ids = {} as Record<Person, string>;
    const browsers = {} as Record<Person, Browser>;
    const mcp = {} as Record<'ada' | 'bob', { client: Client; oauth: MemoryOAuthProvider }>;

    before(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      provider = await startOAuthUpstream(`${base}/oauth/callback`);
      callback = await startCallbackServer();
      app = await startTestApp(engine, {
        env: {
          PUBLIC_URL: base,
          SIGN_IN_PER_MINUTE: '100',
          OAUTH_CLIENTS: JSON.stringify([
            { client_id: MCP_CLIENT, client_name: 'Per-user IDE', redirect_uris: [callback.url] },
          ]),
        },
      });
      await app.server.listen({ port, host: '127.0.0.1' });
      for (const [name, person] of Object.entries(PEOPLE) as [Person, (typeof PEOPLE)[Person]][]) {
        const joined = await inviteAndJoin(app, { ...person, origin: base });
        ids[name] = joined.userId;
        browsers[name] = joined.browser;
      }
      const config = {
        authorizeUrl: `${provider.issuer}/auth`,
        tokenUrl: `${provider.issuer}/token`,
        issuer: provider.issuer,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        scopes: 'read',
      };
      const connector = await app.call('POST', `${WS}/connectors`, {
        body: {
          id: 'records',
          name: 'records',
          baseUrl: provider.apiUrl,
          authSchemeConfigs: [{ id: 'oauth', schemeType: 'oauth2-code', config }],
        },
      });
      assert.equal(connector.status, 201, connector.text);
      const toolset = await app.call('POST', `${WS}/toolsets`, {
        body: {
          name: 'mine',
          spec: {
            schema: { type: 'OpenAPI', detail: provider.document() },
            credentials: { connectorId: 'records', mode: 'per-user' },
          },
        },
      });
      assert.equal(toolset.status, 201, toolset.text);
      await settledToolset(app, 'mine');
      chromium = await launchChromium();
      for (const name of ['ada', 'bob'] as const) {
        const oauth = MemoryOAuthProvider.preRegistered(callback.url, { client_id: MCP_CLIENT });
        const client = await connectWithOAuth(
          `${base}/mcp/default/mine`,
          oauth,
          async (url) => (await consentInBrowser(chromium, url, PEOPLE[name], callback)).query,
        );
        mcp[name] = { client, oauth };
      }
    });
    after(async () => {
      await Promise.all(Object.values(mcp).map((m) => m.client.close()));
      await chromium?.close();
      await app?.stop();
      await provider?.close();
      await callback?.close();
    });

    const callAs = async (name: 'ada' | 'bob') =>
      (await mcp[name].client.callTool({ name: 'whoAmI', arguments: {} })) as CallToolResult;
    /** A native API call as a signed-in person (session cookie and CSRF token, as the console sends them). */
    const asPerson = (name: Person, method: string, url: string, body?: object) => {
      const jar = browsers[name].jar;
      const csrf = jar.get('pb_csrf')!;
      return app.call(method, url, {
        key: null,
        ...(body ? { body } : {}),
        headers: { cookie: `pb_session=${jar.get('pb_session')}; pb_csrf=${csrf}`, 'x-csrf-token': csrf, origin: base },
      });
    };
    const ownConnection = async (name: Person) => {
      const all = await app.call('GET', `${WS}/connections?connectorId=records&limit=100`);
      return (all.body.items as { id: number; ownerUserId: string | null }[]).find((c) => c.ownerUserId === ids[name]);
    };
    /** Opens a connect link in `name`'s browser and goes through the provider as `account`; the callback's answer. */
    async function connectThrough(link: string, name: Person, account: string) {
      const browser = browsers[name];
      const opened = await browser.post(new URL(link).pathname, {});
      assert.equal(opened.status, 303, opened.text);
      provider.account = account;
      const back = await provider.authorize(String(opened.headers.location));
      return browser.get(`${back.pathname}${back.search}`);
    }

    it("refuses an access client's static token: per-user toolsets need a person signed in through OAuth", async () => {
      const agent = await app.call('POST', `${WS}/access-clients`, { body: { name: 'agent', toolsets: ['mine'] } });
      assert.equal(agent.status, 201, agent.text);
      const client = new Client({ name: 'static-agent', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${base}/mcp/default/mine`), {
          requestInit: { headers: { authorization: `Bearer ${agent.body.secret}` } },
        }),
      );
      try {
        const result = (await client.callTool({ name: 'whoAmI', arguments: {} })) as CallToolResult;
        assert.equal(result.isError, true);
        assert.match(textOf(result), /needs a person signed in through MCP OAuth/);
        assert.equal(provider.apiCalls.length, 0, 'nothing went upstream');
      } finally {
        await client.close();
      }
    });

    it("gives a person without a connection a link made for them, refused to another person's browser", async () => {
      const result = await callAs('ada');
      assert.equal(result.isError, true);
      assert.match(textOf(result), /is not connected to its provider yet/);
      const link = linkIn(textOf(result));
      assert.ok(link, textOf(result));
      const mine = await ownConnection('ada');
      assert.ok(mine, "ada's own connection was made for her");

      const path = new URL(link).pathname;
      const stranger = await browserFor(app, base).post(path, {});
      assert.equal(stranger.status, 403, 'a browser signed in as nobody');
      assert.match(stranger.text, /sign in to plugboard as the person it was made for/);
      const bob = await browsers.bob.post(path, {});
      assert.equal(bob.status, 403, "bob's browser");
      assert.match(bob.text, /made for another person/);
      // Neither used it up; the flow it starts for ada is bound to ada's session, not to a browser cookie.
      const opened = await browsers.ada.post(path, {});
      assert.equal(opened.status, 303, opened.text);
      provider.account = 'ada';
      const back = await provider.authorize(String(opened.headers.location));
      const hijack = await browsers.bob.get(`${back.pathname}${back.search}`);
      assert.equal(hijack.status, 403, "bob's browser cannot finish ada's flow");
      const finished = await browsers.ada.get(`${back.pathname}${back.search}`);
      assert.equal(finished.status, 200, finished.text);

      const called = await callAs('ada');
      assert.equal(called.isError, undefined, textOf(called));
      assert.deepEqual(called.structuredContent, { account: 'ada', client: CLIENT_ID });
    });

    it("reaches the upstream with each person's own token, never the MCP client's", async () => {
      const first = await callAs('bob');
      const link = linkIn(textOf(first));
      assert.ok(link, textOf(first));
      assert.equal((await connectThrough(link, 'bob', 'bob')).status, 200);
      provider.apiCalls.length = 0;
      const [ada, bob] = await Promise.all([callAs('ada'), callAs('bob')]);
      assert.deepEqual(ada.structuredContent, { account: 'ada', client: CLIENT_ID });
      assert.deepEqual(bob.structuredContent, { account: 'bob', client: CLIENT_ID });
      const mcpTokens = [mcp.ada.oauth.tokens()!.access_token, mcp.bob.oauth.tokens()!.access_token];
      assert.equal(provider.apiCalls.length, 2);
      for (const call of provider.apiCalls) {
        assert.equal(call.status, 200, 'the API knew every token it got: issued by its own provider');
        assert.ok(!mcpTokens.includes(call.token!), "an MCP client's token went upstream");
      }
      assert.notEqual(provider.apiCalls[0]!.token, provider.apiCalls[1]!.token);
    });

    it("tries a per-user tool in the console with the signed-in person's own connection; an API key has none", async () => {
      const tried = await asPerson('bob', 'POST', `${WS}/toolsets/mine/tools/whoAmI/call`, { arguments: {} });
      assert.equal(tried.status, 200, tried.text);
      assert.deepEqual(tried.body.result.structuredContent, { account: 'bob', client: CLIENT_ID });
      const keyed = await app.call('POST', `${WS}/toolsets/mine/tools/whoAmI/call`, { body: { arguments: {} } });
      assert.equal(keyed.status, 200, keyed.text);
      assert.equal(keyed.body.result.isError, true);
      assert.match(keyed.body.result.content[0].text, /needs a person signed in/);
    });

    it("never lets one person's call, a toolset or a connect request use another person's connection", async () => {
      const bobs = (await ownConnection('bob'))!;
      // A toolset may not name a person's connection as its shared one.
      const fixed = await app.call('POST', `${WS}/toolsets`, {
        body: {
          name: 'borrowed',
          spec: { schema: { type: 'OpenAPI', detail: provider.document() }, connectionId: bobs.id },
        },
      });
      assert.equal(fixed.status, 400, fixed.text);
      assert.match(fixed.text, /belongs to a person/);
      // Nor both modes at once.
      const both = await app.call('POST', `${WS}/toolsets`, {
        body: {
          name: 'both',
          spec: {
            schema: { type: 'OpenAPI', detail: provider.document() },
            connectionId: bobs.id,
            credentials: { connectorId: 'records', mode: 'per-user' },
          },
        },
      });
      assert.equal(both.status, 400, both.text);
      // Even if it were stored, the token engine gives a shared-connection call no person's token.
      const shared = await app.services.upstreamOAuth.accessToken('default', bobs.id);
      assert.equal(shared.ok, false);
      // Ada cannot start a flow on bob's connection or hand out its link: for her it does not exist.
      const connect = await asPerson('ada', 'POST', `${WS}/connections/${bobs.id}/connect`, {});
      assert.equal(connect.status, 404, connect.text);
      const handOff = await asPerson('ada', 'POST', `${WS}/connections/${bobs.id}/connect`, { handOff: true });
      assert.equal(handOff.status, 404, handOff.text);
      // An admin may hand bob a link (bound to bob), but not connect bob's connection with the admin's account.
      const adminFlow = await asPerson('adm', 'POST', `${WS}/connections/${bobs.id}/connect`, {});
      assert.equal(adminFlow.status, 403, adminFlow.text);
      const adminLink = await asPerson('adm', 'POST', `${WS}/connections/${bobs.id}/connect`, { handOff: true });
      assert.equal(adminLink.status, 200, adminLink.text);
      const path = new URL(adminLink.body.connectUrl).pathname;
      assert.equal((await browsers.adm.post(path, {})).status, 403, 'the admin cannot use the link made for bob');
      // Ada cannot claim ownership of bob's connection or make one in bob's name.
      const forBob = await asPerson('ada', 'POST', `${WS}/connections`, {
        connectorId: 'records',
        name: 'for-bob',
        type: 'http',
        ownerUserId: ids.bob,
      });
      assert.equal(forBob.status, 400, forBob.text);
      const mine = await asPerson('ada', 'POST', `${WS}/connections`, {
        connectorId: 'records',
        name: 'second',
        type: 'http',
        ownerUserId: ids.ada,
      });
      assert.equal(mine.status, 409, 'one own connection per connector');
      // With ada's connection gone, ada's call makes her a new one: it never falls back to bob's.
      const adas = (await ownConnection('ada'))!;
      assert.equal((await app.call('DELETE', `${WS}/connections/${adas.id}`)).status, 204);
      // A shared connection that took the name ada's would get does not stop hers being made, nor is it used.
      const squatter = await app.call('POST', `${WS}/connections`, {
        body: { connectorId: 'records', name: `personal-${ids.ada}`, type: 'http' },
      });
      assert.equal(squatter.status, 201, squatter.text);
      provider.apiCalls.length = 0;
      const after = await callAs('ada');
      assert.equal(after.isError, true);
      assert.ok(linkIn(textOf(after)), textOf(after));
      assert.equal(provider.apiCalls.length, 0, 'no call went upstream with anyone else’s token');
      const relink = linkIn(textOf(after))!;
      assert.equal((await connectThrough(relink, 'ada', 'ada')).status, 200);
      assert.deepEqual((await callAs('ada')).structuredContent, { account: 'ada', client: CLIENT_ID });
      const remade = (await ownConnection('ada'))!;
      assert.notEqual(remade.id, squatter.body.id);
    });

    it("hides a person's connection from other members below admin; shows the owner to admins", async () => {
      const bobs = (await ownConnection('bob'))!;
      for (const name of ['vic', 'ada'] as const) {
        const one = await asPerson(name, 'GET', `${WS}/connections/${bobs.id}`);
        assert.equal(one.status, 404, `${name} reads bob's connection`);
        const list = await asPerson(name, 'GET', `${WS}/connections?limit=100`);
        assert.equal(list.status, 200, list.text);
        assert.ok(!(list.body.items as { id: number }[]).some((c) => c.id === bobs.id), `${name} lists it`);
        const patch = await asPerson(name, 'PATCH', `${WS}/connections/${bobs.id}`, { description: 'mine now' });
        // A viewer may change no connection at all (403 before anything is looked up); an editor finds none.
        assert.equal(patch.status, name === 'vic' ? 403 : 404, `${name} changes it: ${patch.text}`);
      }
      const own = await asPerson('bob', 'GET', `${WS}/connections/${bobs.id}`);
      assert.equal(own.status, 200, own.text);
      assert.equal(own.body.ownerUserId, ids.bob);
      assert.equal(own.body.oauth.state, 'connected');
      const admin = await asPerson('adm', 'GET', `${WS}/connections/${bobs.id}`);
      assert.equal(admin.status, 200, admin.text);
      assert.equal(admin.body.ownerUserId, ids.bob);
      const changed = await asPerson('adm', 'PATCH', `${WS}/connections/${bobs.id}`, { ownerUserId: ids.adm });
      assert.equal(changed.status, 400, 'the owner never changes');
      for (const view of [own.text, admin.text]) {
        for (const call of provider.apiCalls) assert.ok(!view.includes(call.token!), 'a token in a view');
      }
    });

    it('gives a person whose grant was revoked a reconnect link that only they can use', async () => {
      const called = await callAs('ada');
      assert.equal(called.isError, undefined, textOf(called));
      await provider.revokeGrantOf(provider.apiCalls.at(-1)!.token!);
      const refused = await callAs('ada');
      assert.equal(refused.isError, true);
      assert.match(textOf(refused), /must be connected again/);
      const link = linkIn(textOf(refused));
      assert.ok(link, textOf(refused));
      const adas = (await ownConnection('ada'))!;
      const view = await asPerson('ada', 'GET', `${WS}/connections/${adas.id}`);
      assert.equal(view.body.oauth.state, 'reconnect-required');
      // Bob is still served with his own connection meanwhile.
      assert.deepEqual((await callAs('bob')).structuredContent, { account: 'bob', client: CLIENT_ID });
      const path = new URL(link).pathname;
      assert.equal((await browsers.bob.post(path, {})).status, 403, "bob's browser cannot reconnect ada's connection");
      assert.equal((await browsers.adm.post(path, {})).status, 403, 'nor an admin');
      assert.equal((await connectThrough(link, 'ada', 'ada')).status, 200);
      assert.deepEqual((await callAs('ada')).structuredContent, { account: 'ada', client: CLIENT_ID });
    });

    it('sends a client that declared URL-mode elicitation to the connect link with -32042', async () => {
      const adas = (await ownConnection('ada'))!;
      assert.equal((await app.call('DELETE', `${WS}/connections/${adas.id}`)).status, 204);
      const token = mcp.ada.oauth.tokens()!.access_token;
      const post = (body: object, session?: string) =>
        fetch(`${base}/mcp/default/mine`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...(session ? { 'mcp-session-id': session } : {}),
          },
          body: JSON.stringify(body),
        });
      for (const capabilities of [{ elicitation: { url: {} } }, { elicitation: { form: {} } }]) {
        const init = await post({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-11-25', capabilities, clientInfo: { name: 'raw', version: '1' } },
        });
        assert.equal(init.status, 200);
        const session = init.headers.get('mcp-session-id')!;
        const called = await post(
          { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoAmI', arguments: {} } },
          session,
        );
        const answer = (await called.json()) as {
          error?: { code: number; data: { elicitations: { mode: string; url: string; elicitationId: string }[] } };
          result?: CallToolResult;
        };
        if ('url' in capabilities.elicitation) {
          assert.equal(answer.error?.code, -32042, JSON.stringify(answer));
          const [elicitation] = answer.error.data.elicitations;
          assert.equal(elicitation!.mode, 'url');
          assert.match(elicitation!.url, new RegExp(`^${base}/oauth/connect/`));
          assert.ok(elicitation!.elicitationId);
        } else {
          assert.equal(answer.result?.isError, true, JSON.stringify(answer));
          assert.ok(linkIn(textOf(answer.result)), 'without URL mode: the link in the tool error');
        }
      }
    });

    it('drops the connections of a person removed from the workspace, and their calls stop', async () => {
      const bobs = (await ownConnection('bob'))!;
      const removed = await app.call('DELETE', `${WS}/members/${ids.bob}`);
      assert.equal(removed.status, 204, removed.text);
      assert.equal((await app.call('GET', `${WS}/connections/${bobs.id}`)).status, 404);
      const tokens = await app.db.kysely
        .selectFrom('connection_tokens')
        .select('connection_id')
        .where('connection_id', '=', bobs.id)
        .execute();
      assert.equal(tokens.length, 0, "bob's tokens are gone with his connection");
      provider.apiCalls.length = 0;
      await assert.rejects(callAs('bob'));
      assert.equal(provider.apiCalls.length, 0);
    });
  });
}
