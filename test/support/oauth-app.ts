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
  /** Stops the app and starts it again on the same store, port and settings, but for `changed` ones. */
  restart(changed: Record<string, string>): Promise<void>;
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
  const env = {
    PUBLIC_URL: base,
    // Every flow signs a person in from 127.0.0.1: more than the default 10 a minute of one address.
    SIGN_IN_PER_MINUTE: '100',
    ...(typeof options.env === 'function' ? options.env(callback.url) : options.env),
  };
  const start = async (store?: TestApp['store'], changed: Record<string, string> = {}) => {
    const started = await startTestApp(engine, {
      env: { ...env, ...changed },
      clock: options.clock,
      logger: options.logger,
      trustedCaCertificates: options.trustedCaCertificates,
      store,
    });
    await started.server.listen({ port, host: '127.0.0.1' });
    return started;
  };
  let app = await start();
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
    get app() {
      return app;
    },
    async restart(changed) {
      // As a process that stops: its connections end with it (after an OAuth flow, connections with no request in
      // flight otherwise held the close for about 70 s).
      const closing = app.close();
      app.server.server.closeAllConnections();
      await closing;
      app = await start(app.store, changed);
    },
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
