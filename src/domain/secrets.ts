import { replaceSpans, secretSpans } from './embedded-secrets.js';
import { validationFailed, type FieldError } from './errors.js';
import { isDeclaredSecretKey, isSecretKey } from './secret-keys.js';

export { isSecretKey } from './secret-keys.js';

/** What every read shows in place of a secret. Writing it back keeps the stored value. */
export const MASK = '******';

/** Prefix of a sealed value as the vault stores it; never leaves the server. */
export const SEALED_PREFIX = 'pbenc:';

/** A sealed value inside a longer string (a URL's password, a `?token=`): the vault's form runs up to a delimiter. */
const SEALED_INSIDE = /pbenc:[^\s:@/?#&;="']+(?::[^\s:@/?#&;="']+)*/g;

export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(SEALED_PREFIX);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `path` extended by one key, escaped as RFC 6901 says. */
export const pointerOf = (path: string, key: string) => `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/**
 * Rebuilds a JSON value with every sealed string replaced by what `replace` returns, at any depth and
 * under any key (a key that is no longer secret may still hold a sealed value), sealed values inside a
 * longer string (a URL's password) included. Keys keep their order.
 */
export function mapSealed(value: unknown, replace: (sealed: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item) => mapSealed(item, replace));
  if (isRecord(value))
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, mapSealed(child, replace)]));
  return typeof value === 'string' ? replaceSealedIn(value, replace) : value;
}

/**
 * A string with the sealed value it is (or the sealed values inside it: a URL's password, a `?token=`) replaced
 * by what `replace` returns; any other string unchanged.
 */
export function replaceSealedIn(text: string, replace: (sealed: string) => string): string {
  if (text.startsWith(SEALED_PREFIX)) return replace(text);
  return text.includes(SEALED_PREFIX) ? text.replace(SEALED_INSIDE, (sealed) => replace(sealed)) : text;
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

type Seal = (plaintext: string | undefined, stored: unknown, path: string) => string;

/**
 * Rebuilds a settings value with every secret replaced by what `seal` returns. `seal` gets the new
 * plaintext, or `undefined` when the caller wrote the mask back, along with what is stored at the same
 * path, so it can keep it. Secrets must be strings or null; anything else is a field error. A secret
 * inside another setting's text (see `secretSpans`) is sealed in place, so the rest stays readable.
 */
export function mapSecrets(
  next: unknown,
  stored: unknown,
  options: { readonly path: string; readonly type?: string; readonly seal: Seal },
): unknown {
  const errors: FieldError[] = [];
  const maskWithoutSecret = (path: string) =>
    errors.push({ path, message: `is the mask "${MASK}" but no secret is stored here to keep` });
  /** The mask written back: the stored value, sealed now if it was stored in clear before it counted as a secret. */
  const keep = (previous: unknown, path: string): string | undefined => {
    if (isSealed(previous)) return options.seal(undefined, previous, path);
    if (typeof previous === 'string' && previous !== '' && previous !== MASK)
      return options.seal(previous, undefined, path);
    maskWithoutSecret(path);
    return undefined;
  };
  const sealInside = (text: string, previous: unknown, path: string): string => {
    const spans = secretSpans(text);
    if (spans.length === 0) return text;
    const before = typeof previous === 'string' ? secretSpans(previous).map((s) => previous.slice(s.start, s.end)) : [];
    return replaceSpans(text, spans, (part, index) =>
      part === MASK ? (keep(before[index], path) ?? part) : options.seal(part, before[index], path),
    );
  };
  const walk = (value: unknown, previous: unknown, path: string): unknown => {
    if (Array.isArray(value)) {
      return value.map((item, index) =>
        walk(item, Array.isArray(previous) ? previous[index] : undefined, `${path}/${index}`),
      );
    }
    if (typeof value === 'string') return sealInside(value, previous, path);
    if (!isRecord(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      const childPath = pointerOf(path, key);
      const previousChild = isRecord(previous) ? previous[key] : undefined;
      const holdsSecret =
        isSecretKey(key, options.type) &&
        (typeof child === 'string' || child === null || isDeclaredSecretKey(key, options.type));
      if (!holdsSecret) {
        // A sealed value under a key that is not (or no longer) secret reads as the mask too; echoing that
        // mask back keeps it rather than storing "******".
        out[key] = child === MASK && isSealed(previousChild) ? previousChild : walk(child, previousChild, childPath);
      } else if (child === null) {
        out[key] = null;
      } else if (typeof child !== 'string') {
        errors.push({ path: childPath, message: 'is a secret and must be a string or null' });
      } else if (child === MASK) {
        out[key] = keep(previousChild, childPath);
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

/** The read view of a settings value: every secret (and anything sealed) shows as the mask, inside URLs too. */
export function maskSecrets(value: unknown, type?: string): unknown {
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item, type));
  if (typeof value === 'string') return isSealed(value) ? MASK : maskInside(value);
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (child !== null && (isSealed(child) || (isSecretKey(key, type) && typeof child === 'string'))) out[key] = MASK;
    else out[key] = maskSecrets(child, type);
  }
  return out;
}

/** A setting's text with the secrets inside it (see `secretSpans`) shown as the mask: `postgres://u:******@h/db`. */
export function maskInside(text: string): string {
  const spans = secretSpans(text);
  return spans.length === 0 ? text : replaceSpans(text, spans, () => MASK);
}

/**
 * The settings a probe uses: sealed values opened where a secret belongs (a secret key, or a secret's place
 * inside a URL or DSN) and nowhere else. A sealed value anywhere else was not put there by plugboard, so it
 * stays shut and goes out as the mask: opening it would send its plaintext where its owner never meant it to go.
 * `open` gets each value's JSON Pointer below `path` (where it was sealed).
 */
export function openSecrets(
  value: unknown,
  type: string | undefined,
  open: (sealed: string, path: string) => string,
  path = '',
): unknown {
  if (Array.isArray(value)) return value.map((item, index) => openSecrets(item, type, open, `${path}/${index}`));
  if (typeof value === 'string') {
    if (isSealed(value)) return MASK;
    const spans = secretSpans(value);
    return spans.length === 0
      ? value
      : replaceSpans(value, spans, (part) => (isSealed(part) ? open(part, path) : part));
  }
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const at = pointerOf(path, key);
    out[key] = isSecretKey(key, type) && isSealed(child) ? open(child, at) : openSecrets(child, type, open, at);
  }
  return out;
}

