import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { requestOriginOf } from '../../http/request-origin.js';
import { SESSION_COOKIE, cookieOf, serializeCookie } from '../../http/session-cookie.js';
import {
  CONNECT_LINK_PATH,
  UPSTREAM_CALLBACK_PATH,
  type UpstreamOAuthService,
} from '../../services/upstream-oauth-service.js';
import type { UserService } from '../../services/user-service.js';
import { MisplacedSealedValue } from '../../services/vault.js';
import { errorBox, escapeHtml, sendPage } from './html.js';

/** Ties a flow started from a connect link to the browser that opened the link. */
const CONNECT_COOKIE = 'pb_connect';

/**
 * The browser's side of managed upstream OAuth: connect links (`/oauth/connect/{token}`: a page, then a POST
 * that uses the link) and the provider's
 * callback (`/oauth/callback`). Every refusal is a small page with a 4xx and words for the person; no page shows
 * a token, a code or the state.
 */
export async function connectRoutes(
  app: FastifyInstance,
  options: {
    upstreamOAuth: UpstreamOAuthService;
    users: Pick<UserService, 'authenticateSession' | 'authenticateSessionCredential'>;
    secure: boolean;
    connectTtlSeconds: number;
    /** The path the public URL puts before every route ('' at the root): the link back to the console needs it. */
    basePath: string;
  },
): Promise<void> {
  const { upstreamOAuth, users, secure, basePath } = options;
  const hide = { schema: { hide: true } };

  // The link page's form has no fields: a browser posts it as an empty urlencoded body, which carries nothing read.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 1024 },
    (_r, _b, done) => done(null, undefined),
  );

  const validLink = (token: string) => /^[A-Za-z0-9_-]{20,100}$/.test(token);

  // Opening the link only shows a button: mail and chat scanners that fetch every link must not use it up.
  app.get(`${CONNECT_LINK_PATH}:token`, hide, async (request, reply) => {
    const { token } = request.params as { token: string };
    if (!validLink(token))
      return sendPage(reply, 404, 'Connect link not valid', errorBox('This connect link is not known.'), basePath);
    return sendPage(
      reply,
      200,
      'Connect your account',
      `<p>You were sent this link to connect your account with a service that plugboard calls for your team. ` +
        `The service will ask you to sign in and to allow access.</p>` +
        `<form method="post"><button type="submit" id="connect">Connect</button></form>` +
        `<p class="hint">The link works once.</p>`,
      basePath,
      // Its POST is answered with a redirect to the provider.
      { redirectsAway: true },
    );
  });

  app.post(`${CONNECT_LINK_PATH}:token`, hide, async (request, reply) => {
    const { token } = request.params as { token: string };
    if (!validLink(token))
      return sendPage(reply, 404, 'Connect link not valid', errorBox('This connect link is not known.'), basePath);
    const browserSecret = randomBytes(32).toString('base64url');
    const session = cookieOf(request, SESSION_COOKIE);
    // Who is signed in here, with their roles: a person's own link and a reconnect link need to know.
    const signedIn = session
      ? await users.authenticateSessionCredential(session).then(
          (authenticated) => authenticated.principal,
          () => undefined,
        )
      : undefined;
    const opened = await upstreamOAuth.openLink(token, browserSecret, requestOriginOf(request), signedIn);
    if ('refused' in opened)
      return sendPage(
        reply,
        opened.forSomeoneElse ? 403 : 410,
        'Connect link not valid',
        errorBox(opened.refused),
        basePath,
      );
    // Lax: the provider's redirect back to the callback is a top-level GET, which carries it.
    reply.header(
      'set-cookie',
      serializeCookie(CONNECT_COOKIE, browserSecret, {
        secure,
        httpOnly: true,
        maxAgeSeconds: options.connectTtlSeconds,
      }),
    );
    return reply.header('cache-control', 'no-store').redirect(opened.authorizationUrl, 303);
  });

  app.get(UPSTREAM_CALLBACK_PATH, hide, async (request, reply) => {
    const session = cookieOf(request, SESSION_COOKIE);
    const user = session ? await users.authenticateSession(session) : null;
    const url = new URL(request.url, 'http://callback.invalid');
    let result;
    try {
      result = await upstreamOAuth.finish(url, {
        principalId: user?.userId,
        browserSecret: cookieOf(request, CONNECT_COOKIE),
        requestId: request.id,
      });
    } catch (error) {
      // A connection whose settings cannot be opened (its client secret sealed elsewhere, say) is the admin's to fix.
      if (!(error instanceof DomainError) && !(error instanceof MisplacedSealedValue)) throw error;
      result = { ok: false as const, status: 400 as const, message: error.message };
    }
    if (!result.ok) return sendPage(reply, result.status, 'Not connected', errorBox(result.message), basePath);
    reply.header('set-cookie', serializeCookie(CONNECT_COOKIE, 'x', { secure, httpOnly: true, maxAgeSeconds: 0 }));
    // Whoever started it from the console goes back to the connection there; a person sent a link may have no
    // plugboard account, so their page only says it worked.
    const back = `${basePath}/console/w/${encodeURIComponent(result.workspaceId)}/connections/${result.connectionId}`;
    return sendPage(
      reply,
      200,
      'Connected',
      `<p id="connected">The connection <strong>${escapeHtml(result.connectionName)}</strong> in workspace <strong>${escapeHtml(result.workspaceId)}</strong> is connected. You can close this page.</p>` +
        (result.startedByPerson
          ? `<p><a id="back" href="${escapeHtml(back)}">Back to the connection in the console</a></p>`
          : ''),
      basePath,
    );
  });
}
