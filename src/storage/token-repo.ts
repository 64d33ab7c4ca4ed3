import type { Principal } from '../domain/permissions.js';
import { loadPrincipal } from './principal-repo.js';
import type { AuthTokenRow } from './schema.js';
import type { Executor } from './engine.js';

/** A token as it may be shown: never the token itself. */
export interface TokenRecord {
  readonly id: string;
  readonly principalId: string;
  readonly defaultWorkspaceId: string | null;
  readonly createdAt: string;
  readonly expiresAt: string;
}

const toRecord = (row: AuthTokenRow): TokenRecord => ({
  id: row.id,
  principalId: row.principal_id,
  defaultWorkspaceId: row.default_workspace_id,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});

export async function insertToken(db: Executor, row: AuthTokenRow): Promise<void> {
  await db.insertInto('auth_tokens').values(row).execute();
}

export async function findToken(db: Executor, id: string): Promise<TokenRecord | undefined> {
  const row = await db.selectFrom('auth_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toRecord(row);
}

/** The token behind a hash with its principal (any status, expired or not); undefined when unknown or revoked. */
export async function findTokenByHash(
  db: Executor,
  tokenHash: string,
): Promise<{ token: TokenRecord; principal: Principal } | undefined> {
  const row = await db
    .selectFrom('auth_tokens')
    .innerJoin('principals', 'principals.id', 'auth_tokens.principal_id')
    .selectAll('auth_tokens')
    .select(['principals.name', 'principals.status'])
    .where('auth_tokens.token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    token: toRecord(row),
    principal: await loadPrincipal(db, { id: row.principal_id, name: row.name, status: row.status }),
  };
}

export async function deleteToken(db: Executor, id: string): Promise<boolean> {
  const result = await db.deleteFrom('auth_tokens').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/** Drops a principal's tokens that expired before `now`: they can never be used again. */
export async function deleteExpiredTokens(db: Executor, principalId: string, now: string): Promise<void> {
  await db.deleteFrom('auth_tokens').where('principal_id', '=', principalId).where('expires_at', '<=', now).execute();
}
