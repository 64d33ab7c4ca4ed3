import { sql } from 'kysely';

/**
 * PostgreSQL: the physical version of a row (its `xmin`) as the optimistic path read or wrote it. A row's revision
 * moves with every change a client makes, not with what `keys rewrap` does: it re-seals a value in place, by
 * compare-and-swap on that value's text. An optimistic write carries the row's other sealed values forward as it
 * read them, so it must not land over a row re-sealed since it was read, or an old key's value would come back
 * after the rewrap (and be lost with that key). `xmin` changes with every UPDATE of the row, whoever makes it.
 */
const versions = new WeakMap<object, string>();

/** Selected beside a row's columns, as `row_version`. */
export const ROW_VERSION = sql<string>`xmin::text`;

export function rememberRowVersion<T extends object>(row: T, version: string): T {
  versions.set(row, version);
  return row;
}

/**
 * The version a row object was read or written at; '' when it is not known, which no row has: the optimistic
 * write of a row whose version is unknown does not land, and the change goes the locking way.
 */
export const rowVersionOf = (row: object): string => versions.get(row) ?? '';
