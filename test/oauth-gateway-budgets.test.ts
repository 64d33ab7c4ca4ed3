// A call through an OAuth client is a user's call through that client: the gateway's rate budget is per user and
// client (two people on one client, or one person on two clients, spend separate budgets), and the log line of
// each tool call names the user, the client and the tool. Three official SDK clients, each approved in Chromium.
// SQLite only: budgets live in the rate limiter and lines in the log, not in the store.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { MemoryOAuthProvider } from './support/oauth-clients.js';
import { startOAuthTestServer, type OAuthTestServer, type Person } from './support/oauth-app.js';

const ADA = { email: 'ada@example.com', password: 'correct horse battery', role: 'editor' };
const BEN = { email: 'ben@example.com', password: 'another long password', role: 'editor' };
const IDE = 'team-ide';
const AGENT = 'cli-agent';
const BURST = 20;

describe('OAuth callers at the gateway: budgets and log lines per user and client [sqlite]', () => {
  let server: OAuthTestServer;
  let log = '';
  const clients = new Map<string, { client: Client; provider: MemoryOAuthProvider }>();

  before(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        log += String(chunk);
        done();
      },
    });
    server = await startOAuthTestServer('sqlite', {
      people: [ADA, BEN],
      logger: pino({ level: 'info' }, sink),
      env: (redirectUri) => ({
        // One a second after a burst: a loop of calls spends a budget long before it refills.
        RATE_LIMIT_GATEWAY_PER_SECOND: '1',
        RATE_LIMIT_GATEWAY_BURST: String(BURST),
        OAUTH_CLIENTS: JSON.stringify(
          [IDE, AGENT].map((id) => ({ client_id: id, client_name: id, redirect_uris: [redirectUri] })),
        ),
      }),
    });
    for (const [person, clientId] of [
      [ADA, IDE],
      [BEN, IDE],
      [ADA, AGENT],
    ] as [Person, string][]) {
      const provider = MemoryOAuthProvider.preRegistered(server.callback.url, { client_id: clientId });
      clients.set(`${person.email} ${clientId}`, { client: await server.connect(provider, person), provider });
    }
  });
  after(async () => {
    for (const { client } of clients.values()) await client.close();
    await server?.close();
  });

  const of = (person: Person, clientId: string) => clients.get(`${person.email} ${clientId}`)!;

  it('logs each tool call with the user, the client and the tool, and never the token', async () => {
    for (const [person, clientId] of [
      [ADA, IDE],
      [BEN, IDE],
      [ADA, AGENT],
    ] as [Person, string][]) {
      const { client } = of(person, clientId);
      const result = await client.callTool({ name: 'getItem', arguments: { id: `${person.email} ${clientId}` } });
      assert.equal(result.isError, undefined, JSON.stringify(result));
    }
    const lines = log
      .split('\n')
      .filter((line) => line.includes('tool call by an OAuth client'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      lines.map(({ userId, clientId, workspaceId, toolset, tool }) => ({
        userId,
        clientId,
        workspaceId,
        toolset,
        tool,
      })),
      [
        [ADA, IDE],
        [BEN, IDE],
        [ADA, AGENT],
      ].map(([person, clientId]) => ({
        userId: server.userIds.get((person as Person).email),
        clientId,
        workspaceId: 'default',
        toolset: 'shop',
        tool: 'getItem',
      })),
    );
    assert.ok(
      lines.every((line) => typeof line.grantId === 'string' && line.grantId !== ''),
      'and the grant',
    );
    for (const { provider } of clients.values()) {
      const { access_token: accessToken, refresh_token: refreshToken } = provider.tokens()!;
      assert.ok(!log.includes(accessToken) && !log.includes(refreshToken!), 'no token in the log');
    }
  });

  it('gives each user of a client, and each client of a user, a budget of its own', async () => {
    const spent = of(ADA, IDE).client;
    let refusal: Error | undefined;
    for (let i = 0; i < BURST * 2 && !refusal; i++) await spent.listTools().catch((error: Error) => (refusal = error));
    assert.ok(refusal, `Ada's budget through ${IDE} runs out`);
    assert.equal((refusal as Error & { code?: number }).code, 429, refusal.message);
    assert.match(refusal.message, /Too many calls by this user through OAuth client/);
    // Had they shared Ada's budget, the next calls would be refused too (a unit comes back only after a second).
    assert.ok((await of(BEN, IDE).client.listTools()).tools.length > 0, `Ben through ${IDE} is not refused`);
    assert.ok((await of(ADA, AGENT).client.listTools()).tools.length > 0, `nor Ada through ${AGENT}`);
  });
});
