import { validationFailed, type FieldError } from './errors.js';

/** What every read shows in place of a secret. Writing it back keeps the stored value. */
export const MASK = '******';

/** Prefix of a sealed value as the vault stores it; never leaves the server. */
export const SEALED_PREFIX = 'pbenc:';

const baseSecretKeys = ['password', 'secret', 'token', 'apikey', 'accesskeysecret', 'privatekey', 'clientsecret'];

/** Keys that a connection type declares secret on top of the common ones. */
const secretKeysByType: Readonly<Record<string, readonly string[]>> = {
  http: ['bearertoken', 'refreshtoken', 'accesstoken'],
  redis: ['auth'],
  mysql: ['sslkey'],
  postgresql: ['sslkey'],
};

const normalise = (key: string) => key.toLowerCase().replace(/[_-]/g, '');

/** Whether a key of a settings object holds a secret (case and `_`/`-` are ignored: `client_secret` counts). */
export function isSecretKey(key: string, type?: string): boolean {
  const k = normalise(key);
  return baseSecretKeys.includes(k) || (type !== undefined && (secretKeysByType[type]?.includes(k) ?? false));
}

export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(SEALED_PREFIX);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Rebuilds a JSON value with every sealed string replaced by what `replace` returns, at any depth and
 * under any key (a key that is no longer secret may still hold a sealed value). Keys keep their order.
 */
export function mapSealed(value: unknown, replace: (sealed: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item) => mapSealed(item, replace));
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, mapSealed(child, replace)]));
  return isSealed(value) ? replace(value) : value;
}

/** Every sealed string inside a JSON value, in document order. */
export function listSealed(value: unknown): string[] {
  const found: string[] = [];
  mapSealed(value, (sealed) => {
    found.push(sealed);
    return sealed;
  });
  return found;
}

/**
 * Rebuilds a settings value with every secret replaced by what `seal` returns. `seal` gets the new
 * plaintext, or `undefined` when the caller wrote the mask back, along with what is stored at the same
 * path, so it can keep it. Secrets must be strings or null; anything else is a field error.
 */
export function mapSecrets(
  next: unknown,
  stored: unknown,
  options: {
    readonly path: string;
    readonly type?: string;
    readonly seal: (plaintext: string | undefined, stored: unknown, path: string) => string;
  },
): unknown {
  const errors: FieldError[] = [];
  const walk = (value: unknown, previous: unknown, path: string): unknown => {
    if (Array.isArray(value)) {
      return value.map((item, index) => walk(item, Array.isArray(previous) ? previous[index] : undefined, `${path}/${index}`));
    }
    if (!isRecord(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      const childPath = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      const previousChild = isRecord(previous) ? previous[key] : undefined;
      if (!isSecretKey(key, options.type)) {
        // A sealed value under a key that is not (or no longer) secret reads as the mask too; echoing that
        // mask back keeps it rather than storing "******".
        out[key] = child === MASK && isSealed(previousChild) ? previousChild : walk(child, previousChild, childPath);
      } else if (child === null) {
        out[key] = null;
      } else if (typeof child !== 'string') {
        errors.push({ path: childPath, message: 'is a secret and must be a string or null' });
      } else if (child === MASK) {
        if (!isSealed(previousChild)) {
          errors.push({ path: childPath, message: `is the mask "${MASK}" but no secret is stored here to keep` });
        } else {
          out[key] = options.seal(undefined, previousChild, childPath);
        }
      } else {
        out[key] = options.seal(child, previousChild, childPath);
      }
    }
    return out;
  };
  const result = walk(next, stored, options.path);
  if (errors.length > 0) throw validationFailed(errors);
  return result;
}

/** The read view of a settings value: every secret (and anything sealed) shows as the mask. */
export function maskSecrets(value: unknown, type?: string): unknown {
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item, type));
  if (!isRecord(value)) return isSealed(value) ? MASK : value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (child !== null && (isSealed(child) || (isSecretKey(key, type) && typeof child === 'string'))) out[key] = MASK;
    else out[key] = maskSecrets(child, type);
  }
  return out;
}
