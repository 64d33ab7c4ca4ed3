import { sql } from 'kysely';

/**
 * The uid of the workspace a row belonged to, read in the same statement as the row: what its secrets are sealed
 * for. A row change then needs no read of its own before it. It stays true for as long as that very row exists:
 * the row goes with its workspace (`on delete cascade`), uids are never given twice, and a row change is written
 * only over the row it was computed from (its uid and revision, and on the optimistic path its version), so a
 * workspace deleted and created again under the same id makes the write of a row read before that miss, and the
 * change runs again on the row as it is now, with the new workspace's uid.
 */
const uids = new WeakMap<object, string>();

/** Selected beside the columns of a row of `table`, as `workspace_uid`. */
export const workspaceUidOfRow = (table: 'toolsets' | 'connections') =>
  sql<string>`(select workspaces.uid from workspaces where workspaces.id = ${sql.ref(`${table}.workspace_id`)})`;

export function rememberWorkspaceUid<T extends object>(row: T, uid: string | null | undefined): T {
  if (uid) uids.set(row, uid);
  return row;
}

/** The workspace uid a row object was read with (or carried from the row it was made from); undefined if none. */
export const workspaceUidOf = (row: object): string | undefined => uids.get(row);

/** A row's next state belongs to the workspace of the row it was computed from. */
export function carryWorkspaceUid(from: object, to: object): void {
  const uid = uids.get(from);
  if (uid !== undefined && !uids.has(to)) uids.set(to, uid);
}
