import type { Workspace } from '../domain/workspace.js';
import type { WorkspaceRow } from './schema.js';
import type { Engine, Executor, ReadOptions, Tx } from './engine.js';
import type { RowStore, RowWrite } from './row-change.js';

const toWorkspace = (row: WorkspaceRow): Workspace => ({
  id: row.id,
  uid: row.uid,
  name: row.name,
  projectId: Number(row.project_id),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  revision: row.revision,
});

export async function findWorkspace(
  db: Executor,
  id: string,
  options: ReadOptions = {},
): Promise<Workspace | undefined> {
  let query = db.selectFrom('workspaces').selectAll().where('id', '=', id);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row && toWorkspace(row);
}

/** The uid of the workspace stored under an id now, if any: what sealed values and audit events are bound to. */
export async function findWorkspaceUid(db: Executor, id: string): Promise<string | undefined> {
  const row = await db.selectFrom('workspaces').select('uid').where('id', '=', id).executeTakeFirst();
  return row?.uid;
}

/** The id of the workspace with this project id (the DataWorks dialect's ProjectId), if any. */
export async function findWorkspaceIdByProjectId(db: Executor, projectId: number): Promise<string | undefined> {
  const row = await db.selectFrom('workspaces').select('id').where('project_id', '=', projectId).executeTakeFirst();
  return row?.id;
}

export async function listWorkspacesOf(
  db: Executor,
  principalId: string,
  after: string | undefined,
  limit: number,
): Promise<Workspace[]> {
  let query = db
    .selectFrom('workspaces')
    .innerJoin('memberships', 'memberships.workspace_id', 'workspaces.id')
    .selectAll('workspaces')
    .where('memberships.principal_id', '=', principalId);
  if (after !== undefined) query = query.where('workspaces.id', '>', after);
  const rows = await query.orderBy('workspaces.id').limit(limit).execute();
  return rows.map(toWorkspace);
}

/** The next number from a named counter; the row lock serialises concurrent callers on PostgreSQL. */
export async function nextCounter(db: Executor, name: string): Promise<number> {
  const row = await db
    .updateTable('counters')
    .set((eb) => ({ value: eb('value', '+', 1) }))
    .where('name', '=', name)
    .returning('value')
    .executeTakeFirstOrThrow();
  return Number(row.value);
}

export async function insertWorkspace(db: Executor, workspace: Workspace): Promise<void> {
  await db
    .insertInto('workspaces')
    .values({
      id: workspace.id,
      uid: workspace.uid,
      project_id: workspace.projectId,
      name: workspace.name,
      created_at: workspace.createdAt,
      updated_at: workspace.updatedAt,
      revision: workspace.revision,
    })
    .execute();
}

/**
 * Workspaces for the writer's row changes (PUT, PATCH), keyed by id: locked in key order on PostgreSQL. A row is
 * written only over the state it was read from: same revision, and the same workspace (its uid), not one deleted
 * and created again under its id meanwhile.
 */
export function workspaceRows(engine: Engine): RowStore<Workspace> {
  const forUpdate = engine === 'postgres';
  return {
    async load(tx: Tx, keys: readonly string[]): Promise<Map<string, Workspace>> {
      // Key order: two batches wanting the same rows lock them in the same order, so neither waits on the other.
      let query = tx
        .selectFrom('workspaces')
        .selectAll()
        .where('id', 'in', [...keys])
        .orderBy('id');
      if (forUpdate) query = query.forUpdate();
      const rows = await query.execute();
      return new Map(rows.map((row) => [row.id, toWorkspace(row)]));
    },

    async store(tx: Tx, changes: readonly RowWrite<Workspace>[]): Promise<number> {
      let written = 0;
      for (const { row, stored } of changes) {
        const result = await tx
          .updateTable('workspaces')
          .set({ name: row.name, updated_at: row.updatedAt, revision: row.revision })
          .where('id', '=', row.id)
          .where('uid', '=', stored.uid)
          .where('revision', '=', stored.revision)
          .executeTakeFirst();
        written += Number(result.numUpdatedRows);
      }
      return written;
    },
  };
}

export async function deleteWorkspace(db: Executor, id: string, expectedRevision: number): Promise<boolean> {
  const result = await db
    .deleteFrom('workspaces')
    .where('id', '=', id)
    .where('revision', '=', expectedRevision)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/** How many resources a workspace holds (everything a delete without force=true must not take with it). */
export async function countWorkspaceContents(db: Executor, id: string): Promise<number> {
  const tables = ['connectors', 'connections', 'toolsets', 'access_clients', 'webhooks'] as const;
  const counts = await Promise.all(
    tables.map((table) =>
      db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('workspace_id', '=', id)
        .executeTakeFirstOrThrow(),
    ),
  );
  return counts.reduce((sum, row) => sum + Number(row.n), 0);
}
