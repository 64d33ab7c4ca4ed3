// plugboard with its authorization server on a real port, as the OAuth tests use it: a toolset `shop` over the
// test upstream API, people who joined by invitation, the redirect target of clients and a headless Chromium for
// their sign-in and consent; and the MCP requests a test sends with a bare bearer token.
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { Logger } from 'pino';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Clock } from '../../src/services/clock.js';
import { launchChromium } from './chromium.js';
import { MemoryOAuthProvider, startCallbackServer, type CallbackServer } from './oauth-clients.js';
import { connectWithOAuth, consentInBrowser, freePort } from './oauth-flow.js';
import { inviteAndJoin } from './people.js';
import { startTestApp, type Engine, type TestApp } from './stores.js';
import { settledToolset } from './toolsets.js';
import { startUpstreamApi, type UpstreamApi } from './upstream-api.js';

export interface Person {
  readonly email: string;
  readonly password: string;
  readonly role: string;
}

export interface OAuthTestServer {
  readonly app: TestApp;
  /** PUBLIC_URL: `http://127.0.0.1:{port}`, where the app listens. */
  readonly base: string;
  /** The Streamable HTTP endpoint of the toolset `shop`. */
  readonly mcpUrl: string;
  readonly upstream: UpstreamApi;
  readonly callback: CallbackServer;
  readonly chromium: Browser;
  /** The user id of each person, by email. */
  readonly userIds: ReadonlyMap<string, string>;
  /** A client the SDK registers dynamically (RFC 7591) under `name`. */
  registeringClient(name: string): MemoryOAuthProvider;
  /** The SDK client's OAuth flow, `person` signing in and approving in Chromium; connected to `url`. */
  connect(provider: MemoryOAuthProvider, person: Person, url?: string): Promise<Client>;
  close(): Promise<void>;
}

export async function startOAuthTestServer(
  engine: Engine,
  options: {
    people: readonly Person[];
    /** Settings, or a function of the clients' redirect URI giving them (for OAUTH_CLIENTS). */
    env?: Record<string, string> | ((redirectUri: string) => Record<string, string>);
    clock?: Clock;
    logger?: Logger;
    trustedCaCertificates?: readonly string[];
  },
): Promise<OAuthTestServer> {
  const upstream = await startUpstreamApi();
  const callback = await startCallbackServer();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await startTestApp(engine, {
    // Every flow signs a person in from 127.0.0.1: more than the default 10 a minute of one address.
    env: {
      PUBLIC_URL: base,
      SIGN_IN_PER_MINUTE: '100',
      ...(typeof options.env === 'function' ? options.env(callback.url) : options.env),
    },
    clock: options.clock,
    logger: options.logger,
    trustedCaCertificates: options.trustedCaCertificates,
  });
  await app.server.listen({ port, host: '127.0.0.1' });
  const created = await app.call('POST', '/api/v1/workspaces/default/toolsets', {
    body: { name: 'shop', spec: { schema: { type: 'OpenAPI', detail: upstream.document() } } },
  });
  assert.equal(created.status, 201, created.text);
  await settledToolset(app, 'shop');
  const userIds = new Map<string, string>();
  for (const person of options.people)
    userIds.set(person.email, (await inviteAndJoin(app, { ...person, origin: base })).userId);
  const chromium = await launchChromium();
  const mcpUrl = `${base}/mcp/default/shop`;
  return {
    app,
    base,
    mcpUrl,
    upstream,
    callback,
    chromium,
    userIds,
    registeringClient: (name) =>
      new MemoryOAuthProvider(callback.url, {
        client_name: name,
        redirect_uris: [callback.url],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      }),
    connect: (provider, person, url = mcpUrl) =>
      connectWithOAuth(url, provider, async (at) => (await consentInBrowser(chromium, at, person, callback)).query),
    async close() {
      await chromium.close();
      await app.stop();
      await upstream.close();
      await callback.close();
    },
  };
}

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/**
 * An MCP `initialize` with a bare bearer token, as any client sends it first: its status, its WWW-Authenticate,
 * and the session it opened (when 200).
 */
export async function initializeWith(url: string, token: string) {
  const answer = await fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  await answer.body?.cancel();
  return {
    status: answer.status,
    challenge: answer.headers.get('www-authenticate'),
    session: answer.headers.get('mcp-session-id'),
  };
}

/** The token endpoint's answer to a refresh (a public client: its id, no secret). */
export async function refreshWith(base: string, clientId: string, refreshToken: string) {
  const answer = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId }),
  });
  return { status: answer.status, body: (await answer.json()) as Record<string, string> };
}
