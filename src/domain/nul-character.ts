import { validationFailed, type DomainError } from './errors.js';

/**
 * Where the first string or key holding U+0000 sits in a parsed body or query, as a JSON Pointer under
 * `prefix`; undefined when there is none. PostgreSQL text cannot store that character, so every edge refuses it
 * the same way, up front, on both stores.
 */
export function nulCharacterAt(value: unknown, prefix: string): string | undefined {
  const path = nulCharacterPath(value);
  return path && `${prefix}${path.map((key) => `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('')}`;
}

/** The keys down to the first string or key holding U+0000 (outermost first); built only when there is one. */
function nulCharacterPath(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? [] : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const key of Object.keys(value)) {
    if (key.includes('\u0000')) return [key];
    const below = nulCharacterPath((value as Record<string, unknown>)[key]);
    if (below !== undefined) {
      below.unshift(key);
      return below;
    }
  }
  return undefined;
}

/** The refusal of U+0000 at `path`, the same on every edge. */
export function nulCharacterFound(path: string): DomainError {
  return validationFailed([{ path, message: 'must not contain the NUL character (U+0000)' }]);
}
