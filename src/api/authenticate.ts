import type { FastifyRequest } from 'fastify';
import { unauthenticated } from '../domain/errors.js';
import { assertCsrfSafe, cookieOf, SESSION_COOKIE } from '../http/session-cookie.js';
import type { AccessService } from '../services/access-service.js';
import type { Authenticated } from '../services/actor.js';
import type { TokenService } from '../services/token-service.js';
import { csrfTokenOf, type UserService } from '../services/user-service.js';

const BEARER = /^Bearer\s+(\S+)\s*$/i;
const HOW =
  'Send "Authorization: Bearer pbk_…" (an API key) or "X-Auth-Token: pbt_…" (a token), or sign in at /auth/sign-in.';

/**
 * The native API's credentials: an API key as a bearer token, a short-lived token in X-Auth-Token (the header
 * Huawei's clients send theirs in), or a signed-in person's session cookie. A request carrying both headers is
 * refused rather than guessed at; a header wins over the cookie (a browser never adds a header by itself, so a
 * request with one was not forged by another site). A cookie-authenticated unsafe request must pass the CSRF check.
 */
export async function authenticateRequest(
  request: FastifyRequest,
  services: { access: AccessService; tokens: TokenService; users: UserService },
  publicOrigin: string,
): Promise<Authenticated> {
  const { headers } = request;
  const { authorization } = headers;
  const token = headers['x-auth-token'];
  const session = authorization === undefined && token === undefined ? cookieOf(request, SESSION_COOKIE) : undefined;
  if (session !== undefined) {
    const authenticated = await services.users.authenticateSessionCredential(session);
    assertCsrfSafe(request, csrfTokenOf(session), publicOrigin);
    return authenticated;
  }
  if (authorization !== undefined && token !== undefined) throw unauthenticated(`Send one credential, not two. ${HOW}`);
  if (typeof token === 'string') return services.tokens.authenticateToken(token.trim());
  const match = authorization === undefined ? null : BEARER.exec(authorization);
  if (!match) throw unauthenticated(`A valid credential is required. ${HOW}`);
  return services.access.authenticateKey(match[1]!);
}
