// People and OAuth clients in the web console, in Chromium with the official MCP SDK client: the new-user scenario of
// issue 23 end to end (an owner invites a colleague, who joins, connects an MCP client with OAuth, approves it and
// calls a tool; the owner sees the grant and the call, revokes it, and the client's next call is refused), a person
// revoking their own connected client, and what a viewer sees (no grants screen; the API's 403 in words).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { launchChromium } from './support/chromium.js';
import { ensureConsoleBuilt } from './support/console-build.js';
import { checkPage, withPage } from './support/console-page.js';
import { MemoryOAuthProvider, startCallbackServer, type CallbackServer } from './support/oauth-clients.js';
import { connectWithOAuth, freePort } from './support/oauth-flow.js';
import { inviteAndJoin } from './support/people.js';
import { OWNER_KEY, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';
import { startUpstreamApi, type UpstreamApi } from './support/upstream-api.js';

// The console talks only to the native API, whose storage behaviour the API tests cover on SQLite and PostgreSQL
// alike: the browser tests run on SQLite.
const WS = '/api/v1/workspaces/default';
const CLIPBOARD = 'navigator.clipboard.readText()';
const ADA = { email: 'ada@example.com', name: 'Ada Lovelace', password: 'a password long enough' };

describe('people and OAuth clients in the console, in Chromium', () => {
  let app: TestApp;
  let upstream: UpstreamApi;
  let callback: CallbackServer;
  let browser: Browser;
  let base: string;
  let shopUrl: string;

  before(async () => {
    ensureConsoleBuilt();
    upstream = await startUpstreamApi();
    callback = await startCallbackServer();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    app = await startTestApp('sqlite', { env: { PUBLIC_URL: base } });
    await app.server.listen({ port, host: '127.0.0.1' });
    const created = await app.call('POST', `${WS}/toolsets`, {
      body: { name: 'shop', spec: { schema: { type: 'OpenAPI', detail: upstream.document() } } },
    });
    assert.equal(created.status, 201, created.text);
    await settledToolset(app, 'shop');
    shopUrl = `${base}/mcp/default/shop`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await upstream?.close();
    await callback?.close();
  });

  const clientMetadata = (name: string) => ({
    client_name: name,
    redirect_uris: [callback.url],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  });

  async function signInWithKey(page: Page) {
    await page.goto(`${base}/console/`);
    await page.getByLabel('API key').fill(OWNER_KEY);
    await page.getByLabel('API key').press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  /** The password form, as a person who already has an account. */
  async function signInWithPassword(page: Page, email: string, password: string) {
    await page.goto(`${base}/console/`);
    await page.getByRole('link', { name: 'Sign in with your email and password' }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  /**
   * The SDK client's OAuth flow, its browser step in the signed-in person's own browser profile: already signed in,
   * they land on the consent page and approve.
   */
  async function connectAndApprove(context: BrowserContext, provider: MemoryOAuthProvider): Promise<Client> {
    return connectWithOAuth(shopUrl, provider, async (url) => {
      const arrival = callback.next();
      const consent = await context.newPage();
      try {
        await consent.goto(url.href);
        assert.match(new URL(consent.url()).pathname, /^\/oauth\/interaction\//, 'signed in: straight to consent');
        assert.equal((await consent.textContent('#client-name'))?.trim(), provider.clientMetadata.client_name);
        await consent.click('#approve');
        return await arrival;
      } finally {
        await consent.close();
      }
    });
  }

  /** An MCP request with a bare access token: its HTTP status (the SDK client would start a new sign-in on 401). */
  async function statusWithToken(token: string): Promise<number> {
    const answer = await fetch(shopUrl, {
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
    await answer.body?.cancel();
    return answer.status;
  }

  it('takes a new colleague from an invitation to an approved MCP client, which the owner sees and revokes', async () => {
    await withPage(
      browser,
      base,
      async (owner) => {
        await signInWithKey(owner);
        await owner.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Members' }).click();
        await owner.getByRole('heading', { name: 'Members', level: 1 }).waitFor();
        await owner.locator('table.members td[data-label="Role"]').getByText('owner', { exact: true }).waitFor();
        await owner.getByText('No invitations yet.').waitFor();
        await checkPage(owner, 'members');

        // The API's refusal, in words, beside the field.
        await owner.getByLabel('Email').fill('ada at example.com');
        await owner.getByLabel('Role', { exact: true }).selectOption('editor');
        await owner.getByRole('button', { name: 'Create invitation link' }).click();
        await owner.getByText('must be an e-mail address, such as ada@example.com').waitFor();
        await checkPage(owner, 'members-invite-error');

        await owner.getByLabel('Email').fill(ADA.email);
        await owner.getByRole('button', { name: 'Create invitation link' }).click();
        const shown = owner.getByRole('alert', { name: 'Invitation link' });
        await shown.waitFor();
        const link = (await owner.getByTestId('invitation-url').textContent())!.trim();
        assert.match(link, new RegExp(`^${base}/auth/invitations/pbi_`));
        assert.match((await shown.textContent()) ?? '', /shown only this once, and works once, until/);
        await owner.getByRole('button', { name: 'Copy invitation link' }).click();
        await owner.getByRole('button', { name: 'Copied' }).waitFor();
        assert.equal(await owner.evaluate(CLIPBOARD), link);
        const pending = owner.locator('table.invitations tr', { hasText: ADA.email });
        await pending.getByText('pending').waitFor();
        await checkPage(owner, 'members-invited');
        await owner.getByRole('button', { name: 'I have sent it: hide the link' }).click();
        assert.equal(await owner.getByTestId('invitation-url').count(), 0, 'the link is gone for good');

        let client: Client | undefined;
        let token = '';
        const provider = new MemoryOAuthProvider(callback.url, clientMetadata("Ada's agent"));
        await withPage(browser, base, async (ada, context) => {
          await ada.goto(link);
          await ada.getByLabel('Your name').fill(ADA.name);
          await ada.getByLabel('Choose a password').fill(ADA.password);
          await ada.getByRole('button', { name: 'Join' }).click();
          await ada.locator('.who').getByText(`${ADA.name} (editor)`).waitFor();
          await ada.getByRole('link', { name: 'Your connected clients' }).click();
          await ada.getByText('You have not connected any client.').waitFor();
          await checkPage(ada, 'connected-clients-empty');

          client = await connectAndApprove(context, provider);
          const { tools } = await client.listTools();
          assert.ok(tools.some((t) => t.name === 'getItem'));
          const result = await client.callTool({ name: 'getItem', arguments: { id: 'first' } });
          assert.equal(result.isError, undefined, JSON.stringify(result));
          assert.equal((result.structuredContent as { id: string }).id, 'first');
          token = provider.tokens()!.access_token;

          await ada.reload();
          const row = ada.locator('table.grants tr', { hasText: "Ada's agent" });
          await row.getByText('List and call tools').waitFor();
          assert.match((await row.textContent()) ?? '', /registered as /);
          assert.doesNotMatch((await row.locator('td[data-label="Last token"]').textContent()) ?? '', /never/);
          await checkPage(ada, 'connected-clients');
        });

        // The invitation was used: it says so, and offers no withdraw.
        await owner.reload();
        await owner
          .locator('table.invitations tr', { hasText: ADA.email })
          .getByText('accepted', { exact: true })
          .waitFor();
        await owner
          .locator('table.members')
          .getByRole('button', { name: `Remove ${ADA.name}` })
          .waitFor();

        await owner.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'OAuth grants' }).click();
        const grant = owner.locator('table.grants tr', { hasText: "Ada's agent" });
        await grant.getByText(ADA.name).waitFor();
        await checkPage(owner, 'oauth-grants');

        await owner.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Audit' }).click();
        const call = owner.locator('ol.timeline li', { hasText: 'shop/getItem' }).first();
        await call.waitFor();
        assert.match((await call.textContent()) ?? '', new RegExp(ADA.name));

        await owner.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'OAuth grants' }).click();
        await grant.getByRole('button', { name: "Revoke Ada's agent" }).click();
        const dialog = owner.getByRole('dialog', { name: "Revoke Ada's agent's access to shop?" });
        await dialog.getByText(`for ${ADA.name}`).waitFor();
        await dialog.getByRole('button', { name: 'Revoke access' }).click();
        await owner.getByRole('status').getByText('Revoked 1 grant.').waitFor();
        await owner.getByText('No member has connected an OAuth client here.').waitFor();

        assert.equal(await statusWithToken(token), 401, 'the access token died with its grant');
        // Refused (401) and its refresh token refused too: the SDK client is sent back to the authorization endpoint.
        const before = provider.authorizationUrl?.href;
        await assert.rejects(client!.callTool({ name: 'getItem', arguments: { id: 'first' } }), UnauthorizedError);
        assert.notEqual(provider.authorizationUrl?.href, before, 'a new authorization request, not a refresh');
        await client!.close();
      },
      { expectedStatuses: [400] },
    );
  });

  it('lets a person revoke their own connected client, which is refused from its next call', async () => {
    const bea = { email: 'bea@example.com', password: 'bea has a long password', role: 'editor' };
    await inviteAndJoin(app, { ...bea, displayName: 'Bea', origin: base });
    await withPage(browser, base, async (page, context) => {
      await signInWithPassword(page, bea.email, bea.password);
      const provider = new MemoryOAuthProvider(callback.url, clientMetadata("Bea's editor"));
      const client = await connectAndApprove(context, provider);
      assert.ok((await client.listTools()).tools.length > 0);
      const token = provider.tokens()!.access_token;

      await page.getByRole('link', { name: 'Your connected clients' }).click();
      const row = page.locator('table.grants tr', { hasText: "Bea's editor" });
      await row.getByRole('button', { name: "Revoke Bea's editor" }).click();
      const dialog = page.getByRole('dialog', { name: "Revoke Bea's editor's access to shop?" });
      // Escape leaves it as it was.
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      assert.equal(await statusWithToken(token), 200, 'cancelled: the client still works');
      await row.getByRole('button', { name: "Revoke Bea's editor" }).click();
      await dialog.getByRole('button', { name: 'Revoke access' }).click();
      await page.getByRole('status').getByText('Revoked 1 grant.').waitFor();
      await page.getByText('You have not connected any client.').waitFor();

      assert.equal(await statusWithToken(token), 401);
      await assert.rejects(client.callTool({ name: 'getItem', arguments: { id: 'first' } }), UnauthorizedError);
      await client.close();
    });
  });

  it("shows a viewer the members without invitations, no grants screen, and the API's 403 in words by URL", async () => {
    const vic = { email: 'vic@example.com', password: 'vic has a long password', role: 'viewer' };
    await inviteAndJoin(app, { ...vic, displayName: 'Vic Viewer', origin: base });
    await withPage(
      browser,
      base,
      async (page) => {
        await signInWithPassword(page, vic.email, vic.password);
        const sections = page.getByRole('navigation', { name: 'Sections' });
        await sections.getByRole('link', { name: 'Members' }).click();
        await page.locator('table.members').getByText('Vic Viewer').waitFor();
        await page.getByText('Admins and owners invite people and see the invitations.').waitFor();
        assert.equal(await page.getByRole('form', { name: 'Invite a colleague' }).count(), 0);
        assert.equal(await sections.getByRole('link', { name: 'OAuth grants' }).count(), 0, 'no grants screen');
        await checkPage(page, 'members-viewer');

        await page.goto(`${base}/console/w/default/oauth-grants`);
        const alert = page.getByRole('alert');
        await alert.getByText('(403)').waitFor();
        assert.match(
          (await alert.textContent()) ?? '',
          /does not allow seeing the OAuth clients its members connected \(only the workspace's owners may\)/,
        );
        assert.doesNotMatch((await alert.textContent()) ?? '', /oauth-grant:read/);
        await checkPage(page, 'oauth-grants-forbidden');
      },
      { expectedStatuses: [403] },
    );
  });

  it('withdraws a pending invitation after a confirmation, and its link stops working', async () => {
    await withPage(browser, base, async (page) => {
      await signInWithKey(page);
      await page.goto(`${base}/console/w/default/members`);
      await page.getByLabel('Email').fill('cy@example.com');
      await page.getByLabel('Role', { exact: true }).selectOption('viewer');
      await page.getByRole('button', { name: 'Create invitation link' }).click();
      const link = (await page.getByTestId('invitation-url').textContent())!.trim();
      const row = page.locator('table.invitations tr', { hasText: 'cy@example.com' });
      await row.getByRole('button', { name: 'Withdraw invitation of cy@example.com' }).click();
      const dialog = page.getByRole('dialog', { name: 'Withdraw the invitation of cy@example.com?' });
      await dialog.getByRole('button', { name: 'Withdraw invitation' }).click();
      await page.getByRole('status').getByText('Withdrawn 1 invitation.').waitFor();
      await row.waitFor({ state: 'detached' });
      const opened = await fetch(link);
      assert.equal(opened.status, 404);
      assert.match(await opened.text(), /Invitation not valid/);
    });
  });
  it("changes a member's role and removes a member after a confirmation; the last owner is kept, in words", async () => {
    const dan = { email: 'dan@example.com', password: 'dan has a long password', role: 'editor' };
    const { userId } = await inviteAndJoin(app, { ...dan, displayName: 'Dan', origin: base });
    await withPage(
      browser,
      base,
      async (page) => {
        await signInWithKey(page);
        await page.goto(`${base}/console/w/default/members`);
        // By his id: hasText matches any row with "dan" anywhere, such as in another member's random id.
        const row = page.locator('table.members tr', { has: page.getByText(userId, { exact: true }) });
        // Someone else makes Dan an admin after the page listed him: the console's change is refused, not applied.
        await row.getByLabel('New role of Dan').waitFor();
        assert.equal((await app.call('PUT', `${WS}/members/${userId}`, { body: { role: 'admin' } })).status, 200);
        await row.getByLabel('New role of Dan').selectOption('viewer');
        await row.getByRole('button', { name: 'Change role of Dan' }).click();
        await row.getByRole('alert').getByText('The resource changed since you read it').waitFor();
        assert.equal((await app.call('GET', `${WS}/members/${userId}`)).body.role, 'admin');
        await page.reload();
        await row.getByLabel('New role of Dan').selectOption('viewer');
        await row.getByRole('button', { name: 'Change role of Dan' }).click();
        await row.locator('td[data-label="Role"]').getByText('viewer').waitFor();
        const member = await app.call('GET', `${WS}/members/${userId}`);
        assert.equal(member.body.role, 'viewer');

        const owner = page.locator('table.members tr', { hasText: 'API key (service)' }).filter({ hasText: 'owner' });
        await owner.locator('select').selectOption('admin');
        await owner.getByRole('button', { name: /^Change role of / }).click();
        await owner.getByRole('alert').getByText('A workspace keeps at least one owner').waitFor();
        await checkPage(page, 'members-manage');

        await row.getByRole('button', { name: 'Remove Dan' }).click();
        const dialog = page.getByRole('dialog', { name: 'Remove Dan from default?' });
        await dialog.getByRole('button', { name: 'Remove member' }).click();
        await page.getByRole('status').getByText('Removed 1 member.').waitFor();
        await row.waitFor({ state: 'detached' });
        assert.equal((await app.call('GET', `${WS}/members/${userId}`)).status, 404);
      },
      { expectedStatuses: [409, 412] },
    );
  });
});
