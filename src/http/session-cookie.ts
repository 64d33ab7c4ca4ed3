import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { forbidden } from '../domain/errors.js';
import { requestOriginOf } from './request-origin.js';

/** The session cookie: an opaque token whose digest the store keeps (HttpOnly: scripts never see it). */
export const SESSION_COOKIE = 'pb_session';
/** The session's CSRF token, readable by the console's scripts so they can echo it in `X-CSRF-Token`. */
export const CSRF_COOKIE = 'pb_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** The value of one cookie of the request (RFC 6265 §5.4: `name=value` pairs separated by `;`). */
export function cookieOf(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string' || header.length > 16_384) return undefined;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) {
      const value = pair.slice(at + 1).trim();
      return value === '' ? undefined : value;
    }
  }
  return undefined;
}

export interface CookieOptions {
  /** Secure when PUBLIC_URL is https (a browser would drop a Secure cookie set over plain http). */
  readonly secure: boolean;
  /** Seconds until the browser forgets it; 0 deletes it; undefined lasts until the browser closes. */
  readonly maxAgeSeconds?: number;
  readonly httpOnly: boolean;
}

/** One `Set-Cookie` value: always Path=/ and SameSite=Lax. Values are base64url, so nothing needs quoting. */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${value}`, 'Path=/', 'SameSite=Lax'];
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`);
  if (options.httpOnly) parts.push('HttpOnly');
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}

/** Sets (or, with `undefined`, clears) the session and CSRF cookies on a reply. */
export function setSessionCookies(
  reply: FastifyReply,
  session: { token: string; csrfToken: string; maxAgeSeconds: number } | undefined,
  secure: boolean,
): void {
  const maxAgeSeconds = session?.maxAgeSeconds ?? 0;
  reply.header('set-cookie', [
    serializeCookie(SESSION_COOKIE, session?.token ?? 'x', { secure, maxAgeSeconds, httpOnly: true }),
    serializeCookie(CSRF_COOKIE, session?.csrfToken ?? 'x', { secure, maxAgeSeconds, httpOnly: false }),
  ]);
}

/** Equal strings, compared in time that does not depend on where they differ. */
export function isSameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Whether a browser sent this request from one of our own pages. The Origin header (sent by browsers with every
 * unsafe request, Fetch standard) must be the origin the request addressed or PUBLIC_URL's. Pages served with
 * `Referrer-Policy: no-referrer` (the console's, these) make browsers send `Origin: null` for their own posts; then
 * `Sec-Fetch-Site` (which no page can set) must say same-origin. Without an Origin, a `Sec-Fetch-Site` other than
 * same-origin or none refuses it; clients that send neither are not browsers.
 */
export function isFromOwnOrigin(request: FastifyRequest, publicOrigin: string): boolean {
  const origin = request.headers.origin;
  const site = request.headers['sec-fetch-site'];
  if (origin === 'null') return site === 'same-origin';
  if (typeof origin === 'string') return origin === publicOrigin || origin === requestOriginOf(request);
  return site === undefined || site === 'same-origin' || site === 'none';
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF protection for a request authenticated by the session cookie (OWASP's synchronizer token pattern plus an
 * Origin check): an unsafe method needs `X-CSRF-Token` equal to the session's CSRF token and must come from our
 * own origin. Throws `forbidden` otherwise.
 */
export function assertCsrfSafe(request: FastifyRequest, expectedToken: string, publicOrigin: string): void {
  if (SAFE_METHODS.has(request.method)) return;
  const sent = request.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !isSameSecret(sent, expectedToken)) {
    throw forbidden(
      `A request signed in with the session cookie must send the CSRF token (the ${CSRF_COOKIE} cookie) in ${CSRF_HEADER}.`,
    );
  }
  if (!isFromOwnOrigin(request, publicOrigin))
    throw forbidden('Cross-origin requests with the session cookie are refused.');
}
