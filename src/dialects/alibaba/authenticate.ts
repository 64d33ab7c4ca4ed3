import { timingSafeEqual } from 'node:crypto';
import { DomainError } from '../../domain/errors.js';
import type { AccessKeyService, SigningKey } from '../../services/access-key-service.js';
import type { NonceService } from '../../services/nonce-service.js';
import {
  ACS3_ALGORITHM,
  acs3Signature,
  parseAcs3Authorization,
  sha256Hex,
  type Acs3Request,
} from './acs3-signature.js';
import { AlibabaError } from './errors.js';
import { rpcSignature } from './rpc-signature.js';

/** Alibaba accepts a request dated at most 15 minutes from its own clock, either way. */
export const TIMESTAMP_WINDOW_MS = 15 * 60 * 1000;
// A replay can pass the date check until the date is 15 minutes behind: remember nonces twice that long.
const NONCE_TTL_MS = 2 * TIMESTAMP_WINDOW_MS;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** A signed request as received: what the signature and the replay checks need, nothing more. */
export interface SignedRequest extends Acs3Request {
  /** The body bytes exactly as received (empty when there was none). */
  readonly rawBody: Buffer;
  /** Form-body parameters, which the legacy RPC signature covers along with the query. */
  readonly formParameters: Readonly<Record<string, string>>;
}

export interface AlibabaAuthDeps {
  readonly accessKeys: Pick<AccessKeyService, 'findAccessKeyOfAnyStatus'>;
  readonly nonces: Pick<NonceService, 'claim'>;
  readonly now: () => number;
}

/** Whether the RPC products' legacy `Signature=` query style is accepted (ROA products sign with ACS3 only). */
export interface AuthOptions {
  readonly acceptRpcSignature: boolean;
}

const headerOf = (request: Acs3Request, name: string) => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function checkTimestamp(value: string | undefined, name: string, now: number): void {
  if (value === undefined || value === '')
    throw new AlibabaError(
      400,
      name === 'Timestamp' ? 'MissingTimestamp' : 'MissingParameter',
      `${name} is mandatory for this action.`,
    );
  const at = TIMESTAMP.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) {
    throw new AlibabaError(
      400,
      'InvalidTimeStamp.Format',
      `Specified time stamp or date value is not well formatted: ${name} must look like 2026-01-31T08:00:00Z (UTC).`,
    );
  }
  if (Math.abs(now - at) > TIMESTAMP_WINDOW_MS) {
    throw new AlibabaError(
      400,
      'InvalidTimeStamp.Expired',
      `Specified time stamp or date value is expired: ${name} ${value} is more than 15 minutes away from the server time ${new Date(now).toISOString()}.`,
    );
  }
}

async function keyOf(deps: AlibabaAuthDeps, accessKeyId: string): Promise<SigningKey> {
  const key = await deps.accessKeys.findAccessKeyOfAnyStatus(accessKeyId);
  if (!key) throw new AlibabaError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
  return key;
}

