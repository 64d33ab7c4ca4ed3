import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { retryAfterSeconds, takeBudget } from '../../http/rate-limit.js';
import {
  cookieOf,
  CSRF_HEADER,
  isFromOwnOrigin,
  isSameSecret,
  serializeCookie,
  SESSION_COOKIE,
  setSessionCookies,
} from '../../http/session-cookie.js';
import type { RateLimit, RateLimiter } from '../../rate-limit/rate-limiter.js';
import { requestOriginOf } from '../../http/request-origin.js';
import type { InvitationService } from '../../services/invitation-service.js';
import type { OidcChecks, OidcSignIn } from '../../services/oidc-sign-in.js';
import { csrfTokenOf, type IssuedSession, type UserService } from '../../services/user-service.js';
import { errorBox, escapeHtml, safeReturnTo as safePath, sendPage as sendAnyPage, STYLESHEET } from './html.js';

/** The cookie that ties a sign-in form to the browser that loaded it (login CSRF: RFC 6749 §10.12's reasoning). */
const FORM_COOKIE = 'pb_form';

export interface SignInRoutesOptions {
  readonly users: UserService;
  readonly invitations: InvitationService;
  readonly rateLimiter: RateLimiter;
  /** Attempts per minute per account and per client address; 0 for no budget. */
  readonly signInPerMinute: number;
  readonly sessionTtlSeconds: number;
  /** Whether cookies get `Secure` (PUBLIC_URL is https). */
  readonly secure: boolean;
  readonly publicOrigin: string;
  /** Sign-in with the external OpenID Connect provider, when one is configured. */
  readonly oidc: OidcSignIn | undefined;
  /**
   * PUBLIC_URL's path prefix ('' for none): what the browser's URLs start with behind a proxy that strips it.
   * Links, form actions and redirects carry it; `return_to` values are routes without it.
   */
  readonly basePath: string;
}

/** The cookie that carries the PKCE verifier, state and nonce (and where to go after) across the provider's pages. */
const OIDC_COOKIE = 'pb_oidc';

function parseOidcCookie(
  value: string | undefined,
  safeReturnTo: (value: unknown) => string,
): (OidcChecks & { returnTo: string }) | undefined {
  if (value === undefined || value.length > 2048) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Record<string, unknown>;
    const { state, nonce, verifier, returnTo } = parsed;
    if (typeof state !== 'string' || typeof nonce !== 'string' || typeof verifier !== 'string') return undefined;
    return { state, nonce, verifier, returnTo: safeReturnTo(returnTo) };
  } catch {
    return undefined;
  }
}

type Form = Record<string, string | undefined>;

const formField = (body: unknown, name: string): string =>
  typeof body === 'object' && body !== null && typeof (body as Form)[name] === 'string' ? (body as Form)[name]! : '';

/**
 * The sign-in pages, served by the server itself (they work without the console): password sign-in, sign-out and
 * accepting an invitation. Forms post urlencoded bodies; each carries a token tied to a cookie of the browser that
 * loaded it, and must come from this server's own origin.
 */
