/**
 * Where the first string or key holding U+0000 sits in a parsed body or query, as a JSON Pointer under
 * `prefix`; undefined when there is none. PostgreSQL text cannot store that character, so every edge refuses it
 * the same way, up front, on both stores.
 */
export function nulCharacterAt(value: unknown, prefix: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? prefix : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const path = `${prefix}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    const found = key.includes('\u0000') ? path : nulCharacterAt(item, path);
    if (found !== undefined) return found;
  }
  return undefined;
}
