// People: invitations, password sign-in, lockout, sessions, CSRF and roles of users, on both stores.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, createTestStore, startTestApp, type TestApp } from './support/stores.js';
import { runCliWithInput } from './support/cli-process.js';
import { browserFor, cookiesSet, inviteAndJoin, signIn, type Browser } from './support/people.js';

const WS = '/api/v1/workspaces/default';
const PASSWORD = 'correct horse battery staple';
const ORIGIN = 'http://127.0.0.1:8080';

/** A clock the test moves by hand; starts now, so that the real-time rate limiter and it agree at first. */
function manualClock() {
  let now = Date.now();
  return { now: () => new Date(now).toISOString(), advance: (seconds: number) => void (now += seconds * 1000) };
}

/** A native API call with the browser's cookies, and (unless told otherwise) its CSRF token and own Origin. */
async function withSession(
  app: TestApp,
  browser: Browser,
  method: string,
  url: string,
  options: { body?: unknown; csrf?: string | null; origin?: string | null } = {},
) {
  const headers: Record<string, string> = {
    cookie: [...browser.jar].map(([k, v]) => `${k}=${v}`).join('; '),
  };
  const csrf = options.csrf === undefined ? browser.jar.get('pb_csrf') : options.csrf;
  if (csrf) headers['x-csrf-token'] = csrf;
  const origin = options.origin === undefined ? ORIGIN : options.origin;
  if (origin) headers.origin = origin;
  return app.call(method, url, { key: null, headers, body: options.body });
}

/** The error shown on a sign-in page (its form token differs from page to page; the message must not). */
const errorOf = (html: string) => /<p class="error" role="alert">([^<]*)<\/p>/.exec(html)?.[1];

