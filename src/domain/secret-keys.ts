/** Which names of settings, headers and URL parameters hold secrets. */

const baseSecretKeys = ['password', 'secret', 'token', 'apikey', 'accesskeysecret', 'privatekey', 'clientsecret'];

/** Keys that a connection type declares secret on top of the common ones. */
const secretKeysByType: Readonly<Record<string, readonly string[]>> = {
  http: ['bearertoken', 'refreshtoken', 'accesstoken'],
  redis: ['auth'],
  mysql: ['sslkey'],
  postgresql: ['sslkey'],
};

/** Header names whose whole value is a credential (RFC 9110 §11.6.2, §11.7.2; cookies carry sessions). */
const credentialHeaders = ['authorization', 'proxyauthorization', 'cookie'];

/** Words that make a name secret wherever they appear in it: `X-Auth-Token`, `x-goog-api-key`, `client-secret`. */
const secretWords = ['password', 'passwd', 'secret', 'token', 'apikey'];

/**
 * Endings that make such a name describe a secret rather than hold one: `tokenUrl` is where to get a token,
 * `apiKeyHeader` the header to put it in, `passwordHint` a reminder, `secretId` the public half of a key pair.
 */
const describingEndings = [
  'url',
  'uri',
  'endpoint',
  'type',
  'name',
  'id',
  'hint',
  'path',
  'file',
  'header',
  'param',
  'parameter',
  'field',
  'in',
  'location',
  'prefix',
  'scheme',
  'format',
  'style',
  'ttl',
  'expiry',
  'expiresat',
  'expiresin',
  'lifetime',
  'length',
  'policy',
  'tokens',
  'count',
  'limit',
  'size',
  'timeout',
  'enabled',
  'required',
  'mode',
  'version',
  'algorithm',
  'encoding',
  'source',
  'provider',
  'arn',
  'ref',
];

/** URL query parameters that carry credentials besides the secret keys: `?key=` (Google), `?sig=` (Azure SAS), … */
const secretParameters = [
  'key',
  'sig',
  'signature',
  'pwd',
  'pass',
  'auth',
  'credential',
  'accesstoken',
  'refreshtoken',
  'idtoken',
];

export const normaliseKey = (key: string) => key.toLowerCase().replace(/[_\-\s.]/g, '');

/** Whether a key is secret by name alone, whatever its value: the common secret keys, the type's, credential headers. */
export function isDeclaredSecretKey(key: string, type?: string): boolean {
  const k = normaliseKey(key);
  return (
    baseSecretKeys.includes(k) ||
    credentialHeaders.includes(k) ||
    (type !== undefined && (secretKeysByType[type]?.includes(k) ?? false))
  );
}

/**
 * Whether a key of a settings object holds a secret (case and `_`/`-` are ignored: `client_secret` counts):
 * a declared one, or a name with a secret word in it that does not describe one. For the latter only a text
 * value is a secret (`maxTokens: 1024` is a number, not a token).
 */
export function isSecretKey(key: string, type?: string): boolean {
  if (isDeclaredSecretKey(key, type)) return true;
  const k = normaliseKey(key);
  return (
    secretWords.some((word) => k.includes(word)) &&
    !describingEndings.some((ending) => k.endsWith(ending) && !secretWords.some((word) => k.endsWith(word)))
  );
}

/** Whether a URL query (or DSN) parameter of this name carries a credential. */
export function isSecretParameter(name: string): boolean {
  return isSecretKey(name) || secretParameters.includes(normaliseKey(name));
}
