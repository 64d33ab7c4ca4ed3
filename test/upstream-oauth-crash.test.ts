// SIGKILL of a plugboard process in the middle of an upstream OAuth refresh, against a real authorization server (npm
// oidc-provider: rotated refresh tokens, a reused one revokes the whole grant). The server runs as a child process;
// its token URL is a gate in this test that holds the refresh at a chosen point while the process is killed:
// - before the provider has seen the request: after a restart the next call refreshes with the refresh token the
//   store still holds (the very one the killed refresh had sent), and it works;
// - after the provider answered (it rotated the refresh token) but before plugboard stored the answer: the rotated
//   token died with the process. The store still holds the one before it, which the provider now treats as reused:
//   it revokes the grant, and plugboard reports it (state reconnect-required, the provider's invalid_grant as the
//   last error, a connect link in the tool result), never a silent loss; connecting again works.
// On PostgreSQL the refresh holds the token row locked (SELECT … FOR UPDATE) while the provider is asked: the test
// sees it locked during the held refresh and free once the process is gone, before any restart.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createNode, type Node } from './support/nodes.js';
import { freePort } from './support/oauth-flow.js';
import { CLIENT_ID, CLIENT_SECRET, startOAuthUpstream, type OAuthUpstream } from './support/oauth-upstream.js';
import { ENGINES, OWNER_KEY, createTestStore, type TestStore } from './support/stores.js';

const WS = '/api/v1/workspaces/default';

type GateMode = 'forward' | 'hold-before-provider' | 'hold-after-provider';

/**
 * The connector's token URL: forwards token requests to the provider, or holds the next one (never answering it)
 * before or after the provider has handled it.
 */
interface TokenGate {
  readonly url: string;
  /** Holds the next token request at `mode`; resolves, once it is held, with the refresh token it carries. */
  hold(mode: Exclude<GateMode, 'forward'>): Promise<string | null>;
  /** The refresh token of every refresh request that reached the gate, in order. */
  readonly refreshTokens: (string | null)[];
  close(): Promise<void>;
}

async function startTokenGate(providerTokenUrl: string): Promise<TokenGate> {
  let mode: GateMode = 'forward';
  let release: (refreshToken: string | null) => void = () => {};
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const form = new URLSearchParams(body);
    const refreshToken = form.get('grant_type') === 'refresh_token' ? form.get('refresh_token') : null;
    if (refreshToken !== null) gate.refreshTokens.push(refreshToken);
    const now = mode;
    mode = 'forward';
    if (now === 'hold-before-provider') return release(refreshToken);
    const answer = await fetch(providerTokenUrl, {
      method: 'POST',
      headers: {
        'content-type': req.headers['content-type'] ?? 'application/x-www-form-urlencoded',
        accept: 'application/json',
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      },
      body,
    });
    const text = await answer.text();
    if (now === 'hold-after-provider') return release(refreshToken);
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(text);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const gate: TokenGate = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    hold(next) {
      mode = next;
      return new Promise<string | null>((resolve) => (release = resolve));
    },
    refreshTokens: [],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return gate;
}