for (const engine of ENGINES) {
  describe(`password sign-in [${engine}]`, () => {
    let app: TestApp;
    const clock = manualClock();
    before(async () => {
      app = await startTestApp(engine, {
        clock,
        env: { SIGN_IN_LOCKOUT_ATTEMPTS: '3', SIGN_IN_LOCKOUT_SECONDS: '300', SIGN_IN_PER_MINUTE: '1000' },
      });
      await inviteAndJoin(app, { email: 'ada@example.com', role: 'editor', password: PASSWORD, displayName: 'Ada L.' });
      await inviteAndJoin(app, { email: 'lock@example.com', role: 'viewer', password: PASSWORD });
    });
    after(() => app.stop());

    it('signs in with the right password and redirects to the relative return_to, setting the session cookies', async () => {
      const { reply } = await signIn(app, 'ADA@example.com ', PASSWORD);
      assert.equal(reply.status, 303, reply.text);
      assert.equal(reply.headers.location, '/console/');
      const cookies = cookiesSet(reply.headers);
      const session = cookies.get('pb_session')!;
      assert.match(session.value, /^pbs_[A-Za-z0-9_-]{43}$/);
      assert.match(session.attributes, /HttpOnly/);
      assert.match(session.attributes, /SameSite=Lax/);
      assert.match(session.attributes, /Path=\//);
      assert.doesNotMatch(session.attributes, /Secure/, 'PUBLIC_URL is http here');
      assert.doesNotMatch(cookies.get('pb_csrf')!.attributes, /HttpOnly/, "the console's scripts read the CSRF token");
    });

    it('answers a wrong password and an unknown email alike: same status, same words', async () => {
      const wrong = await signIn(app, 'ada@example.com', 'not the password at all');
      const unknown = await signIn(app, 'nobody@example.com', 'not the password at all');
      assert.equal(wrong.reply.status, 401);
      assert.equal(unknown.reply.status, 401);
      assert.ok(errorOf(wrong.reply.text));
      assert.equal(errorOf(wrong.reply.text), errorOf(unknown.reply.text));
      assert.equal(wrong.reply.text.length, unknown.reply.text.length - 'nobody'.length + 'ada'.length);
      assert.equal(wrong.browser.jar.get('pb_session'), undefined);
      // Reset Ada's failure count, so the lockout test below starts from zero for her too.
      assert.equal((await signIn(app, 'ada@example.com', PASSWORD)).reply.status, 303);
    });

    it('spends the same password-hashing work on an unknown email as on a wrong password', async () => {
      const time = async (email: string) => {
        const { browser } = await signIn(app, email, PASSWORD);
        const page = await browser.get('/auth/sign-in');
        const start = performance.now();
        await browser.post('/auth/sign-in', {
          form_token: browser.formToken(page.text),
          email,
          password: 'wrong password here',
        });
        return performance.now() - start;
      };
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 3; i++) {
        known.push(await time('ada@example.com'));
        unknown.push(await time(`ghost${i}@example.com`));
      }
      await signIn(app, 'ada@example.com', PASSWORD);
      // Without the decoy hash an unknown email would be answered after a lookup only (about 1% of the time).
      assert.ok(median(unknown) > median(known) * 0.4, `unknown ${median(unknown)} ms vs known ${median(known)} ms`);
    });

    it('locks an account after repeated failures, refuses even the right password while locked, audits it, and lets it in after the lockout', async () => {
      for (let i = 0; i < 3; i++)
        assert.equal((await signIn(app, 'lock@example.com', 'wrong password ' + i)).reply.status, 401);
      const locked = await signIn(app, 'lock@example.com', PASSWORD);
      assert.equal(locked.reply.status, 401);
      assert.equal(errorOf(locked.reply.text), errorOf((await signIn(app, 'nobody@example.com', 'x')).reply.text));
      const audit = await app.call('GET', `${WS}/audit?resourceType=user`);
      const lock = audit.body.items.find((e: { action: string }) => e.action === 'user:lock');
      assert.ok(lock, JSON.stringify(audit.body));
      assert.equal(lock.principalName, 'lock');
      clock.advance(299);
      assert.equal((await signIn(app, 'lock@example.com', PASSWORD)).reply.status, 401, 'still locked');
      clock.advance(2);
      assert.equal((await signIn(app, 'lock@example.com', PASSWORD)).reply.status, 303, 'lockout over');
    });

    it('never redirects off this server after sign-in', async () => {
      for (const target of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)']) {
        const browser = browserFor(app);
        const page = await browser.get(`/auth/sign-in?return_to=${encodeURIComponent(target)}`);
        assert.doesNotMatch(page.text, /evil|javascript/);
        const reply = await browser.post('/auth/sign-in', {
          form_token: browser.formToken(page.text),
          return_to: target,
          email: 'ada@example.com',
          password: PASSWORD,
        });
        assert.equal(reply.status, 303);
        assert.equal(reply.headers.location, '/console/', target);
      }
      const { browser } = await signIn(app, 'ada@example.com', PASSWORD);
      const page = await browser.get('/auth/sign-in?return_to=/console/toolsets%3Fa%3D1');
      const reply = await browser.post('/auth/sign-in', {
        form_token: browser.formToken(page.text),
        return_to: '/console/toolsets?a=1',
        email: 'ada@example.com',
        password: PASSWORD,
      });
      assert.equal(reply.headers.location, '/console/toolsets?a=1');
    });

    it('refuses a sign-in form that another site posted (no form cookie, or a foreign Origin)', async () => {
      const forged = browserFor(app, 'https://evil.example');
      const page = await forged.get('/auth/sign-in');
      const token = forged.formToken(page.text);
      const fields = { form_token: token, email: 'ada@example.com', password: PASSWORD };
      assert.equal((await forged.post('/auth/sign-in', fields)).status, 403, 'foreign Origin');
      const cookieless = browserFor(app);
      assert.equal((await cookieless.post('/auth/sign-in', fields)).status, 403, 'no form cookie');
      assert.equal(cookieless.jar.get('pb_session'), undefined);
    });
  });

  describe(`sessions and CSRF [${engine}]`, () => {
    let app: TestApp;
    const clock = manualClock();
    let admin: Browser;
    let viewer: Browser;
    before(async () => {
      app = await startTestApp(engine, { clock, env: { SESSION_TTL_SECONDS: '3600', SESSION_IDLE_SECONDS: '600' } });
      admin = (await inviteAndJoin(app, { email: 'admin@example.com', role: 'admin', password: PASSWORD })).browser;
      viewer = (await inviteAndJoin(app, { email: 'viewer@example.com', role: 'viewer', password: PASSWORD })).browser;
    });
    after(() => app.stop());

    it('lets the native API be used with the session cookie, naming the user', async () => {
      const me = await withSession(app, admin, 'GET', '/api/v1/me');
      assert.equal(me.status, 200, me.text);
      assert.match(me.body.principalId, /^usr_/);
      assert.equal(me.body.name, 'admin');
      assert.deepEqual(me.body.roles, { default: 'admin' });
    });

    it('refuses a cookie-authenticated write without the CSRF token, with a wrong one, or from another origin', async () => {
      const body = { email: 'new@example.com', role: 'viewer' };
      const url = `${WS}/invitations`;
      const missing = await withSession(app, admin, 'POST', url, { body, csrf: null });
      assert.equal(missing.status, 403, missing.text);
      assert.match(missing.body.detail, /CSRF/);
      assert.equal((await withSession(app, admin, 'POST', url, { body, csrf: 'x'.repeat(43) })).status, 403);
      assert.equal((await withSession(app, admin, 'POST', url, { body, origin: 'https://evil.example' })).status, 403);
      const cookie = [...admin.jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const opaque = { cookie, 'x-csrf-token': admin.jar.get('pb_csrf')!, origin: 'null' };
      const crossSite = await app.call('POST', url, {
        key: null,
        body,
        headers: { ...opaque, 'sec-fetch-site': 'cross-site' },
      });
      assert.equal(crossSite.status, 403, 'an opaque origin counts only when the browser says same-origin');
      assert.equal((await app.call('GET', `${WS}/invitations`)).body.items.length, 2, 'nothing was created');
      const allowed = await withSession(app, admin, 'POST', url, { body });
      assert.equal(allowed.status, 201, allowed.text);
      const events = await app.call('GET', `${WS}/audit?resourceType=invitation`);
      assert.equal(events.body.items[0].principalName, 'admin', 'the audit names the user by display name');
    });

    it('does not let a viewer user write, whatever the CSRF token', async () => {
      const reply = await withSession(app, viewer, 'POST', `${WS}/connectors`, { body: { id: 'nope', name: 'Nope' } });
      assert.equal(reply.status, 403, reply.text);
      assert.equal(reply.body.code, 'forbidden');
      assert.equal((await withSession(app, viewer, 'GET', `${WS}/connectors`)).status, 200);
    });

    it('does not let a session mint API tokens (they would outlive it)', async () => {
      const reply = await withSession(app, admin, 'POST', '/api/v1/tokens', { body: {} });
      assert.equal(reply.status, 403, reply.text);
    });

    it('ends a session left idle longer than SESSION_IDLE_SECONDS, and any at SESSION_TTL_SECONDS', async () => {
      const { browser } = await signIn(app, 'viewer@example.com', PASSWORD);
      for (let t = 0; t < 3000; t += 500) {
        clock.advance(500);
        assert.equal((await withSession(app, browser, 'GET', '/api/v1/me')).status, 200, `active at ${t + 500} s`);
      }
      clock.advance(601);
      const idle = await withSession(app, browser, 'GET', '/api/v1/me');
      assert.equal(idle.status, 401, 'idle for longer than 600 s');
      const fresh = (await signIn(app, 'viewer@example.com', PASSWORD)).browser;
      for (let t = 0; t < 3500; t += 500) {
        clock.advance(500);
        assert.equal((await withSession(app, fresh, 'GET', '/api/v1/me')).status, 200);
      }
      clock.advance(200);
      assert.equal((await withSession(app, fresh, 'GET', '/api/v1/me')).status, 401, 'past the absolute lifetime');
    });

    it('signs out only with the CSRF token, and a signed-out session is refused everywhere', async () => {
      const { browser } = await signIn(app, 'viewer@example.com', PASSWORD);
      const token = browser.jar.get('pb_session')!;
      const forged = await browser.post('/auth/sign-out', {});
      assert.equal(forged.status, 403);
      assert.equal((await withSession(app, browser, 'GET', '/api/v1/me')).status, 200, 'still signed in');
      const out = await browser.post('/auth/sign-out', { csrf: browser.jar.get('pb_csrf')! });
      assert.equal(out.status, 303);
      assert.equal(out.headers.location, '/auth/sign-in');
      assert.equal(browser.jar.get('pb_session'), undefined, 'the cookie is cleared');
      const reused = await app.call('GET', '/api/v1/me', { key: null, headers: { cookie: `pb_session=${token}` } });
      assert.equal(reused.status, 401);
    });
  });

  describe(`invitations [${engine}]`, () => {
    let app: TestApp;
    const clock = manualClock();
    before(async () => {
      app = await startTestApp(engine, { clock, env: { INVITATION_TTL_SECONDS: '3600' } });
    });
    after(() => app.stop());

    const invite = async (email: string, role = 'viewer') => {
      const reply = await app.call('POST', `${WS}/invitations`, { body: { email, role } });
      assert.equal(reply.status, 201, reply.text);
      assert.match(reply.body.url, /\/auth\/invitations\/pbi_/);
      assert.equal(reply.headers['cache-control'], 'no-store');
      return new URL(reply.body.url as string).pathname;
    };

    const accept = async (path: string, password = PASSWORD) => {
      const browser = browserFor(app);
      const page = await browser.get(path);
      if (page.status !== 200) return { status: page.status, text: page.text, browser };
      const reply = await browser.post(path, {
        form_token: browser.formToken(page.text),
        displayName: 'Grace',
        password,
      });
      return { status: reply.status, text: reply.text, browser };
    };

    it('works once: a second use of the link is refused, and it never appears in listings', async () => {
      const path = await invite('grace@example.com');
      assert.equal((await accept(path)).status, 303);
      const again = await accept(path);
      assert.equal(again.status, 404);
      assert.match(again.text, /already used, has expired/);
      const listed = await app.call('GET', `${WS}/invitations`);
      assert.equal(listed.body.items.length, 1);
      assert.equal(listed.body.items[0].url, undefined);
      assert.ok(listed.body.items[0].acceptedAt);
      assert.doesNotMatch(listed.text, /pbi_/);
    });

    it('lets only one of two simultaneous uses of a link through', async () => {
      const path = await invite('twice@example.com');
      const [a, b] = [browserFor(app), browserFor(app)];
      const [pageA, pageB] = [await a.get(path), await b.get(path)];
      const replies = await Promise.all([
        a.post(path, { form_token: a.formToken(pageA.text), displayName: 'A', password: PASSWORD }),
        b.post(path, { form_token: b.formToken(pageB.text), displayName: 'B', password: PASSWORD }),
      ]);
      const statuses = replies.map((r) => r.status).sort();
      assert.equal(statuses[0], 303, statuses.join());
      assert.ok([404, 409].includes(statuses[1]!), `the second use got ${statuses[1]}`);
      const members = (await app.call('GET', `${WS}/members`)).body.items as { name: string }[];
      assert.equal(members.filter((m) => ['A', 'B'].includes(m.name)).length, 1);
    });

    it('stops working when it expires', async () => {
      const path = await invite('late@example.com');
      clock.advance(3601);
      assert.equal((await accept(path)).status, 404);
    });

    it('stops working when withdrawn', async () => {
      const path = await invite('withdrawn@example.com');
      const listed = await app.call('GET', `${WS}/invitations`);
      const id = listed.body.items.find((i: { email: string }) => i.email === 'withdrawn@example.com').id;
      assert.equal((await app.call('DELETE', `${WS}/invitations/${id}`)).status, 204);
      assert.equal((await accept(path)).status, 404);
    });

    it('refuses a short password without using up the invitation', async () => {
      const path = await invite('short@example.com');
      const short = await accept(path, 'short');
      assert.equal(short.status, 400);
      assert.equal((await accept(path)).status, 303);
    });

    it('does not reset the password of an existing account with the same email', async () => {
      const path = await invite('grace@example.com', 'editor');
      const reply = await accept(path, 'an attacker chose this');
      assert.equal(reply.status, 200, 'shown the sign-in page, not signed in');
      assert.equal(reply.browser.jar.get('pb_session'), undefined);
      assert.equal((await signIn(app, 'grace@example.com', 'an attacker chose this')).reply.status, 401);
      assert.equal((await signIn(app, 'grace@example.com', PASSWORD)).reply.status, 303);
    });

    it('lets only admins invite, and never to a role above their own', async () => {
      const { browser: editor } = await inviteAndJoin(app, {
        email: 'ed@example.com',
        role: 'editor',
        password: PASSWORD,
      });
      const byEditor = await withSession(app, editor, 'POST', `${WS}/invitations`, {
        body: { email: 'x@example.com', role: 'viewer' },
      });
      assert.equal(byEditor.status, 403);
      const { browser: admin } = await inviteAndJoin(app, {
        email: 'ad@example.com',
        role: 'admin',
        password: PASSWORD,
      });
      const toOwner = await withSession(app, admin, 'POST', `${WS}/invitations`, {
        body: { email: 'x@example.com', role: 'owner' },
      });
      assert.equal(toOwner.status, 400, toOwner.text);
      for (const body of [
        { email: 'not an email', role: 'viewer' },
        { email: 'a@b.c', role: 'god' },
        { email: 'a@b.c', role: 'viewer', extra: 1 },
      ]) {
        assert.equal((await app.call('POST', `${WS}/invitations`, { body })).status, 400, JSON.stringify(body));
      }
    });
  });

  describe(`sign-in budgets [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine, { env: { SIGN_IN_PER_MINUTE: '3' } });
    });
    after(() => app.stop());

    const attempt = async (email: string, address: string) => {
      const browser = browserFor(app, undefined, address);
      const page = await browser.get('/auth/sign-in');
      return browser.post('/auth/sign-in', {
        form_token: browser.formToken(page.text),
        email,
        password: 'x'.repeat(12),
      });
    };

    it('budgets attempts per account, from whatever address they come', async () => {
      for (let i = 1; i <= 3; i++) assert.equal((await attempt('target@example.com', `10.0.0.${i}`)).status, 401);
      const refused = await attempt('target@example.com', '10.0.0.9');
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers['retry-after']) >= 1);
    });

    it('budgets attempts per client address, whatever account they try', async () => {
      for (let i = 1; i <= 3; i++) assert.equal((await attempt(`user${i}@example.com`, '10.9.9.9')).status, 401);
      assert.equal((await attempt('user4@example.com', '10.9.9.9')).status, 429);
      assert.equal((await attempt('user4@example.com', '10.9.9.8')).status, 401, 'another address has its own budget');
    });
  });

  describe(`secure cookies [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine, { env: { PUBLIC_URL: 'https://plugboard.example.com' } });
      await inviteAndJoin(app, {
        email: 'sec@example.com',
        role: 'viewer',
        password: PASSWORD,
        origin: 'https://plugboard.example.com',
      });
    });
    after(() => app.stop());

    it('marks the session cookies Secure when PUBLIC_URL is https', async () => {
      const { reply } = await signIn(app, 'sec@example.com', PASSWORD, 'https://plugboard.example.com');
      assert.equal(reply.status, 303, reply.text);
      for (const name of ['pb_session', 'pb_csrf'])
        assert.match(cookiesSet(reply.headers).get(name)!.attributes, /Secure/);
    });
  });
}

