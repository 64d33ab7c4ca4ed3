import type { Principal } from '../domain/permissions.js';
import { loadPrincipal } from './principal-repo.js';
import type { UserInvitationRow, UserRow, UserSessionRow } from './schema.js';
import type { Executor } from './engine.js';

/** A user as it may be shown: never the password hash. */
export interface UserRecord {
  readonly id: string;
  readonly email: string;
  readonly displayName: string;
  readonly status: 'active' | 'disabled';
  readonly createdAt: string;
}

/** What a sign-in checks: the hash and the lockout state. */
export interface UserCredentials {
  readonly user: UserRecord;
  readonly passwordHash: string | null;
  readonly failedSignIns: number;
  readonly lockedUntil: string | null;
}

/** An invitation as it may be shown: never its token. */
export interface InvitationRecord {
  readonly id: string;
  readonly workspaceId: string;
  readonly email: string;
  readonly displayName: string | null;
  readonly role: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly acceptedAt: string | null;
  readonly acceptedBy: string | null;
}

function usersQuery(db: Executor) {
  return db
    .selectFrom('users')
    .innerJoin('principals', 'principals.id', 'users.id')
    .selectAll('users')
    .select('principals.status');
}

type JoinedRow = UserRow & { status: 'active' | 'disabled' };

const toCredentials = (row: JoinedRow): UserCredentials => ({
  user: { id: row.id, email: row.email, displayName: row.display_name, status: row.status, createdAt: row.created_at },
  passwordHash: row.password_hash,
  failedSignIns: row.failed_sign_ins,
  lockedUntil: row.locked_until,
});

const toInvitation = (row: UserInvitationRow): InvitationRecord => ({
  id: row.id,
  workspaceId: row.workspace_id,
  email: row.email,
  displayName: row.display_name,
  role: row.role,
  createdBy: row.created_by,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  acceptedAt: row.accepted_at,
  acceptedBy: row.accepted_by,
});

export async function insertUser(db: Executor, row: UserRow): Promise<void> {
  await db.insertInto('users').values(row).execute();
}

export async function findUserByEmail(db: Executor, email: string): Promise<UserCredentials | undefined> {
  const row = await usersQuery(db).where('users.email', '=', email).executeTakeFirst();
  return row && toCredentials(row);
}

export async function findUserById(db: Executor, id: string): Promise<UserCredentials | undefined> {
  const row = await usersQuery(db).where('users.id', '=', id).executeTakeFirst();
  return row && toCredentials(row);
}

/** Records a failed sign-in: the new count, and the lockout when one starts. */
export async function setSignInFailures(
  db: Executor,
  id: string,
  failedSignIns: number,
  lockedUntil: string | null,
): Promise<void> {
  await db
    .updateTable('users')
    .set({ failed_sign_ins: failedSignIns, locked_until: lockedUntil })
    .where('id', '=', id)
    .execute();
}

export async function setPassword(db: Executor, id: string, passwordHash: string, at: string): Promise<void> {
  await db
    .updateTable('users')
    .set({ password_hash: passwordHash, failed_sign_ins: 0, locked_until: null, updated_at: at })
    .where('id', '=', id)
    .execute();
}

export async function insertSession(db: Executor, row: UserSessionRow): Promise<void> {
  await db.insertInto('user_sessions').values(row).execute();
}

/** A session by its token's digest, with its user's principal (roles included); undefined when unknown. */
export async function findSessionByHash(
  db: Executor,
  tokenHash: string,
): Promise<{ session: UserSessionRow; user: UserRecord; principal: Principal } | undefined> {
  const row = await db
    .selectFrom('user_sessions')
    .innerJoin('users', 'users.id', 'user_sessions.user_id')
    .innerJoin('principals', 'principals.id', 'users.id')
    .selectAll('user_sessions')
    .select(['users.email', 'users.display_name', 'users.created_at as user_created_at', 'principals.status'])
    .where('user_sessions.token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!row) return undefined;
  const { email, display_name, user_created_at, status, ...session } = row;
  return {
    session,
    user: { id: session.user_id, email, displayName: display_name, status, createdAt: user_created_at },
    principal: await loadPrincipal(db, { id: session.user_id, name: display_name, status }),
  };
}

export async function touchSession(db: Executor, id: string, at: string): Promise<void> {
  await db.updateTable('user_sessions').set({ last_seen_at: at }).where('id', '=', id).execute();
}

export async function deleteSession(db: Executor, id: string): Promise<boolean> {
  const result = await db.deleteFrom('user_sessions').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/** Drops sessions that can no longer be used: past their expiry, or idle since before `idleBefore`. */
export async function deleteStaleSessions(db: Executor, now: string, idleBefore: string): Promise<number> {
  const result = await db
    .deleteFrom('user_sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<', idleBefore)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function insertInvitation(db: Executor, row: UserInvitationRow): Promise<void> {
  await db.insertInto('user_invitations').values(row).execute();
}

export async function findInvitationByHash(db: Executor, tokenHash: string): Promise<InvitationRecord | undefined> {
  const row = await db
    .selectFrom('user_invitations')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst();
  return row && toInvitation(row);
}

export async function findInvitation(
  db: Executor,
  workspaceId: string,
  id: string,
): Promise<InvitationRecord | undefined> {
  const row = await db
    .selectFrom('user_invitations')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toInvitation(row);
}

export async function listInvitations(
  db: Executor,
  workspaceId: string,
  after: string | undefined,
  limit: number,
): Promise<InvitationRecord[]> {
  let query = db.selectFrom('user_invitations').selectAll().where('workspace_id', '=', workspaceId);
  if (after !== undefined) query = query.where('id', '>', after);
  const rows = await query.orderBy('id').limit(limit).execute();
  return rows.map(toInvitation);
}

/** Marks an invitation used, only if nobody did first: false when it was already accepted. */
export async function markInvitationAccepted(db: Executor, id: string, userId: string, at: string): Promise<boolean> {
  const result = await db
    .updateTable('user_invitations')
    .set({ accepted_at: at, accepted_by: userId })
    .where('id', '=', id)
    .where('accepted_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteInvitation(db: Executor, workspaceId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('user_invitations')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}
