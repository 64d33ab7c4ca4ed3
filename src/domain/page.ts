import { fieldError } from './errors.js';

/** One page of a list, in a stable order; `nextCursor` is null on the last page. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

export interface PageRequest {
  readonly limit: number;
  readonly cursor?: string;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** Cursors are opaque to clients: the last key of the previous page, base64url-encoded JSON. */
export function encodeCursor(key: string | number): string {
  return Buffer.from(JSON.stringify({ k: key })).toString('base64url');
}

export function decodeCursor<K extends 'string' | 'number'>(cursor: string, kind: K): K extends 'string' ? string : number {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown };
    // Only keys a list can have produced: integer ids, or text the stores can compare (no U+0000).
    const valid = kind === 'number' ? Number.isSafeInteger(parsed.k) : typeof parsed.k === 'string' && !parsed.k.includes('\u0000');
    if (valid) return parsed.k as K extends 'string' ? string : number;
  } catch {
    // fall through to the field error
  }
  throw fieldError('query/cursor', 'is not a cursor this list returned');
}

/** Pages an ordered in-memory list (children of an aggregate) by the key of its last item. */
export function pageOf<T>(items: readonly T[], keyOf: (item: T) => string, request: PageRequest): Page<T> {
  let start = 0;
  if (request.cursor !== undefined) {
    const after = decodeCursor(request.cursor, 'string');
    const index = items.findIndex((item) => keyOf(item) === after);
    if (index < 0) throw fieldError('query/cursor', 'names an item that is no longer in the list');
    start = index + 1;
  }
  const slice = items.slice(start, start + request.limit);
  const more = start + request.limit < items.length;
  return { items: slice, nextCursor: more ? encodeCursor(keyOf(slice[slice.length - 1]!)) : null };
}
