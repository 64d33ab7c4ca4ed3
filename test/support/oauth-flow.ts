// The OAuth flows of the tests: a free port for a server that must know its PUBLIC_URL before it listens.
import { createServer } from 'node:net';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallbackServer, MemoryOAuthProvider } from './oauth-clients.js';

/** A port nothing listens on right now (the app then listens on it, its PUBLIC_URL naming it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What the consent page showed, by the ids of its fields. */
export interface ConsentSeen {
  readonly clientName: string;
  readonly logoHost: string;
  readonly redirectHost: string;
  readonly toolset: string;
  /** Each scope asked for, and whether the page offers it. */
  readonly scopes: readonly { scope: string; granted: boolean }[];
}

/**
 * A person in Chromium: opens the authorization URL, signs in on plugboard's sign-in page, reads the consent page
 * and approves (or denies); returns the query the browser brought back to the client's redirect URI.
 */
export async function consentInBrowser(
  chromium: Browser,
  authorizationUrl: URL,
  person: { email: string; password: string },
  callback: CallbackServer,
  decision: 'approve' | 'deny' = 'approve',
): Promise<{ query: URLSearchParams; seen: ConsentSeen }> {
  const context = await chromium.newContext();
  try {
    const page = await context.newPage();
    const arrival = callback.next();
    await page.goto(authorizationUrl.href);
    // Under PUBLIC_URL's path prefix, if it has one (…/plugboard/auth/sign-in).
    assert.match(
      new URL(page.url()).pathname,
      /^(\/[^/]+)*\/auth\/sign-in$/,
      'a person who is not signed in signs in first',
    );
    await page.fill('#email', person.email);
    await page.fill('#password', person.password);
    await Promise.all([page.waitForURL(/\/oauth\/interaction\//), page.click('button[type=submit]')]);
    const text = async (selector: string) => (await page.textContent(selector))?.trim() ?? '';
    const seen: ConsentSeen = {
      clientName: await text('#client-name'),
      logoHost: await text('#logo-host'),
      redirectHost: await text('#redirect-host'),
      toolset: await text('#toolset'),
      scopes: await Promise.all(
        (await page.locator('#scopes li').all()).map(async (li) => ({
          scope: (await li.getAttribute('data-scope')) ?? '',
          granted: !((await li.getAttribute('class')) ?? '').includes('refused'),
        })),
      ),
    };
    await page.click(`#${decision}`);
    return { query: await arrival, seen };
  } finally {
    await context.close();
  }
}

/**
 * A person in Chromium opens an authorization URL the server must refuse without sending the browser anywhere (an
 * unknown client, a redirect URI not registered): returns the error code its page shows and where the browser is.
 */
export async function refusedInBrowser(chromium: Browser, authorizationUrl: URL): Promise<{ error: string; at: URL }> {
  const context = await chromium.newContext();
  try {
    const page = await context.newPage();
    const response = await page.goto(authorizationUrl.href);
    assert.equal(response?.status(), 400, 'the authorization endpoint refuses the request itself');
    return { error: (await page.textContent('main code'))?.trim() ?? '', at: new URL(page.url()) };
  } finally {
    await context.close();
  }
}

/** The SDK client transport of an MCP URL: Streamable HTTP (`/mcp/…`), or the legacy HTTP+SSE one (`/sse/…`). */
export type TransportKind = 'streamable-http' | 'sse';

export function sdkTransport(kind: TransportKind, url: string, provider: MemoryOAuthProvider) {
  return kind === 'sse'
    ? new SSEClientTransport(new URL(url), { authProvider: provider })
    : new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
}

/**
 * The official SDK client's OAuth flow against an MCP URL: the first connect is refused and hands the
 * authorization URL to `authorize` (the browser step), which returns the code; the transport finishes the flow
 * and a new connection goes through with the tokens.
 */
export async function connectWithOAuth(
  url: string,
  provider: MemoryOAuthProvider,
  authorize: (authorizationUrl: URL) => Promise<URLSearchParams>,
  kind: TransportKind = 'streamable-http',
): Promise<Client> {
  const first = sdkTransport(kind, url, provider);
  await assert.rejects(new Client({ name: 'oauth-test', version: '1.0.0' }).connect(first), UnauthorizedError);
  assert.ok(provider.authorizationUrl, 'the client was sent to the authorization endpoint');
  const query = await authorize(provider.authorizationUrl);
  const code = query.get('code');
  assert.ok(code, `the authorization response carries a code: ${query.toString()}`);
  await first.finishAuth(code);
  const client = new Client({ name: 'oauth-test', version: '1.0.0' });
  await client.connect(sdkTransport(kind, url, provider));
  return client;
}