/** Checks after the signature: the key and its principal are enabled and the nonce has not been seen in the window. */
async function admit(deps: AlibabaAuthDeps, key: SigningKey, accessKeyId: string, nonce: string): Promise<SigningKey> {
  if (!key.isActive) throw new AlibabaError(400, 'InvalidAccessKeyId.Inactive', 'Specified access key is disabled.');
  let fresh: boolean;
  try {
    fresh = await deps.nonces.claim(`alibaba:${accessKeyId}`, nonce, NONCE_TTL_MS);
  } catch {
    throw new DomainError('service-unavailable', 'The replay check is unavailable right now; retry shortly.');
  }
  if (!fresh) throw new AlibabaError(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.');
  return key;
}

async function verifyAcs3(request: SignedRequest, authorization: string, deps: AlibabaAuthDeps): Promise<SigningKey> {
  const { key, accessKeyId, nonce, declaredHash } = await verifyAcs3Headers(request, authorization, deps);
  if (!sameText(sha256Hex(request.rawBody), declaredHash.toLowerCase())) {
    throw new AlibabaError(
      400,
      'SignatureDoesNotMatch',
      'x-acs-content-sha256 does not match the SHA-256 of the request body received.',
    );
  }
  return admit(deps, key, accessKeyId, nonce);
}

/**
 * The part of an ACS3 check that needs no body: the signature covers the headers, the declared body hash among
 * them, so a request whose signature does not hold is refused before its body is read.
 */
async function verifyAcs3Headers(request: Acs3Request, authorization: string, deps: AlibabaAuthDeps) {
  const parsed = parseAcs3Authorization(authorization);
  if (!parsed) {
    const algorithm = authorization.split(' ')[0] ?? '';
    if (algorithm !== ACS3_ALGORITHM) {
      throw new AlibabaError(
        400,
        'InvalidSignatureMethod',
        `Specified signature method is not supported: sign with ${ACS3_ALGORITHM} (the SDKs' default).`,
      );
    }
    throw new AlibabaError(
      400,
      'IncompleteSignature',
      'The Authorization header must carry Credential, SignedHeaders and Signature.',
    );
  }
  const now = deps.now();
  checkTimestamp(headerOf(request, 'x-acs-date'), 'x-acs-date', now);
  const nonce = headerOf(request, 'x-acs-signature-nonce');
  if (!nonce)
    throw new AlibabaError(400, 'MissingSignatureNonce', 'x-acs-signature-nonce is mandatory for this action.');
  const declaredHash = headerOf(request, 'x-acs-content-sha256');
  if (!declaredHash)
    throw new AlibabaError(
      400,
      'IncompleteSignature',
      'x-acs-content-sha256 is mandatory: the hex SHA-256 of the request body.',
    );
  const key = await keyOf(deps, parsed.accessKeyId);
  if (!sameText(acs3Signature(request, key.secret), parsed.signature)) {
    throw new AlibabaError(
      400,
      'SignatureDoesNotMatch',
      'Specified signature does not match our calculation. Check the AccessKey secret and what is signed.',
    );
  }
  return { key, accessKeyId: parsed.accessKeyId, nonce, declaredHash };
}

/**
 * For routes that read large bodies (a toolset's OpenAPI document): proves, before the body is read, that an
 * enabled AccessKey signed the request (ACS3; the legacy RPC signature covers form parameters, so it cannot be
 * checked without the body and is refused here). {@link authenticateAlibaba} still runs once the body is in: the
 * body's hash and the nonce are checked there.
 */
export async function authenticateBeforeBody(request: Acs3Request, deps: AlibabaAuthDeps): Promise<void> {
  const authorization = headerOf(request, 'authorization');
  if (!authorization)
    throw new AlibabaError(
      400,
      'MissingAccessKeyId',
      'AccessKeyId is mandatory for this action: sign the request with an AccessKey pair (ACS3-HMAC-SHA256).',
    );
  const { key } = await verifyAcs3Headers(request, authorization, deps);
  if (!key.isActive) throw new AlibabaError(400, 'InvalidAccessKeyId.Inactive', 'Specified access key is disabled.');
}

async function verifyRpc(request: SignedRequest, deps: AlibabaAuthDeps): Promise<SigningKey> {
  const parameters = { ...request.formParameters, ...request.query };
  const required = (name: string) => {
    const value = parameters[name];
    if (value === undefined || value === '')
      throw new AlibabaError(400, `Missing${name}`, `${name} is mandatory for this action.`);
    return value;
  };
  const accessKeyId = required('AccessKeyId');
  const signature = required('Signature');
  if ((parameters.SignatureMethod ?? 'HMAC-SHA1') !== 'HMAC-SHA1') {
    throw new AlibabaError(
      400,
      'InvalidSignatureMethod',
      'Specified signature method is not supported: SignatureMethod must be HMAC-SHA1.',
    );
  }
  checkTimestamp(parameters.Timestamp, 'Timestamp', deps.now());
  const nonce = required('SignatureNonce');
  const key = await keyOf(deps, accessKeyId);
  if (!sameText(rpcSignature(request.method, parameters, key.secret), signature)) {
    throw new AlibabaError(
      400,
      'SignatureDoesNotMatch',
      'Specified signature does not match our calculation. Check the AccessKey secret and what is signed.',
    );
  }
  return admit(deps, key, accessKeyId, nonce);
}

/**
 * Proves who signed a request: ACS3-HMAC-SHA256 in `Authorization`, or (RPC products) the legacy
 * HMAC-SHA1 `Signature` parameter. Refusals are Alibaba's own codes; neither secret nor signature is ever
 * part of a message.
 */
export async function authenticateAlibaba(
  request: SignedRequest,
  deps: AlibabaAuthDeps,
  options: AuthOptions,
): Promise<SigningKey> {
  const authorization = headerOf(request, 'authorization');
  if (authorization) return verifyAcs3(request, authorization, deps);
  if (
    options.acceptRpcSignature &&
    (request.query.Signature !== undefined || request.formParameters.Signature !== undefined)
  ) {
    return verifyRpc(request, deps);
  }
  throw new AlibabaError(
    400,
    'MissingAccessKeyId',
    'AccessKeyId is mandatory for this action: sign the request with an AccessKey pair.',
  );
}
