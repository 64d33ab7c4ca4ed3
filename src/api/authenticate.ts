import type { IncomingHttpHeaders } from 'node:http';
import { unauthenticated } from '../domain/errors.js';
import type { AccessService } from '../services/access-service.js';
import type { Authenticated } from '../services/actor.js';
import type { TokenService } from '../services/token-service.js';

const BEARER = /^Bearer\s+(\S+)\s*$/i;
const HOW = 'Send "Authorization: Bearer pbk_…" (an API key) or "X-Auth-Token: pbt_…" (a token).';

/**
 * The native API's two credentials: an API key as a bearer token, or a short-lived token in X-Auth-Token
 * (the header Huawei's clients send theirs in). A request carrying both is refused rather than guessed at.
 */
export async function authenticateRequest(
  headers: IncomingHttpHeaders,
  services: { access: AccessService; tokens: TokenService },
): Promise<Authenticated> {
  const { authorization } = headers;
  const token = headers['x-auth-token'];
  if (authorization !== undefined && token !== undefined) throw unauthenticated(`Send one credential, not two. ${HOW}`);
  if (typeof token === 'string') return services.tokens.authenticateToken(token.trim());
  const match = authorization === undefined ? null : BEARER.exec(authorization);
  if (!match) throw unauthenticated(`A valid credential is required. ${HOW}`);
  return services.access.authenticateKey(match[1]!);
}
