import { createHash, createHmac } from 'node:crypto';

/** The one ACS3 algorithm the official clients use by default (SM3 and RSA are opt-in and not accepted). */
export const ACS3_ALGORITHM = 'ACS3-HMAC-SHA256';

export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** What an ACS3 signature covers, as the server received it. */
export interface Acs3Request {
  readonly method: string;
  /** The raw path before `?`, still percent-encoded. */
  readonly path: string;
  /** The decoded query parameters (the last value of a repeated name wins, as the SDKs never repeat one). */
  readonly query: Readonly<Record<string, string>>;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** The parts of `Authorization: ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…`. */
export interface Acs3Authorization {
  readonly accessKeyId: string;
  readonly signedHeaders: string;
  readonly signature: string;
}

export const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** encodeURIComponent plus `!'()*`, as Alibaba's signers percent-encode (RFC 3986 unreserved set kept). */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Undefined when the header is not an ACS3 authorization at all or lacks one of its three parts. */
export function parseAcs3Authorization(header: string): Acs3Authorization | undefined {
  if (!header.startsWith(`${ACS3_ALGORITHM} `)) return undefined;
  const parts = new Map<string, string>();
  for (const part of header.slice(ACS3_ALGORITHM.length + 1).split(',')) {
    const separator = part.indexOf('=');
    if (separator > 0) parts.set(part.slice(0, separator).trim(), part.slice(separator + 1).trim());
  }
  const accessKeyId = parts.get('Credential');
  const signedHeaders = parts.get('SignedHeaders');
  const signature = parts.get('Signature');
  if (!accessKeyId || signedHeaders === undefined || !signature) return undefined;
  return { accessKeyId, signedHeaders, signature };
}

/** The raw path with the three replacements the SDK applies before signing (`+` → `%20`, `*` → `%2A`, `%7E` → `~`). */
export function canonicalUri(rawPath: string): string {
  return (rawPath === '' ? '/' : rawPath).replace(/\+/g, '%20').replace(/\*/g, '%2A').replace(/%7E/gi, '~');
}

/** Sorted by name (code-point order), values re-encoded; names as given, as the SDK leaves them. */
export function canonicalQuery(query: Readonly<Record<string, string>>): string {
  return Object.keys(query)
    .sort()
    .map((name) => `${name}=${percentEncode(query[name]!)}`)
    .join('&');
}

/** Every `x-acs-*` header received, plus `host` and `content-type` when present: the signed header set. */
export function canonicalHeaders(headers: Acs3Request['headers']): { lines: string; names: string } {
  const names = Object.keys(headers)
    .map((name) => name.toLowerCase())
    .filter((name) => name.startsWith('x-acs-') || name === 'host' || name === 'content-type')
    .filter((name) => headers[name] !== undefined)
    .sort();
  const unique = [...new Set(names)];
  const lines = unique
    .map((name) => {
      const value = headers[name]!;
      return `${name}:${Array.isArray(value) ? value.map((v) => v.trim()).join(',') : value.trim()}\n`;
    })
    .join('');
  return { lines, names: unique.join(';') };
}

/** The canonical request: method, URI, query, headers, signed header names, payload hash (`x-acs-content-sha256`). */
export function canonicalRequest(request: Acs3Request): string {
  const { lines, names } = canonicalHeaders(request.headers);
  const payloadHash = request.headers['x-acs-content-sha256'];
  return [
    request.method.toUpperCase(),
    canonicalUri(request.path),
    canonicalQuery(request.query),
    lines,
    names,
    typeof payloadHash === 'string' ? payloadHash : '',
  ].join('\n');
}

export function stringToSign(request: Acs3Request): string {
  return `${ACS3_ALGORITHM}\n${sha256Hex(canonicalRequest(request))}`;
}

/** Lowercase hex HMAC-SHA256 of the string to sign, keyed with the AccessKey secret as it is. */
export function acs3Signature(request: Acs3Request, secret: string): string {
  return createHmac('sha256', secret).update(stringToSign(request)).digest('hex');
}
