// Managed upstream OAuth in the web console, in Chromium against a real authorization server (npm oidc-provider,
// with a sign-in form of its own): a person clicks Connect on a connection's page, signs in at the provider, comes
// back and sees Connected; a revoked grant shows Reconnect required and Reconnect works; a connect link for someone
// else is shown with its expiry and copied; a failing token endpoint shows Degraded; client credentials show their
// token state without a button; the list shows each connection's OAuth state as a badge. Every page is checked (axe, labels, 390 px) in each state.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { launchChromium } from './support/chromium.js';
import { ensureConsoleBuilt } from './support/console-build.js';
import { checkPage, withPage } from './support/console-page.js';
import { freePort } from './support/oauth-flow.js';
import { CLIENT_ID, CLIENT_SECRET, startOAuthUpstream, type OAuthUpstream } from './support/oauth-upstream.js';
import { inviteAndJoin } from './support/people.js';
import { OWNER_KEY, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';

// The console talks only to the native API, whose storage behaviour the API tests cover on both stores (and
// test/upstream-oauth.test.ts covers the OAuth engine on both): the browser tests run on SQLite.
const WS = '/api/v1/workspaces/default';
const HOUR_MS = 3600_000;
const ADA = { email: 'ada@example.com', password: 'a password long enough' };

describe('managed upstream OAuth in the console, in Chromium', () => {
  let offsetMs = 0;
  const clock = { now: () => new Date(Date.now() + offsetMs).toISOString() };
  let app: TestApp;
  let provider: OAuthUpstream;
  let browser: Browser;
  let base: string;
  let agentSecret: string;
  const ids: Record<string, number> = {};

  before(async () => {
    ensureConsoleBuilt();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    provider = await startOAuthUpstream(`${base}/oauth/callback`);
    provider.signInForm = true;
    app = await startTestApp('sqlite', { clock, env: { PUBLIC_URL: base } });
    await app.server.listen({ port, host: '127.0.0.1' });
    await inviteAndJoin(app, { email: ADA.email, role: 'editor', password: ADA.password, origin: base });
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
              config: {
                authorizeUrl: `${provider.issuer}/auth`,
                tokenUrl: `${provider.issuer}/token`,
                issuer: provider.issuer,
                clientId: CLIENT_ID,
                clientSecret: CLIENT_SECRET,
                scopes: 'read',
              },
            },
          ],
        },
      });
      assert.equal(connector.status, 201, connector.text);
      const connection = await app.call('POST', `${WS}/connections`, {
        body: { connectorId: id, name: `${id}-main`, type: 'http' },
      });
      assert.equal(connection.status, 201, connection.text);
      ids[id] = connection.body.id;
      const toolset = await app.call('POST', `${WS}/toolsets`, {
        body: {
          name: id,
          spec: { schema: { type: 'OpenAPI', detail: provider.document() }, connectionId: connection.body.id },
        },
      });
      assert.equal(toolset.status, 201, toolset.text);
      await settledToolset(app, id);
    }
    // A connection without a connector: no OAuth, so no badge and no panel.
    const plain = await app.call('POST', `${WS}/connections`, { body: { name: 'plain', type: 'http' } });
    assert.equal(plain.status, 201, plain.text);
    const agent = await app.call('POST', `${WS}/access-clients`, { body: { name: 'agent', toolsets: ['*'] } });
    assert.equal(agent.status, 201, agent.text);
    agentSecret = agent.body.secret;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await provider?.close();
  });

  /** One tool call through the gateway, as an agent (the official MCP SDK client). */
  async function callTool(toolset = 'records'): Promise<CallToolResult> {
    const client = new Client({ name: 'console-oauth-agent', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp/default/${toolset}`), {
        requestInit: { headers: { authorization: `Bearer ${agentSecret}` } },
      }),
    );
    try {
      return (await client.callTool({ name: 'whoAmI', arguments: {} })) as CallToolResult;
    } finally {
      await client.close();
    }
  }
  const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;

  async function signInWithPassword(page: Page) {
    await page.goto(`${base}/console/`);
    await page.getByRole('link', { name: 'Sign in with your email and password' }).click();
    await page.getByLabel('Email').fill(ADA.email);
    await page.getByLabel('Password').fill(ADA.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }
  async function signInWithKey(page: Page) {
    await page.goto(`${base}/console/`);
    await page.getByLabel('API key').fill(OWNER_KEY);
    await page.getByLabel('API key').press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }
  const connectionPage = (id: number) => `${base}/console/w/default/connections/${id}`;
  const oauthPanel = (page: Page) => page.getByRole('region', { name: /^OAuth/ });
  /** The OAuth badge in the list's row of a connection. */
  const listBadge = (page: Page, name: string) =>
    page.getByRole('row').filter({ hasText: name }).getByTestId('oauth-state');

  /** At the provider's sign-in form: signs in as `account` and allows access. */
  async function signInAtProvider(page: Page, account: string) {
    await page.waitForURL(`${provider.issuer}/interaction/**`);
    await page.getByLabel('Username').fill(account);
    await Promise.all([
      page.waitForURL(`${base}/oauth/callback?**`),
      page.getByRole('button', { name: 'Sign in and allow' }).click(),
    ]);
    assert.match((await page.textContent('#connected')) ?? '', /is connected\. You can close this page\./);
  }

  it('shows every connection’s OAuth state in the list, and a connection never connected as Not connected', async () => {
    await withPage(browser, base, async (page) => {
      await signInWithPassword(page);
      await page.goto(`${base}/console/w/default/connections`);
      await page.getByRole('link', { name: 'records-main' }).waitFor();
      assert.equal(await listBadge(page, 'records-main').textContent(), 'Not connected');
      assert.equal(await listBadge(page, 'records-service-main').textContent(), 'No token yet');
      assert.equal(await listBadge(page, 'plain').count(), 0, 'no OAuth, no badge');
      await checkPage(page, 'oauth-list-not-connected');

      await page.goto(
        `${base}/console/w/default/connections/${(await app.call('GET', `${WS}/connections?q=plain`)).body.items[0].id}`,
      );
      await page.getByRole('heading', { name: 'Connection plain' }).waitFor();
      assert.equal(await oauthPanel(page).count(), 0, 'no OAuth panel on a connection without OAuth');
    });
  });

  it('connects from the connection’s page: Connect, sign in at the provider, back to the console, Connected', async () => {
    const before = provider.grants.authorization_code ?? 0;
    await withPage(browser, base, async (page) => {
      await signInWithPassword(page);
      await page.goto(connectionPage(ids.records!));
      const panel = oauthPanel(page);
      await panel.waitFor();
      assert.equal(await panel.getByTestId('oauth-state').textContent(), 'Not connected');
      assert.match((await panel.getByTestId('oauth-explained').textContent()) ?? '', /No one has connected/);
      await checkPage(page, 'oauth-connection-not-connected');

      await panel.getByRole('button', { name: 'Connect', exact: true }).click();
      await signInAtProvider(page, 'ada');
      await page.getByRole('link', { name: 'Back to the connection in the console' }).click();
      await page.waitForURL(connectionPage(ids.records!));
      await panel.getByTestId('oauth-state').filter({ hasText: 'Connected' }).waitFor();
      assert.match((await panel.getByTestId('oauth-explained').textContent()) ?? '', /refreshes it before it expires/);
      assert.equal(await panel.getByTestId('oauth-last-refresh').textContent(), 'Not yet');
      const expires = (await panel.getByTestId('oauth-expires').textContent()) ?? '';
      assert.ok(!Number.isNaN(Date.parse(expires)) || /\d/.test(expires), `an expiry time: ${expires}`);
      assert.equal(await panel.getByTestId('oauth-last-error').textContent(), 'None');
      assert.equal(await panel.getByRole('button', { name: 'Reconnect' }).count(), 1);
      await checkPage(page, 'oauth-connection-connected');
      await page.goto(`${base}/console/w/default/connections`);
      await listBadge(page, 'records-main').filter({ hasText: 'Connected' }).waitFor();
    });
    assert.equal(provider.grants.authorization_code, before + 1);
    const result = await callTool();
    assert.equal(result.isError, undefined, textOf(result));
    assert.deepEqual(result.structuredContent, { account: 'ada', client: CLIENT_ID });
  });

  it('shows a revoked grant as Reconnect required, with the provider’s error, and Reconnect works', async () => {
    await callTool();
    await provider.revokeGrantOf(provider.apiCalls.at(-1)!.token!);
    offsetMs += HOUR_MS;
    const refused = await callTool();
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), /must be connected again/);
    await withPage(browser, base, async (page) => {
      await signInWithPassword(page);
      await page.goto(`${base}/console/w/default/connections`);
      await listBadge(page, 'records-main').filter({ hasText: 'Reconnect required' }).waitFor();
      await checkPage(page, 'oauth-list-reconnect-required');
      await page.getByRole('link', { name: 'records-main' }).click();
      const panel = oauthPanel(page);
      await panel.getByTestId('oauth-state').filter({ hasText: 'Reconnect required' }).waitFor();
      assert.match((await panel.getByTestId('oauth-explained').textContent()) ?? '', /no longer accepts/);
      assert.match((await panel.getByTestId('oauth-last-error').textContent()) ?? '', /invalid_grant/);
      await checkPage(page, 'oauth-connection-reconnect-required');

      await panel.getByRole('button', { name: 'Reconnect' }).click();
      await signInAtProvider(page, 'grace');
      await page.getByRole('link', { name: 'Back to the connection in the console' }).click();
      await panel.getByTestId('oauth-state').filter({ hasText: 'Connected' }).waitFor();
      assert.equal(await panel.getByTestId('oauth-last-error').textContent(), 'None');
    });
    const result = await callTool();
    assert.equal(result.isError, undefined, textOf(result));
    assert.deepEqual(result.structuredContent, { account: 'grace', client: CLIENT_ID });
  });

  it('hands out a connect link for someone else, with its expiry and a copy button; they connect without an account', async () => {
    let link = '';
    await withPage(browser, base, async (page) => {
      await signInWithPassword(page);
      await page.goto(connectionPage(ids.records!));
      const panel = oauthPanel(page);
      await panel.getByRole('button', { name: 'Get a connect link for someone else' }).click();
      const shown = panel.getByRole('status', { name: 'Connect link' });
      link = ((await shown.getByTestId('connect-link').textContent()) ?? '').trim();
      assert.match(link, new RegExp(`^${base}/oauth/connect/[\\w-]{20,}$`));
      assert.match((await shown.textContent()) ?? '', /It works once, until .*\d/);
      await shown.getByRole('button', { name: 'Copy connect link' }).click();
      await shown.getByRole('button', { name: 'Copied' }).waitFor();
      assert.equal(await page.evaluate('navigator.clipboard.readText()'), link);
      await checkPage(page, 'oauth-connect-link');
      await shown.getByRole('button', { name: 'Hide the link' }).click();
      assert.equal(await shown.count(), 0);
    });
    // Someone else, in a browser of their own, with no plugboard account.
    await withPage(browser, base, async (page) => {
      await page.goto(link);
      await page.getByRole('button', { name: 'Connect' }).click();
      await signInAtProvider(page, 'carol');
      assert.equal(await page.locator('#back').count(), 0, 'no way into the console for someone sent a link');
    });
    const result = await callTool();
    assert.deepEqual(result.structuredContent, { account: 'carol', client: CLIENT_ID });
  });

  it('connects in the console signed in with an API key: through a connect link bound to this browser', async () => {
    await withPage(browser, base, async (page) => {
      await signInWithKey(page);
      await page.goto(connectionPage(ids.records!));
      await oauthPanel(page).getByRole('button', { name: 'Reconnect' }).click();
      await page.waitForURL(`${base}/oauth/connect/**`);
      await page.getByRole('button', { name: 'Connect' }).click();
      await signInAtProvider(page, 'dora');
    });
    assert.deepEqual((await callTool()).structuredContent, { account: 'dora', client: CLIENT_ID });
  });

  it('shows Degraded with the provider’s error while its token endpoint fails, and Connected once it answers', async () => {
    offsetMs += HOUR_MS;
    provider.failTokenRequests = 100;
    try {
      const failed = await callTool();
      assert.equal(failed.isError, true);
    } finally {
      provider.failTokenRequests = 0;
    }
    await withPage(browser, base, async (page) => {
      await signInWithPassword(page);
      await page.goto(connectionPage(ids.records!));
      const panel = oauthPanel(page);
      await panel.getByTestId('oauth-state').filter({ hasText: 'Degraded' }).waitFor();
      assert.match((await panel.getByTestId('oauth-explained').textContent()) ?? '', /tries again on the next call/);
      assert.match((await panel.getByTestId('oauth-last-error').textContent()) ?? '', /HTTP 503/);
      await checkPage(page, 'oauth-connection-degraded');
      assert.equal((await callTool()).isError, undefined);
      await page.reload();
      await panel.getByTestId('oauth-state').filter({ hasText: 'Connected' }).waitFor();
      assert.equal(await panel.getByTestId('oauth-last-error').textContent(), 'None');
    });
  });

  it('shows a client-credentials connection’s token state without a connect button', async () => {
    await withPage(browser, base, async (page) => {
      await signInWithPassword(page);
      await page.goto(connectionPage(ids['records-service']!));
      const panel = oauthPanel(page);
      await panel.getByRole('heading', { name: 'OAuth token (client credentials)' }).waitFor();
      assert.equal(await panel.getByTestId('oauth-state').textContent(), 'No token yet');
      assert.match((await panel.getByTestId('oauth-explained').textContent()) ?? '', /on the first tool call/);
      assert.equal(await panel.getByRole('button').count(), 0, 'nothing for a person to connect');
      await checkPage(page, 'oauth-client-credentials-no-token');
      const first = await callTool('records-service');
      assert.equal(first.isError, undefined, textOf(first));
      await page.reload();
      await panel.getByTestId('oauth-state').filter({ hasText: 'Connected' }).waitFor();
      assert.match((await panel.getByTestId('oauth-explained').textContent()) ?? '', /for the OAuth client/);
      assert.equal(await panel.getByRole('button').count(), 0);
    });
  });
});
