import { randomBytesFromPool } from './random-bytes.js';

/** Client-given ids of workspaces, connectors and auth-scheme configs. */
export const SLUG_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
const slug = new RegExp(SLUG_PATTERN);

export function isSlug(value: string): boolean {
  return slug.test(value);
}

/**
 * Prefixes of resource uids. A uid is minted when a resource is created and never changes or comes back: a
 * resource deleted and created again under the same names is another resource, with another uid.
 */
export const UID_PREFIXES = { workspace: 'wsu', connector: 'ctu', connection: 'cnu', accessClient: 'acu' } as const;

/** A new uid for a resource of this kind, such as `wsu_5k2x…`. */
export const newUid = (kind: keyof typeof UID_PREFIXES): string => newId(UID_PREFIXES[kind]);

const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';

/** A prefixed random id such as `conn_5k2x…`: 16 base-36 characters, about 82 bits. */
export function newId(prefix: string, separator: '_' | '-' = '_'): string {
  const bytes = randomBytesFromPool(16);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % 36];
  return `${prefix}${separator}${out}`;
}
