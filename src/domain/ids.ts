import { randomBytes } from 'node:crypto';

/** Client-given ids of workspaces, connectors and auth-scheme configs. */
export const SLUG_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
const slug = new RegExp(SLUG_PATTERN);

export function isSlug(value: string): boolean {
  return slug.test(value);
}

const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';

/** A prefixed random id such as `conn_5k2x…`: 16 base-36 characters, about 82 bits. */
export function newId(prefix: string, separator: '_' | '-' = '_'): string {
  const bytes = randomBytes(16);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % 36];
  return `${prefix}${separator}${out}`;
}
