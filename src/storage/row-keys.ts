import { sql } from 'kysely';

/**
 * The keys of the writer's row changes: a row of a workspace is known by the workspace's id and its own id (or
 * name), joined by U+0000, which neither can hold.
 */
export const rowKey = (workspaceId: string, id: string | number): string => `${workspaceId}\u0000${id}`;

/** The (workspace id, id) pairs of row keys. */
export const pairsOf = (keys: readonly string[]): [string, string][] =>
  keys.map((key) => key.split('\u0000') as [string, string]);

/** PostgreSQL: pairs as the two parallel arrays an `unnest` condition ({@link inKeyArrays}) takes as parameters. */
export const keyArrays = (pairs: readonly (readonly [string, string | number])[]) => [
  pairs.map((p) => p[0]),
  pairs.map((p) => p[1]),
];

/**
 * PostgreSQL: whether (`workspace`, `id`) — two columns of a table — is one of the pairs of two array parameters
 * (the workspace ids' and the ids', text unless the ids are numbers): the statement stays the same text whatever
 * the number of rows.
 */
export const inKeyArrays = (workspace: string, id: string, ids: 'text' | 'bigint' = 'text') =>
  sql<boolean>`(${sql.ref(workspace)}, ${sql.ref(id)}) in (select k.w, k.i from unnest(${[]}::text[], ${[]}::${sql.raw(ids)}[]) as k(w, i))`;
