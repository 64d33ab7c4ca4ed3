import type { AccessKeyKind } from '../domain/access-key.js';
import type { Principal } from '../domain/permissions.js';
import { loadPrincipal } from './principal-repo.js';
import type { AccessKeyRow } from './schema.js';
import type { Executor } from './engine.js';

/** An access key as it may be shown: never its secret. */
export interface AccessKeyRecord {
  readonly id: string;
  readonly kind: AccessKeyKind;
  readonly name: string;
  readonly principalId: string;
  readonly defaultWorkspaceId: string | null;
  readonly createdAt: string;
}

const toRecord = (row: AccessKeyRow): AccessKeyRecord => ({
  id: row.id,
  kind: row.kind,
  name: row.name,
  principalId: row.principal_id,
  defaultWorkspaceId: row.default_workspace_id,
  createdAt: row.created_at,
});

export async function insertAccessKey(db: Executor, row: AccessKeyRow): Promise<void> {
  await db.insertInto('access_keys').values(row).execute();
}

/** The keys issued for this workspace whose principal is still a member of it, by id. */
export async function listAccessKeysInWorkspace(
  db: Executor,
  workspaceId: string,
  after: string | undefined,
  limit: number,
): Promise<AccessKeyRecord[]> {
  let query = db
    .selectFrom('access_keys')
    .innerJoin('memberships', 'memberships.principal_id', 'access_keys.principal_id')
    .selectAll('access_keys')
    .where('memberships.workspace_id', '=', workspaceId)
    // A key is managed from the workspace it was issued for, even if its principal belongs to others too.
    .where('access_keys.default_workspace_id', '=', workspaceId);
  if (after !== undefined) query = query.where('access_keys.id', '>', after);
  const rows = await query.orderBy('access_keys.id').limit(limit).execute();
  return rows.map(toRecord);
}

export async function findAccessKeyRecord(db: Executor, id: string): Promise<AccessKeyRecord | undefined> {
  const row = await db.selectFrom('access_keys').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toRecord(row);
}

/** A key of the given kind with its sealed secret and its principal (any status); undefined when unknown. */
export async function findSealedAccessKey(
  db: Executor,
  kind: AccessKeyKind,
  id: string,
): Promise<{ principal: Principal; sealedSecret: string; defaultWorkspaceId: string | null } | undefined> {
  const row = await db
    .selectFrom('access_keys')
    .innerJoin('principals', 'principals.id', 'access_keys.principal_id')
    .select([
      'access_keys.secret',
      'access_keys.default_workspace_id',
      'principals.id',
      'principals.name',
      'principals.status',
    ])
    .where('access_keys.id', '=', id)
    .where('access_keys.kind', '=', kind)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    principal: await loadPrincipal(db, row),
    sealedSecret: row.secret,
    defaultWorkspaceId: row.default_workspace_id,
  };
}

export async function deleteAccessKey(db: Executor, id: string): Promise<boolean> {
  const result = await db.deleteFrom('access_keys').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}
