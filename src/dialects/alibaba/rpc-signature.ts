import { createHmac } from 'node:crypto';
import { percentEncode } from './acs3-signature.js';

/**
 * The legacy RPC signature (`signatureAlgorithm: "v2"`): every parameter of query and form body except
 * `Signature`, sorted by name, each name and value percent-encoded; the string to sign is
 * `METHOD&%2F&` + percent-encode(joined parameters).
 */
export function rpcStringToSign(method: string, parameters: Readonly<Record<string, string>>): string {
  const joined = Object.keys(parameters)
    .filter((name) => name !== 'Signature')
    .sort()
    .map((name) => `${percentEncode(name)}=${percentEncode(parameters[name]!)}`)
    .join('&');
  return `${method.toUpperCase()}&${percentEncode('/')}&${percentEncode(joined)}`;
}

/** Base64 HMAC-SHA1 keyed with the secret followed by `&`. */
export function rpcSignature(method: string, parameters: Readonly<Record<string, string>>, secret: string): string {
  return createHmac('sha1', `${secret}&`).update(rpcStringToSign(method, parameters)).digest('base64');
}
