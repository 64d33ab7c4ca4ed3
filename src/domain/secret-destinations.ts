import { secretSpans } from './embedded-secrets.js';
import { validationFailed, type FieldError } from './errors.js';
import { normaliseKey } from './secret-keys.js';
import { MASK, forEachString, isSealed, maskInside, pointerOf } from './secrets.js';

/** Where a resource sends its secrets: each destination field's JSON Pointer and its value, secrets masked. */
export type Destinations = ReadonlyMap<string, string>;

/** Keys that name where a system is (`host`, `port`, …) or how it is reached (`tls`: off sends secrets in clear). */
const destinationKeys = [
  'host',
  'hostname',
  'hosts',
  'port',
  'url',
  'uri',
  'baseurl',
  'endpoint',
  'server',
  'servers',
  'address',
  'socketpath',
  'tls',
  'ssl',
  'sslmode',
  'dsn',
  'connectionstring',
];
const destinationEndings = ['url', 'uri', 'host', 'endpoint'];
const LOOKS_LIKE_URL = /^[a-z][a-z0-9+.-]*:(?:[a-z][a-z0-9+.-]*:)*\/\//i;

export function isDestinationKey(key: string): boolean {
  const k = normaliseKey(key);
  return destinationKeys.includes(k) || destinationEndings.some((ending) => k.endsWith(ending));
}

/** A destination's value as compared: the secrets inside a URL masked, so that entering a new password is no move. */
function comparable(value: unknown): string {
  if (typeof value !== 'string') return JSON.stringify(value ?? null);
  return isSealed(value) || value === MASK ? MASK : maskInside(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The destination fields of a settings value, at any depth: keys that name a host, port, URL or TLS switch,
 * any other text that is a URL (a webhook, a DSN), and any text with a secret inside (a connection string).
 * Absent and null fields are left out.
 */
export function destinationsOf(settings: unknown, path: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (value: unknown, at: string, key: string | undefined): void => {
    if (value === undefined || value === null) return;
    if (key !== undefined && isDestinationKey(key) && !isRecord(value) && !Array.isArray(value)) {
      found.set(at, comparable(value));
    } else if (typeof value === 'string') {
      // A text that carries a secret of its own (`Server=db;Password=…`) names where that secret goes.
      if (LOOKS_LIKE_URL.test(value) || secretSpans(value).length > 0) found.set(at, comparable(value));
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => walk(item, `${at}/${index}`, key));
    } else if (isRecord(value)) {
      for (const [childKey, child] of Object.entries(value)) walk(child, pointerOf(at, childKey), childKey);
    }
  };
  walk(settings, path, undefined);
  return found;
}

/** Paths of client input that keep a stored secret by its mask: the whole value, or a secret inside a URL. */
export function keptSecretsOf(input: unknown, path: string): string[] {
  const kept: string[] = [];
  forEachString(input, path, (value, at) => {
    if (value === MASK || secretSpans(value).some((span) => value.slice(span.start, span.end) === MASK)) kept.push(at);
  });
  return kept;
}

/** Destination fields whose value differs between two states (added and removed ones too). */
export function movedDestinations(before: Destinations, after: Destinations): string[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths].filter((path) => before.get(path) !== after.get(path));
}

export const RETARGET_HINT = 'enter the secret again when you change where it is sent';

/**
 * Refuses a write that moves a destination while keeping a stored secret by its mask (or by leaving it out
 * of a PATCH): the secret was entered for the old destination, and whoever may edit a resource may not read
 * its secrets, so letting them point it elsewhere would hand them the secret. Entering it again is allowed.
 * The destinations are found only when a secret is kept: a write that enters every secret it has (a new
 * password, the commonest change) moves nothing that matters here.
 */
export function checkSecretsStay(before: () => Destinations, after: () => Destinations, kept: readonly string[]): void {
  if (kept.length === 0) return;
  const moved = movedDestinations(before(), after());
  if (moved.length === 0) return;
  const errors: FieldError[] = [
    ...moved.map((path) => ({ path, message: `changes where the stored secrets are sent; ${RETARGET_HINT}` })),
    ...kept.map((path) => ({ path, message: `keeps a stored secret by its mask; ${RETARGET_HINT}` })),
  ];
  throw validationFailed(
    errors,
    `This write changes where stored secrets are sent (${moved.join(', ')}) while keeping them by their mask (${kept.join(', ')}): ${RETARGET_HINT}.`,
  );
}
