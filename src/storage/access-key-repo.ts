import type { AccessKeyKind } from '../domain/access-key.js';
import type { Principal } from '../domain/permissions.js';
import { loadPrincipal } from './principal-repo.js';
import type { AccessKeyRow } from './schema.js';
import type { Engine, Executor, Tx } from './engine.js';
import type { RowStore, RowWrite } from './row-change.js';

/** An access key as it may be shown: never its secret. */
export interface AccessKeyRecord {
  readonly id: string;
  readonly kind: AccessKeyKind;
  readonly name: string;
  readonly principalId: string;
  readonly defaultWorkspaceId: string | null;
  /** A disabled key signs nothing until it is enabled again. */
  readonly status: 'active' | 'disabled';
  readonly createdAt: string;
  /** Moves on with every change of its name or status. */
  readonly revision: number;
}

const toRecord = (row: AccessKeyRow): AccessKeyRecord => ({
  id: row.id,
  kind: row.kind,
  name: row.name,
  principalId: row.principal_id,
  defaultWorkspaceId: row.default_workspace_id,
  status: row.status,
  createdAt: row.created_at,
  revision: row.revision,
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

/**
 * Access keys for the writer's row changes (rename, disable, enable), keyed by id: locked in key order on
 * PostgreSQL. Only the name, status and revision are written, and only over the revision read; the sealed secret
 * is never part of the row. A key's id is generated and never reused, so the revision alone tells its states apart.
 */
export function accessKeyRows(engine: Engine): RowStore<AccessKeyRecord> {
  const forUpdate = engine === 'postgres';
  return {
    async load(tx: Tx, keys: readonly string[]): Promise<Map<string, AccessKeyRecord>> {
      // Key order: two batches wanting the same rows lock them in the same order, so neither waits on the other.
      let query = tx
        .selectFrom('access_keys')
        .selectAll()
        .where('id', 'in', [...keys])
        .orderBy('id');
      if (forUpdate) query = query.forUpdate();
      const rows = await query.execute();
      return new Map(rows.map((row) => [row.id, toRecord(row)]));
    },

    async store(tx: Tx, changes: readonly RowWrite<AccessKeyRecord>[]): Promise<number> {
      let written = 0;
      for (const { row, stored } of changes) {
        const result = await tx
          .updateTable('access_keys')
          .set({ name: row.name, status: row.status, revision: row.revision })
          .where('id', '=', row.id)
          .where('revision', '=', stored.revision)
          .executeTakeFirst();
        written += Number(result.numUpdatedRows);
      }
      return written;
    },
  };
}

/** A key of the given kind with its sealed secret and its principal (any status); undefined when unknown. */
export async function findSealedAccessKey(
  db: Executor,
  kind: AccessKeyKind,
  id: string,
): Promise<
  | { principal: Principal; sealedSecret: string; defaultWorkspaceId: string | null; status: AccessKeyRecord['status'] }
  | undefined
> {
  const row = await db
    .selectFrom('access_keys')
    .innerJoin('principals', 'principals.id', 'access_keys.principal_id')
    .select([
      'access_keys.secret',
      'access_keys.default_workspace_id',
      'access_keys.status as key_status',
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
    status: row.key_status,
  };
}

/** Deletes a key at `expectedRevision`; false when someone else changed it first. */
export async function deleteAccessKey(db: Executor, id: string, expectedRevision: number): Promise<boolean> {
  const result = await db
    .deleteFrom('access_keys')
    .where('id', '=', id)
    .where('revision', '=', expectedRevision)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}