for (const engine of ENGINES) {
  describe(`plugboard users create [${engine}]`, () => {
    it('creates a user whose password comes from standard input, who can then sign in; refuses a duplicate email', async () => {
      const store = await createTestStore(engine);
      try {
        const args = ['users', 'create', '-e', 'Cli@Example.com', '-n', 'Cli User', '-w', 'default', '-r', 'editor'];
        // The store must exist with its default workspace first: a server start creates it.
        const first = await startTestApp(engine, { store });
        await first.close();
        const created = await runCliWithInput(args, store.env, `${PASSWORD}\n`);
        assert.equal(created.code, 0, created.stderr);
        assert.match(created.stdout, /^user usr_\w+ \(cli@example\.com, "Cli User"\): editor of default\n$/);
        assert.doesNotMatch(created.stdout + created.stderr, new RegExp(PASSWORD));
        const again = await runCliWithInput(args, store.env, `${PASSWORD}\n`);
        assert.equal(again.code, 1);
        assert.match(again.stderr, /exists already/);
        const short = await runCliWithInput(
          [...args.slice(0, 3), 'other@example.com', ...args.slice(4)],
          store.env,
          'short\n',
        );
        assert.equal(short.code, 1);
        assert.match(short.stderr, /password/);
        const app = await startTestApp(engine, { store });
        try {
          const { reply } = await signIn(app, 'cli@example.com', PASSWORD);
          assert.equal(reply.status, 303, reply.text);
        } finally {
          await app.close();
        }
      } finally {
        await store.drop();
      }
    });
  });
}
