// A person signs in to the web console with a password, in Chromium: invitation, sign-in page, session cookie,
// CSRF-protected writes, sign-out. (The console's other pages are covered by console.test.ts with an API key.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { ensureConsoleBuilt } from './support/console-build.js';
import { waitForExpression } from './support/console-page.js';
import { startTestApp, type TestApp } from './support/stores.js';

const PASSWORD = 'a password long enough';

describe('console sign-in with a password, in Chromium', () => {
  let app: TestApp;
  let browser: Browser;
  let base: string;

  before(async () => {
    ensureConsoleBuilt();
    app = await startTestApp('sqlite');
    base = await app.server.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
  });

  /** A fresh browser profile that fails the test on a page error; loopback only. */
  async function withContext(body: (page: Page, context: BrowserContext) => Promise<void>) {
    const context = await browser.newContext();
    await context.route('**/*', (route) =>
      new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort(),
    );
    const errors: string[] = [];
    try {
      const page = await context.newPage();
      page.on('pageerror', (error) => errors.push(error.message));
      await body(page, context);
    } finally {
      await context.close();
    }
    assert.deepEqual(errors, []);
  }

  it('takes an invited person from the link to the console, signs them out, and back in with the password form', async () => {
    const invited = await app.call('POST', '/api/v1/workspaces/default/invitations', {
      body: { email: 'ada@example.com', role: 'editor' },
    });
    assert.equal(invited.status, 201, invited.text);
    const link = new URL(invited.body.url as string);
    await withContext(async (page, context) => {
      await page.goto(`${base}${link.pathname}`);
      await page.getByLabel('Your name').fill('Ada Lovelace');
      await page.getByLabel('Choose a password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Join' }).click();
      await page.waitForURL(`${base}/console/**`);
      await page.locator('.who').getByText('Ada Lovelace (editor)').waitFor();
      const session = (await context.cookies(base)).find((c) => c.name === 'pb_session')!;
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Lax');
      assert.equal(await page.evaluate(`document.cookie.includes('pb_session')`), false, 'scripts cannot read it');

      // A write from the page with the CSRF token goes through; the same write without it does not.
      const status = (withToken: boolean) =>
        page.evaluate(`(async () => {
          const csrf = /pb_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? '';
          const response = await fetch('/api/v1/workspaces/default/connectors', {
            method: 'POST',
            headers: { 'content-type': 'application/json', ${withToken ? "'x-csrf-token': csrf" : ''} },
            body: JSON.stringify({ id: '${withToken ? 'with' : 'without'}-token', name: 'From the console' }),
          });
          return response.status;
        })()`);
      assert.equal(await status(false), 403);
      assert.equal(await status(true), 201);

      await page.goto(`${base}/console/w/default/audit`);
      await page
        .getByText(/created connector/)
        .first()
        .waitFor();
      assert.match((await page.locator('ol.timeline').textContent()) ?? '', /Ada Lovelace created connector/);

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('link', { name: 'Sign in with your email and password' }).waitFor();
      await waitForExpression(page, `!document.cookie.includes('pb_csrf')`);
      assert.equal(
        (await context.cookies(base)).find((c) => c.name === 'pb_session'),
        undefined,
      );

      await page.getByRole('link', { name: 'Sign in with your email and password' }).click();
      await page.getByLabel('Email').fill('ada@example.com');
      await page.getByLabel('Password').fill('not the password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').getByText('not right').waitFor();
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${base}/console/**`);
      await page.locator('.who').getByText('Ada Lovelace (editor)').waitFor();
    });
  });
});
