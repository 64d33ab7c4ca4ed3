import { sql } from 'kysely';
import type { Principal, Role } from '../domain/permissions.js';
import type { ApiKeyRow, PrincipalRow } from './schema.js';
import type { Engine, Executor, Tx } from './engine.js';
import type { RowStore, RowWrite } from './row-change.js';
import { pairsOf, rowKey } from './row-keys.js';

export interface ApiKeyRecord {
  readonly id: string;
  readonly principalId: string;
  readonly name: string;
  readonly prefix: string;
  readonly defaultWorkspaceId: string | null;
  readonly createdAt: string;
}

export interface Member {
  readonly workspaceId: string;
  readonly principalId: string;
  readonly name: string;
  readonly kind: PrincipalRow['kind'];
  readonly status: PrincipalRow['status'];
  readonly role: Role;
  readonly createdAt: string;
  /** Moves on with every role change. */
  readonly revision: number;
}

const toApiKey = (row: ApiKeyRow): ApiKeyRecord => ({
  id: row.id,
  principalId: row.principal_id,
  name: row.name,
  prefix: row.prefix,
  defaultWorkspaceId: row.default_workspace_id,
  createdAt: row.created_at,
});

export async function countPrincipals(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('principals')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertPrincipal(db: Executor, row: PrincipalRow): Promise<void> {
  await db.insertInto('principals').values(row).execute();
}

export async function upsertMembership(
  db: Executor,
  workspaceId: string,
  principalId: string,
  role: Role,
  at: string,
): Promise<void> {
  await db
    .insertInto('memberships')
    .values({ workspace_id: workspaceId, principal_id: principalId, role, created_at: at })
    .onConflict((oc) =>
      oc
        .columns(['workspace_id', 'principal_id'])
        .doUpdateSet((eb) => ({ role, revision: eb('memberships.revision', '+', 1) })),
    )
    .execute();
}

/** Deletes a membership at `expectedRevision`; false when someone else changed it first. */
export async function deleteMembership(
  db: Executor,
  workspaceId: string,
  principalId: string,
  expectedRevision: number,
): Promise<boolean> {
  const result = await db
    .deleteFrom('memberships')
    .where('workspace_id', '=', workspaceId)
    .where('principal_id', '=', principalId)
    .where('revision', '=', expectedRevision)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export async function countOwners(db: Executor, workspaceId: string): Promise<number> {
  const row = await db
    .selectFrom('memberships')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('role', '=', 'owner')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

function membersQuery(db: Executor, workspaceId: string) {
  return db
    .selectFrom('memberships')
    .innerJoin('principals', 'principals.id', 'memberships.principal_id')
    .select([
      'principals.id',
      'principals.name',
      'principals.kind',
      'principals.status',
      'memberships.role',
      'memberships.created_at',
      'memberships.revision',
      'memberships.workspace_id',
    ])
    .where('memberships.workspace_id', '=', workspaceId);
}

type MemberRow = Awaited<ReturnType<ReturnType<typeof membersQuery>['executeTakeFirstOrThrow']>>;

const toMember = (r: MemberRow): Member => ({
  workspaceId: r.workspace_id,
  principalId: r.id,
  name: r.name,
  kind: r.kind,
  status: r.status,
  role: r.role as Role,
  createdAt: r.created_at,
  revision: r.revision,
});

export async function listMembers(
  db: Executor,
  workspaceId: string,
  after: string | undefined,
  limit: number,
): Promise<Member[]> {
  let query = membersQuery(db, workspaceId);
  if (after !== undefined) query = query.where('principals.id', '>', after);
  const rows = await query.orderBy('principals.id').limit(limit).execute();
  return rows.map(toMember);
}

export async function findMember(db: Executor, workspaceId: string, principalId: string): Promise<Member | undefined> {
  const row = await membersQuery(db, workspaceId).where('principals.id', '=', principalId).executeTakeFirst();
  return row && toMember(row);
}

/** The key of a membership for {@link Writer.change}. */
export const memberKey = (workspaceId: string, principalId: string) => rowKey(workspaceId, principalId);

/**
 * Memberships for the writer's row changes (role changes), with their principal's name, kind and status: only
 * the membership rows are locked (in key order, on PostgreSQL) and written. A row is written only over the state
 * it was read from: same revision and same creation time, not a membership removed and given again meanwhile.
 */
export function memberRows(engine: Engine): RowStore<Member> {
  const forUpdate = engine === 'postgres';
  return {
    async load(tx: Tx, keys: readonly string[]): Promise<Map<string, Member>> {
      const pairs = pairsOf(keys);
      let query = tx
        .selectFrom('memberships')
        .innerJoin('principals', 'principals.id', 'memberships.principal_id')
        .select([
          'principals.id',
          'principals.name',
          'principals.kind',
          'principals.status',
          'memberships.role',
          'memberships.created_at',
          'memberships.revision',
          'memberships.workspace_id',
        ])
        .where((eb) =>
          eb(
            eb.refTuple('memberships.workspace_id', 'memberships.principal_id'),
            'in',
            pairs.map(([workspaceId, principalId]) => eb.tuple(workspaceId, principalId)),
          ),
        )
        // Key order: two batches wanting the same rows lock them in the same order, so neither waits on the other.
        .orderBy('memberships.workspace_id')
        .orderBy('memberships.principal_id');
      if (forUpdate) query = query.modifyEnd(sql`for update of memberships`);
      const rows = await query.execute();
      return new Map(rows.map((row) => [memberKey(row.workspace_id, row.id), toMember(row)]));
    },

    async store(tx: Tx, changes: readonly RowWrite<Member>[]): Promise<number> {
      let written = 0;
      for (const { row, stored } of changes) {
        const result = await tx
          .updateTable('memberships')
          .set({ role: row.role, revision: row.revision })
          .where('workspace_id', '=', stored.workspaceId)
          .where('principal_id', '=', stored.principalId)
          .where('created_at', '=', stored.createdAt)
          .where('revision', '=', stored.revision)
          .executeTakeFirst();
        written += Number(result.numUpdatedRows);
      }
      return written;
    },
  };
}

/**
 * How many owners a workspace has, counted under a lock of its row until the commit on PostgreSQL: every change
 * that may take an owner away counts this way, so of two that run together the second counts after the first
 * committed (under READ COMMITTED each statement sees what committed before it), and neither can take the last
 * owner on the strength of the other's. On SQLite the writer runs one unit of work at a time already.
 */
export async function countOwnersLocked(db: Executor, engine: Engine, workspaceId: string): Promise<number> {
  if (engine === 'postgres')
    await db.selectFrom('workspaces').select('id').where('id', '=', workspaceId).forUpdate().execute();
  return countOwners(db, workspaceId);
}

export async function insertApiKey(db: Executor, row: ApiKeyRow): Promise<void> {
  await db.insertInto('api_keys').values(row).execute();
}

/** A principal with its role in every workspace it belongs to. */
export async function loadPrincipal(
  db: Executor,
  row: Pick<PrincipalRow, 'id' | 'name' | 'status'>,
): Promise<Principal> {
  const memberships = await db
    .selectFrom('memberships')
    .select(['workspace_id', 'role'])
    .where('principal_id', '=', row.id)
    .execute();
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    roles: new Map(memberships.map((m) => [m.workspace_id, m.role as Role])),
  };
}

/**
 * The principal behind a key hash, with its role in every workspace; undefined for an unknown key. One query
 * (a row per membership): every native request runs it, and on PostgreSQL each round trip counts.
 */
export async function findPrincipalByKeyHash(
  db: Executor,
  keyHash: string,
): Promise<{ principal: Principal; keyId: string; defaultWorkspaceId: string | null } | undefined> {
  const rows = await db
    .selectFrom('api_keys')
    .innerJoin('principals', 'principals.id', 'api_keys.principal_id')
    .leftJoin('memberships', 'memberships.principal_id', 'principals.id')
    .select([
      'api_keys.id as key_id',
      'api_keys.default_workspace_id',
      'principals.id',
      'principals.name',
      'principals.status',
      'memberships.workspace_id',
      'memberships.role',
    ])
    .where('api_keys.key_hash', '=', keyHash)
    .execute();
  const [row] = rows;
  if (!row) return undefined;
  const roles = new Map(rows.filter((r) => r.workspace_id !== null).map((r) => [r.workspace_id!, r.role as Role]));
  return {
    keyId: row.key_id,
    defaultWorkspaceId: row.default_workspace_id,
    principal: { id: row.id, name: row.name, status: row.status, roles },
  };
}

export async function listApiKeysInWorkspace(
  db: Executor,
  workspaceId: string,
  after: string | undefined,
  limit: number,
): Promise<ApiKeyRecord[]> {
  let query = db
    .selectFrom('api_keys')
    .innerJoin('memberships', 'memberships.principal_id', 'api_keys.principal_id')
    .selectAll('api_keys')
    .where('memberships.workspace_id', '=', workspaceId)
    // A key is managed from the workspace it was issued for, even if its principal belongs to others too.
    .where('api_keys.default_workspace_id', '=', workspaceId);
  if (after !== undefined) query = query.where('api_keys.id', '>', after);
  const rows = await query.orderBy('api_keys.id').limit(limit).execute();
  return rows.map(toApiKey);
}

export async function findApiKey(db: Executor, id: string): Promise<ApiKeyRecord | undefined> {
  const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toApiKey(row);
}

export async function deleteApiKey(db: Executor, id: string): Promise<boolean> {
  const result = await db.deleteFrom('api_keys').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}