export function signInRoutes(app: FastifyInstance, options: SignInRoutesOptions, done: () => void): void {
  const { users, invitations, secure, basePath } = options;
  const safeReturnTo = (value: unknown) => safePath(value, '/console/', basePath);
  const sendPage = (reply: FastifyReply, status: number, title: string, body: string) =>
    sendAnyPage(reply, status, title, body, basePath);
  const hide = { schema: { hide: true } };
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16 * 1024 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  const budget: RateLimit | undefined =
    options.signInPerMinute > 0
      ? { perSecond: options.signInPerMinute / 60, burst: Math.max(0, options.signInPerMinute - 1) }
      : undefined;

  /** A fresh form token, set as a cookie, for the page being sent. */
  function newFormToken(reply: FastifyReply): string {
    const token = randomBytes(24).toString('base64url');
    reply.header('set-cookie', serializeCookie(FORM_COOKIE, token, { secure, httpOnly: true, maxAgeSeconds: 3600 }));
    return token;
  }

  /** Whether a posted form came from a page this server sent to this browser. */
  const isGenuineForm = (request: FastifyRequest) => {
    const cookie = cookieOf(request, FORM_COOKIE);
    const sent = formField(request.body, 'form_token');
    return (
      cookie !== undefined &&
      sent !== '' &&
      isSameSecret(cookie, sent) &&
      isFromOwnOrigin(request, options.publicOrigin)
    );
  };

  const signInPage = (reply: FastifyReply, status: number, returnTo: string, email = '', error?: string) => {
    const token = newFormToken(reply);
    const oidc =
      options.oidc === undefined
        ? ''
        : `<a class="button secondary" href="${escapeHtml(basePath)}/auth/oidc/start?return_to=${encodeURIComponent(returnTo)}">Sign in with single sign-on</a>`;
    return sendPage(
      reply,
      status,
      'Sign in to plugboard',
      `${errorBox(error)}<form method="post" action="${escapeHtml(basePath)}/auth/sign-in">` +
        `<input type="hidden" name="form_token" value="${token}"><input type="hidden" name="return_to" value="${escapeHtml(returnTo)}">` +
        `<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(email)}">` +
        `<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>` +
        `<button type="submit">Sign in</button></form>${oidc}` +
        `<p class="hint">Automation signs in with an API key instead: see the console's API-key sign-in.</p>`,
    );
  };

  /** Spends one attempt of `key`'s budget; false (after answering 429) when it is spent. */
  async function withinBudget(request: FastifyRequest, reply: FastifyReply, key: string): Promise<boolean> {
    if (!budget) return true;
    try {
      await takeBudget(
        request,
        options.rateLimiter,
        { key, limit: budget, name: 'sign-in', what: 'sign-in attempts' },
        ({ retryAfterMs }) => {
          reply.header('retry-after', retryAfterSeconds(retryAfterMs));
          return new DomainError('rate-limited', 'Too many sign-in attempts: wait a little and try again.');
        },
      );
      return true;
    } catch (error) {
      if (!(error instanceof DomainError) || error.code !== 'rate-limited') throw error;
      return false;
    }
  }

  const signedIn = (reply: FastifyReply, session: IssuedSession, returnTo: string) => {
    setSessionCookies(
      reply,
      { token: session.token, csrfToken: session.csrfToken, maxAgeSeconds: options.sessionTtlSeconds },
      secure,
    );
    return reply.redirect(`${basePath}${returnTo}`, 303);
  };

  app.get('/style.css', hide, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
  );

  app.get('/sign-in', hide, async (request, reply) =>
    signInPage(reply, 200, safeReturnTo((request.query as Form).return_to)),
  );

  app.post('/sign-in', hide, async (request, reply) => {
    const returnTo = safeReturnTo(formField(request.body, 'return_to'));
    const email = formField(request.body, 'email');
    if (!isGenuineForm(request)) {
      return signInPage(reply, 403, returnTo, email, 'The form had expired or came from another site. Try again.');
    }
    const account = createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
    if (
      !(await withinBudget(request, reply, `sign-in:address:${request.ip}`)) ||
      !(await withinBudget(request, reply, `sign-in:account:${account}`))
    ) {
      return signInPage(
        reply.header('retry-after', reply.getHeader('retry-after') ?? '60'),
        429,
        returnTo,
        email,
        'Too many sign-in attempts: wait a minute and try again.',
      );
    }
    try {
      const session = await users.signInWithPassword({
        email,
        password: formField(request.body, 'password'),
        requestId: request.id,
      });
      return signedIn(reply, session, returnTo);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'unauthenticated') {
        return signInPage(reply, 401, returnTo, email, error.message);
      }
      throw error;
    }
  });

  app.post('/sign-out', hide, async (request, reply) => {
    const session = cookieOf(request, SESSION_COOKIE);
    if (session !== undefined) {
      const sent = formField(request.body, 'csrf') || String(request.headers[CSRF_HEADER] ?? '');
      if (!isSameSecret(sent, csrfTokenOf(session)) || !isFromOwnOrigin(request, options.publicOrigin)) {
        return sendPage(
          reply,
          403,
          'Not signed out',
          errorBox('The sign-out request did not come from a plugboard page.'),
        );
      }
      await users.signOut(session);
    }
    setSessionCookies(reply, undefined, secure);
    return reply.redirect(`${basePath}/auth/sign-in`, 303);
  });

  const { oidc } = options;
  if (oidc) {
    app.get('/oidc/start', hide, async (request, reply) => {
      const returnTo = safeReturnTo((request.query as Form).return_to);
      let started;
      try {
        started = await oidc.start(requestOriginOf(request));
      } catch (error) {
        request.log.warn({ err: error }, 'the OpenID Connect provider could not be reached');
        return signInPage(
          reply,
          503,
          returnTo,
          '',
          'The single sign-on provider cannot be reached right now. Try again later.',
        );
      }
      const carried = Buffer.from(JSON.stringify({ ...started.checks, returnTo })).toString('base64url');
      reply.header('set-cookie', serializeCookie(OIDC_COOKIE, carried, { secure, httpOnly: true, maxAgeSeconds: 600 }));
      return reply.header('cache-control', 'no-store').redirect(started.url, 302);
    });

    app.get('/oidc/callback', hide, async (request, reply) => {
      const carried = parseOidcCookie(cookieOf(request, OIDC_COOKIE), safeReturnTo);
      reply.header('set-cookie', serializeCookie(OIDC_COOKIE, 'x', { secure, httpOnly: true, maxAgeSeconds: 0 }));
      if (!carried)
        return signInPage(
          reply,
          400,
          '/console/',
          '',
          'The sign-in took too long or was started elsewhere. Try again.',
        );
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
      try {
        const session = await oidc.finish(query, requestOriginOf(request), carried);
        // Fastify adds each Set-Cookie to the one clearing the OIDC cookie.
        setSessionCookies(
          reply,
          { token: session.token, csrfToken: session.csrfToken, maxAgeSeconds: options.sessionTtlSeconds },
          secure,
        );
        return reply.redirect(`${basePath}${carried.returnTo}`, 303);
      } catch (error) {
        if (error instanceof DomainError && error.code === 'unauthenticated') {
          return signInPage(reply, 401, carried.returnTo, '', error.message);
        }
        throw error;
      }
    });
  }

  const invitationPage = async (reply: FastifyReply, status: number, token: string, error?: string) => {
    let invitation;
    try {
      invitation = await invitations.describe(token);
    } catch (failure) {
      if (failure instanceof DomainError && failure.code === 'not-found') {
        return sendPage(reply, 404, 'Invitation not valid', errorBox(failure.message));
      }
      throw failure;
    }
    const formToken = newFormToken(reply);
    return sendPage(
      reply,
      status,
      `Join workspace ${invitation.workspaceId}`,
      `${errorBox(error)}<p>You are invited as <strong>${escapeHtml(invitation.role)}</strong> with the address <strong>${escapeHtml(invitation.email)}</strong>.</p>` +
        `<form method="post"><input type="hidden" name="form_token" value="${formToken}">` +
        `<label for="displayName">Your name</label><input id="displayName" name="displayName" required maxlength="128" value="${escapeHtml(invitation.displayName ?? '')}">` +
        `<label for="password">Choose a password</label><input id="password" name="password" type="password" autocomplete="new-password" minlength="10" required>` +
        `<p class="hint">At least 10 characters. If you already have a plugboard account with this address, you join with it and your password stays as it is.</p>` +
        `<button type="submit">Join</button></form>`,
    );
  };

  app.get('/invitations/:token', hide, async (request, reply) =>
    invitationPage(reply, 200, (request.params as { token: string }).token),
  );

  app.post('/invitations/:token', hide, async (request, reply) => {
    const { token } = request.params as { token: string };
    if (!isGenuineForm(request))
      return invitationPage(reply, 403, token, 'The form had expired or came from another site. Try again.');
    const displayName = formField(request.body, 'displayName');
    const password = formField(request.body, 'password');
    let accepted;
    try {
      accepted = await invitations.accept(token, { displayName, password }, request.id);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'validation-failed')
        return invitationPage(reply, 400, token, error.message);
      if (error instanceof DomainError && error.code === 'not-found')
        return sendPage(reply, 404, 'Invitation not valid', errorBox(error.message));
      throw error;
    }
    if (accepted.isNewUser) {
      const session = await users.signInWithPassword({ email: accepted.email, password, requestId: request.id });
      return signedIn(reply, session, '/console/');
    }
    return signInPage(reply, 200, '/console/', accepted.email, undefined);
  });
  done();
}