for (const engine of ENGINES) {
  describe(`SIGKILL in the middle of an upstream OAuth refresh [${engine}]`, () => {
    let provider: OAuthUpstream;
    let gate: TokenGate;
    let store: TestStore;
    let node: Node;
    let connectionId: number;
    let agentSecret: string;

    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${node.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${OWNER_KEY}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, text, body: text === '' ? undefined : JSON.parse(text) };
    };
    /** One tool call through the gateway of the node (the official MCP SDK client). */
    async function callTool(): Promise<CallToolResult> {
      const client = new Client({ name: 'crash-agent', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${node.url}/mcp/default/records`), {
          requestInit: { headers: { authorization: `Bearer ${agentSecret}` } },
        }),
      );
      try {
        return (await client.callTool({ name: 'whoAmI', arguments: {} })) as CallToolResult;
      } finally {
        await client.close().catch(() => {});
      }
    }
    const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;
    /** Follows a connect link as a browser would: its page's POST, the provider, the callback with the cookie. */
    async function connectThrough(link: string) {
      const opened = await fetch(link, { method: 'POST', redirect: 'manual' });
      assert.equal(opened.status, 303, await opened.text());
      const cookie = /pb_connect=([^;]+)/.exec(opened.headers.get('set-cookie') ?? '')?.[1];
      assert.ok(cookie, 'the link binds the flow to this browser');
      const back = await provider.authorize(opened.headers.get('location')!);
      const finished = await fetch(back, { headers: { cookie: `pb_connect=${cookie}` } });
      assert.equal(finished.status, 200, await finished.text());
    }
    const oauthState = async () => (await call('GET', `${WS}/connections/${connectionId}`)).body.oauth;

    /**
     * Whether another transaction can take the token row's lock at once (PostgreSQL); it waits up to `waitMs` for
     * it to become free.
     */
    async function rowLockFree(waitMs: number): Promise<boolean> {
      const client = new pg.Client({ connectionString: store.env.DATABASE_URL });
      await client.connect();
      try {
        const deadline = Date.now() + waitMs;
        for (;;) {
          try {
            await client.query('begin');
            await client.query('select 1 from connection_tokens where connection_id = $1 for update nowait', [
              connectionId,
            ]);
            return true;
          } catch (error) {
            if ((error as { code?: string }).code !== '55P03') throw error;
            if (Date.now() >= deadline) return false;
          } finally {
            await client.query('rollback');
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await client.end();
      }
    }

    /** Starts a call that needs a refresh, waits until the gate holds it, and SIGKILLs the node there. */
    async function killMidRefresh(mode: Exclude<GateMode, 'forward'>): Promise<string | null> {
      const held = gate.hold(mode);
      const doomed = callTool().catch((error: unknown) => error);
      const sent = await held;
      if (engine === 'postgres') assert.equal(await rowLockFree(0), false, 'the refresh holds the token row locked');
      assert.equal(await node.stop('SIGKILL'), null, 'killed by the signal');
      await doomed;
      if (engine === 'postgres')
        assert.equal(await rowLockFree(5000), true, 'the dead process’s lock is released without a restart');
      return sent;
    }

    before(async () => {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      provider = await startOAuthUpstream(`${base}/oauth/callback`);
      gate = await startTokenGate(`${provider.issuer}/token`);
      store = await createTestStore(engine);
      node = createNode('refresh-crash', port, {
        ...store.env,
        PLUGBOARD_ADMIN_KEY: OWNER_KEY,
        PUBLIC_URL: base,
        RATE_LIMIT_WRITE_PER_SECOND: '0',
        RATE_LIMIT_READ_PER_SECOND: '0',
        RATE_LIMIT_GATEWAY_PER_SECOND: '0',
        // The provider's access tokens live an hour: with a two-hour margin every call refreshes first.
        OAUTH_REFRESH_MARGIN_SECONDS: '7200',
        OAUTH_REFRESH_ATTEMPTS: '1',
      });
      await node.start();
      const connector = await call('POST', `${WS}/connectors`, {
        id: 'records',
        name: 'records',
        baseUrl: provider.apiUrl,
        authSchemeConfigs: [
          {
            id: 'oauth',
            schemeType: 'oauth2-code',
            config: {
              authorizeUrl: `${provider.issuer}/auth`,
              tokenUrl: gate.url,
              issuer: provider.issuer,
              clientId: CLIENT_ID,
              clientSecret: CLIENT_SECRET,
              scopes: 'read',
            },
          },
        ],
      });
      assert.equal(connector.status, 201, connector.text);
      const connection = await call('POST', `${WS}/connections`, {
        connectorId: 'records',
        name: 'records-main',
        type: 'http',
      });
      assert.equal(connection.status, 201, connection.text);
      connectionId = connection.body.id;
      const toolset = await call('POST', `${WS}/toolsets`, {
        name: 'records',
        spec: { schema: { type: 'OpenAPI', detail: provider.document() }, connectionId },
      });
      assert.equal(toolset.status, 201, toolset.text);
      for (let i = 0; ; i++) {
        const view = await call('GET', `${WS}/toolsets/records`);
        if (view.body.status.observedGeneration === view.body.generation) break;
        assert.ok(i < 200, `the toolset did not install: ${view.text}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const agent = await call('POST', `${WS}/access-clients`, { name: 'agent', toolsets: ['*'] });
      assert.equal(agent.status, 201, agent.text);
      agentSecret = agent.body.secret;
      const started = await call('POST', `${WS}/connections/${connectionId}/connect`, { handOff: true });
      assert.equal(started.status, 200, started.text);
      await connectThrough(started.body.connectUrl);
      const first = await callTool();
      assert.equal(first.isError, undefined, textOf(first));
    });
    after(async () => {
      await node?.stop('SIGKILL');
      await gate?.close();
      await provider?.close();
      await store?.drop();
    });

    it('killed before the provider saw the refresh: after a restart the next call refreshes with the stored token and works', async () => {
      const refreshes = provider.grants.refresh_token ?? 0;
      const sent = await killMidRefresh('hold-before-provider');
      assert.ok(sent, 'the killed refresh had sent a refresh token');
      assert.equal(provider.grants.refresh_token ?? 0, refreshes, 'the provider never saw it');
      await node.start();
      assert.equal((await oauthState()).state, 'connected');
      const result = await callTool();
      assert.equal(result.isError, undefined, textOf(result));
      assert.deepEqual(result.structuredContent, { account: 'ada', client: CLIENT_ID });
      assert.equal(gate.refreshTokens.at(-1), sent, 'the next refresh used the refresh token the store held');
      assert.equal(provider.grants.refresh_token, refreshes + 1);
      // And the token that refresh rotated in was stored: the one after works too (a reused one would revoke all).
      const again = await callTool();
      assert.equal(again.isError, undefined, textOf(again));
      assert.notEqual(gate.refreshTokens.at(-1), sent);
      assert.equal((await oauthState()).lastError, null);
    });

    it('killed after the provider rotated the refresh token but before it was stored: reported as reconnect-required, never silent', async () => {
      const refreshes = provider.grants.refresh_token ?? 0;
      const sent = await killMidRefresh('hold-after-provider');
      assert.equal(provider.grants.refresh_token, refreshes + 1, 'the provider rotated it');
      await node.start();
      const before = await oauthState();
      assert.equal(before.state, 'connected', 'nothing was written by the killed refresh');
      const result = await callTool();
      assert.equal(gate.refreshTokens.at(-1), sent, 'the next refresh used the refresh token the store held');
      assert.equal(result.isError, true);
      const link = /Open (http:\/\/\S+\/oauth\/connect\/[\w-]+) to connect it/.exec(textOf(result))?.[1];
      assert.ok(link, textOf(result));
      assert.match(textOf(result), /must be connected again/);
      const after = await oauthState();
      assert.equal(after.state, 'reconnect-required');
      assert.match(after.lastError, /invalid_grant/);
      assert.ok(after.lastErrorAt);

      // The link in the tool result is for someone signed in who may change the connection (not the agent that
      // called); here an API key hands out a link of its own, as a script would.
      const anonymous = await fetch(link, { method: 'POST', redirect: 'manual' });
      assert.equal(anonymous.status, 403, await anonymous.text());
      const handedOut = await call('POST', `${WS}/connections/${connectionId}/connect`, { handOff: true });
      assert.equal(handedOut.status, 200, JSON.stringify(handedOut.body));
      await connectThrough(handedOut.body.connectUrl);
      const works = await callTool();
      assert.equal(works.isError, undefined, textOf(works));
      assert.equal((await oauthState()).state, 'connected');
    });
  });
}
