import type { Connection } from './connection.js';
import { roleAtLeast, type Principal } from './permissions.js';

/**
 * How a principal stands to a connection, on top of what its role allows (permissions.ts):
 * - `use`: a shared connection (every member, as their role allows), or the caller's own connection;
 * - `manage`: someone else's connection, seen by a workspace owner or admin: they may read it (secrets masked, as
 *   always), change its settings and delete it, and hand its owner a connect link, but never start a connect flow
 *   of their own for it, and no call of theirs ever carries its tokens;
 * - `none`: someone else's connection, for everyone else: it does not exist for them (404, left out of lists).
 */
export type ConnectionStanding = 'use' | 'manage' | 'none';

export function standingOf(
  principal: Principal,
  workspaceId: string,
  connection: Pick<Connection, 'ownerUserId'>,
): ConnectionStanding {
  if (connection.ownerUserId === null || connection.ownerUserId === principal.id) return 'use';
  const role = principal.roles.get(workspaceId);
  return role !== undefined && roleAtLeast(role, 'admin') ? 'manage' : 'none';
}

/** Whether lists show a principal every connection of a workspace (owners and admins), or only shared ones and its own. */
export const seesEveryConnection = (principal: Principal, workspaceId: string): boolean => {
  const role = principal.roles.get(workspaceId);
  return role !== undefined && roleAtLeast(role, 'admin');
};