/**
 * Field errors for every string in client input that holds something shaped like a sealed value. Only
 * plugboard seals; a sealed value from a client was copied from storage or a backup, and must not be stored
 * where an opener could later turn it into plaintext. The value itself is never repeated.
 */
export function findSealedLooking(value: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  forEachString(value, path, (text, at) => {
    if (text.includes(SEALED_PREFIX)) {
      errors.push({
        path: at,
        message: `holds a sealed value ("${SEALED_PREFIX}…"), which only plugboard writes; send the secret itself, or "${MASK}" to keep the stored one`,
      });
    }
  });
  return errors;
}

/** Calls `visit` with every string inside a JSON value and its JSON pointer (`path` + RFC 6901 tokens), in document order. */
export function forEachString(value: unknown, path: string, visit: (text: string, at: string) => void): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) value.forEach((item, index) => forEachString(item, `${path}/${index}`, visit));
  else if (isRecord(value))
    for (const [key, child] of Object.entries(value)) forEachString(child, pointerOf(path, key), visit);
}

/** Throws a validation failure naming every string of client input that looks sealed (see `findSealedLooking`). */
export function refuseSealedInput(value: unknown, path = ''): void {
  const errors = findSealedLooking(value, path);
  if (errors.length > 0) throw validationFailed(errors);
}
