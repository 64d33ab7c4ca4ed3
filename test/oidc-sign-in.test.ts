// Sign-in with an external OpenID Connect provider: a real one (npm oidc-provider) on 127.0.0.1, driven by Chromium.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { inviteAndJoin } from './support/people.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';

/** The part of oidc-provider (which ships no types) this test uses. */
interface TestProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}
type ProviderConstructor = new (issuer: string, configuration: object) => TestProvider;
const OIDC_PROVIDER = 'oidc-provider';
// Imported by name through a variable: the test needs only the narrow shape above, whatever declarations the
// source tree has for the package.
const { default: Provider } = (await import(OIDC_PROVIDER)) as { default: ProviderConstructor };

/** Who the provider says each login is: the email and whether it vouches for it. */
const ACCOUNTS: Record<string, { email: string; email_verified: boolean }> = {
  verified: { email: 'Ada@Example.com', email_verified: true },
  unverified: { email: 'ada@example.com', email_verified: false },
  stranger: { email: 'stranger@example.com', email_verified: true },
};

/** Starts listening first (the app needs the issuer URL), and serves the provider once it is made. */
async function listenForProvider(): Promise<{ server: Server; issuer: string; serve(provider: TestProvider): void }> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => (handler ? handler(req, res) : res.writeHead(503).end()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, issuer, serve: (provider) => void (handler = provider.callback()) };
}

for (const engine of ENGINES) {
  describe(`OpenID Connect sign-in [${engine}]`, () => {
    let app: TestApp;
    let browser: Browser;
    let op: Awaited<ReturnType<typeof listenForProvider>>;
    let base: string;

    before(async () => {
      op = await listenForProvider();
      app = await startTestApp(engine, {
        env: { OIDC_ISSUER: op.issuer, OIDC_CLIENT_ID: 'plugboard', OIDC_CLIENT_SECRET: 'a-client-secret-for-tests' },
      });
      base = await app.server.listen({ port: 0, host: '127.0.0.1' });
      const provider = new Provider(op.issuer, {
        clients: [
          {
            client_id: 'plugboard',
            client_secret: 'a-client-secret-for-tests',
            redirect_uris: [`${base}/auth/oidc/callback`],
          },
        ],
        claims: { openid: ['sub'], email: ['email', 'email_verified'] },
        findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id, ...ACCOUNTS[id] }) }),
        cookies: { keys: ['a-cookie-signing-key-for-tests'] },
      });
      op.serve(provider);
      await inviteAndJoin(app, { email: 'ada@example.com', role: 'editor', password: 'a long enough password' });
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
      await app?.stop();
      op?.server.close();
    });

    /** Signs in through the provider as `login`; the page's last URL and the cookies the browser holds for plugboard. */
    async function signInAs(login: string) {
      const context: BrowserContext = await browser.newContext();
      // Loopback only: the provider's dev pages link a web font, which must not be fetched.
      await context.route('**/*', (route) =>
        new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort(),
      );
      try {
        const page = await context.newPage();
        await page.goto(`${base}/auth/sign-in?return_to=/api/v1/me`);
        await page.click('text=Sign in with single sign-on');
        await page.waitForURL(`${op.issuer}/**`);
        await page.fill('input[name=login]', login);
        await page.fill('input[name=password]', 'anything');
        await page.click('button[type=submit]');
        await page.click('button:has-text("Continue")');
        await page.waitForURL(`${base}/**`);
        const cookies = await context.cookies(base);
        return { url: page.url(), text: await page.textContent('body'), cookies };
      } finally {
        await context.close();
      }
    }

    it('signs a user in by verified email, with PKCE, and lands on return_to', async () => {
      const { url, text, cookies } = await signInAs('verified');
      assert.equal(url, `${base}/api/v1/me`);
      const me = JSON.parse(text!) as { principalId: string; roles: Record<string, string> };
      assert.match(me.principalId, /^usr_/);
      assert.deepEqual(me.roles, { default: 'editor' });
      const session = cookies.find((c) => c.name === 'pb_session')!;
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Lax');
      assert.equal(
        cookies.find((c) => c.name === 'pb_oidc'),
        undefined,
        'the flow cookie is gone',
      );
    });

    it('refuses an email the provider does not say is verified', async () => {
      const { url, text, cookies } = await signInAs('unverified');
      assert.match(url, /\/auth\/oidc\/callback/);
      assert.match(text!, /did not say that your email address is verified/);
      assert.equal(
        cookies.find((c) => c.name === 'pb_session'),
        undefined,
      );
    });

    it('creates nobody for a verified email no user has', async () => {
      const { text, cookies } = await signInAs('stranger');
      assert.match(text!, /No plugboard account has the email address/);
      assert.equal(
        cookies.find((c) => c.name === 'pb_session'),
        undefined,
      );
      const members = await app.call('GET', '/api/v1/workspaces/default/members');
      assert.ok(!JSON.stringify(members.body).includes('stranger'));
    });

    it('refuses a callback that did not start in this browser', async () => {
      const reply = await app.server.inject({ method: 'GET', url: '/auth/oidc/callback?code=forged&state=forged' });
      assert.equal(reply.statusCode, 400);
      assert.equal(reply.headers['set-cookie']?.toString().includes('pb_session=pbs_'), false);
    });
  });
}
