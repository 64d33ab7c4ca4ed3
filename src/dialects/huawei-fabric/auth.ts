import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { isDomainError } from '../../domain/errors.js';
import type { Principal } from '../../domain/permissions.js';
import type { SigningKey } from '../../services/access-key-service.js';
import type { Authenticated } from '../../services/actor.js';

export const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256';
/** A signed request whose X-Sdk-Date is further than this from the server's clock is refused. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const SDK_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const AUTHORIZATION =
  /^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]{64})\s*$/;

/** A request as the signature covers it: method, the target exactly as received, headers and the raw body. */
export interface SignedRequest {
  readonly method: string;
  /** Path and query as on the request line, still percent-encoded. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Who a Fabric request comes from, and the workspace its credential points at (null when it has none). */
export interface FabricCaller {
  readonly principal: Principal;
  readonly workspaceId: string | null;
}

export type AuthResult =
  { readonly ok: true; readonly caller: FabricCaller } | { readonly ok: false; readonly reason: string };

/** The lookups authentication needs: the core's token check and the AK's principal and SK. */
export interface AuthDeps {
  readonly authenticateToken: (token: string) => Promise<Authenticated>;
  readonly findAkSk: (ak: string) => Promise<SigningKey | undefined>;
  /** True the first time an AK presents a signature within `ttlMs`; false for a replay. */
  readonly claimSignature: (accessKey: string, signature: string, ttlMs: number) => Promise<boolean>;
  readonly now: () => number;
}

/** Reads may be repeated: identical reads signed in the same second carry identical signatures, legitimately. */
const isWrite = (method: string) => !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** Percent-encoding as the Huawei signer does it: everything but A–Z a–z 0–9 - _ . ~, as UTF-8, upper-case hex. */
export function encodeForSigning(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Each segment of the received path decoded and re-encoded, with a trailing `/` appended (the signer always adds one). */
export function canonicalUri(path: string): string {
  const encoded = path
    .split('/')
    .map((segment) => encodeForSigning(decodeURIComponent(segment)))
    .join('/');
  return encoded.endsWith('/') ? encoded : `${encoded}/`;
}

/** Pairs sorted by key, repeated keys expanded one pair per value with the values sorted; `+` reads as a space. */
export function canonicalQuery(query: string): string {
  if (query === '') return '';
  const parsed = parseQuery(query);
  return Object.keys(parsed)
    .sort()
    .flatMap((key) => {
      const value = parsed[key];
      const values = Array.isArray(value) ? [...value].sort() : [value ?? ''];
      return values.map((v) => `${encodeForSigning(key)}=${encodeForSigning(v)}`);
    })
    .join('&');
}

/** `name:value\n` per signed header in the order given (values as received, neither trimmed nor lower-cased). */
export function canonicalHeaders(headers: IncomingHttpHeaders, names: readonly string[]): string | undefined {
  let out = '';
  for (const name of names) {
    const value = headers[name];
    if (value === undefined) return undefined;
    out += `${name}:${Array.isArray(value) ? value.join(',') : value}\n`;
  }
  return out;
}

/** The canonical request of the SDK-HMAC-SHA256 scheme, or undefined when a signed header is missing. */
export function canonicalRequest(
  request: SignedRequest,
  signedHeaders: readonly string[],
  payloadHash: string,
): string | undefined {
  const queryAt = request.url.indexOf('?');
  const path = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
  const query = queryAt < 0 ? '' : request.url.slice(queryAt + 1);
  const headers = canonicalHeaders(request.headers, signedHeaders);
  if (headers === undefined) return undefined;
  return [
    request.method.toUpperCase(),
    canonicalUri(path),
    canonicalQuery(query),
    headers,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

export function stringToSign(sdkDate: string, canonical: string): string {
  return `${SIGNING_ALGORITHM}\n${sdkDate}\n${sha256Hex(canonical)}`;
}

/** Hex HMAC-SHA256 of the string to sign, keyed with the SK itself. */
export function signatureOf(secret: string, toSign: string): string {
  return createHmac('sha256', secret).update(toSign).digest('hex');
}

/** `20261123T082425Z` as epoch milliseconds; NaN when it is not that format or not a real time. */
export function parseSdkDate(value: string): number {
  const m = SDK_DATE.exec(value);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const at = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(at);
  return back.getUTCMonth() === mo - 1 && back.getUTCDate() === d && back.getUTCHours() === h ? at : Number.NaN;
}

export interface ParsedAuthorization {
  readonly accessKey: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/** `SDK-HMAC-SHA256 Access=…, SignedHeaders=a;b, Signature=…`; undefined when it is anything else. */
export function parseAuthorization(value: string): ParsedAuthorization | undefined {
  const m = AUTHORIZATION.exec(value);
  if (!m) return undefined;
  const signedHeaders = m[2]!.split(';');
  if (signedHeaders.some((h) => h === '' || h !== h.toLowerCase())) return undefined;
  return { accessKey: m[1]!, signedHeaders, signature: m[3]!.toLowerCase() };
}

/** The payload hash the signer used: the body's, unless X-Sdk-Content-Sha256 (itself signed) says otherwise. */
function payloadHashOf(
  request: SignedRequest,
  signedHeaders: readonly string[],
): { hash: string } | { reason: string } {
  const actual = sha256Hex(request.body);
  const declared = request.headers['x-sdk-content-sha256'];
  if (declared === undefined) return { hash: actual };
  if (typeof declared !== 'string' || !signedHeaders.includes('x-sdk-content-sha256'))
    return { reason: 'X-Sdk-Content-Sha256 must be signed' };
  // An unsigned payload leaves the body open to change on the way; only a request without one may say so.
  if (declared === UNSIGNED_PAYLOAD)
    return request.body.length === 0 ? { hash: declared } : { reason: 'the body must be signed' };
  return declared.toLowerCase() === actual
    ? { hash: declared }
    : { reason: 'X-Sdk-Content-Sha256 does not match the body' };
}

/**
 * Checks an AK/SK signature the way the Huawei core SDK computes it. Returns the AK's principal, or why not
 * (the reason names no secret and no signature, so it may be shown and logged).
 */
export async function verifySignature(
  request: SignedRequest,
  authorization: string,
  deps: Pick<AuthDeps, 'findAkSk' | 'claimSignature' | 'now'>,
): Promise<AuthResult> {
  const parsed = parseAuthorization(authorization);
  if (!parsed)
    return {
      ok: false,
      reason: `the Authorization header is not "${SIGNING_ALGORITHM} Access=…, SignedHeaders=…, Signature=…"`,
    };
  for (const required of ['host', 'x-sdk-date']) {
    if (!parsed.signedHeaders.includes(required))
      return { ok: false, reason: `SignedHeaders must include ${required}` };
  }
  const sdkDate = request.headers['x-sdk-date'];
  const at = typeof sdkDate === 'string' ? parseSdkDate(sdkDate) : Number.NaN;
  if (Number.isNaN(at)) return { ok: false, reason: 'X-Sdk-Date must be a UTC time as YYYYMMDDTHHmmssZ' };
  if (Math.abs(deps.now() - at) > MAX_CLOCK_SKEW_MS)
    return { ok: false, reason: 'X-Sdk-Date is more than 15 minutes away from the server time' };
  const payload = payloadHashOf(request, parsed.signedHeaders);
  if ('reason' in payload) return { ok: false, reason: payload.reason };
  let canonical: string | undefined;
  try {
    canonical = canonicalRequest(request, parsed.signedHeaders, payload.hash);
  } catch {
    return { ok: false, reason: 'the request path is not validly percent-encoded' };
  }
  if (canonical === undefined) return { ok: false, reason: 'a header named in SignedHeaders is missing' };
  const key = await deps.findAkSk(parsed.accessKey);
  if (!key) return { ok: false, reason: 'the AK is unknown or disabled, or its principal is' };
  const expected = Buffer.from(signatureOf(key.secret, stringToSign(sdkDate as string, canonical)), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(parsed.signature, 'hex')))
    return { ok: false, reason: 'the signature does not match' };
  // The signature has no nonce; a write's signature is its nonce, remembered as long as its date could pass.
  if (
    isWrite(request.method) &&
    !(await deps.claimSignature(parsed.accessKey, parsed.signature, 2 * MAX_CLOCK_SKEW_MS))
  ) {
    return { ok: false, reason: 'this signed request was received before (a replay); sign every write anew' };
  }
  return { ok: true, caller: { principal: key.principal, workspaceId: key.defaultWorkspaceId } };
}

/** Fabric's two credentials: an X-Auth-Token from `POST /api/v1/tokens`, or an AK/SK signature. One, not both. */
export async function authenticate(request: SignedRequest, deps: AuthDeps): Promise<AuthResult> {
  const token = request.headers['x-auth-token'];
  const authorization = request.headers.authorization;
  if (token !== undefined && authorization !== undefined)
    return { ok: false, reason: 'send X-Auth-Token or an AK/SK signature, not both' };
  if (typeof token === 'string') {
    try {
      const found = await deps.authenticateToken(token.trim());
      return { ok: true, caller: { principal: found.principal, workspaceId: found.credential.defaultWorkspaceId } };
    } catch (error) {
      if (isDomainError(error) && error.code === 'unauthenticated') return { ok: false, reason: error.message };
      throw error;
    }
  }
  if (typeof authorization === 'string') return verifySignature(request, authorization, deps);
  return { ok: false, reason: 'send X-Auth-Token or sign the request with an AK/SK (SDK-HMAC-SHA256)' };
}
