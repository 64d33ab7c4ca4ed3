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

export function decodeCursor<K extends 'string' | 'number'>(
  cursor: string,
  kind: K,
  path = 'query/cursor',
): K extends 'string' ? string : number {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown };
    // Only keys a list can have produced: integer ids, or text the stores can compare (no U+0000).
    const valid =
      kind === 'number' ? Number.isSafeInteger(parsed.k) : typeof parsed.k === 'string' && !parsed.k.includes('\u0000');
    if (valid) return parsed.k as K extends 'string' ? string : number;
  } catch {
    // fall through to the field error
  }
  throw fieldError(path, 'is not a cursor this list returned');
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

/** A window of a list that can be walked both ways (`after` / `before` cursors), with the size of the whole list. */
export interface Window<T> {
  readonly items: readonly T[];
  readonly totalCount: number;
  /** Cursor to pass as `after` for the next window; null at the end. */
  readonly next: string | null;
  /** Cursor to pass as `before` for the previous window; null at the start. */
  readonly prev: string | null;
}

export interface WindowRequest {
  readonly first: number;
  readonly after?: string;
  readonly before?: string;
}

/** Refuses a window request that names both directions. */
export function checkWindowRequest(request: WindowRequest): void {
  if (request.after !== undefined && request.before !== undefined)
    throw fieldError('query/before', 'cannot be combined with after');
}

/**
 * The window of a list fetched in key order: `rows` are up to `first + 1` rows past the cursor (nearest
 * first), so one more than asked says the list goes on in that direction.
 */
export function windowFrom<T>(
  rows: readonly T[],
  keyOf: (item: T) => string | number,
  request: WindowRequest,
  around: {
    readonly totalCount: number;
    readonly hasBefore: (first: T) => boolean;
    readonly hasAfter: (last: T) => boolean;
  },
): Window<T> {
  const backwards = request.before !== undefined;
  const more = rows.length > request.first;
  const near = rows.slice(0, request.first);
  const items = backwards ? [...near].reverse() : near;
  const first = items[0];
  const last = items[items.length - 1];
  const hasBefore = first !== undefined && (backwards ? more : around.hasBefore(first));
  const hasAfter = last !== undefined && (backwards ? around.hasAfter(last) : more);
  return {
    items,
    totalCount: around.totalCount,
    next: hasAfter ? encodeCursor(keyOf(last!)) : null,
    prev: hasBefore ? encodeCursor(keyOf(first!)) : null,
  };
}

/** Windows an ordered in-memory list (children of an aggregate) by key. */
export function windowOf<T>(all: readonly T[], keyOf: (item: T) => string, request: WindowRequest): Window<T> {
  checkWindowRequest(request);
  const cursor = request.after ?? request.before;
  let rows: T[];
  if (cursor === undefined) {
    rows = all.slice(0, request.first + 1);
  } else {
    const key = decodeCursor(cursor, 'string', request.after !== undefined ? 'query/after' : 'query/before');
    const index = all.findIndex((item) => keyOf(item) === key);
    if (index < 0)
      throw fieldError(
        request.after !== undefined ? 'query/after' : 'query/before',
        'names an item that is no longer in the list',
      );
    rows =
      request.after !== undefined
        ? all.slice(index + 1, index + 2 + request.first)
        : all.slice(Math.max(0, index - request.first - 1), index).reverse();
  }
  const position = (item: T) => all.indexOf(item);
  return windowFrom(rows, keyOf, request, {
    totalCount: all.length,
    hasBefore: (first) => position(first) > 0,
    hasAfter: (last) => position(last) < all.length - 1,
  });
}
