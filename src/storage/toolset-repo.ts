import type { Toolset, ToolsetPhase, ToolsetSpec, ToolsetStatus } from '../domain/toolset.js';
import type { Expression, ExpressionBuilder } from 'kysely';
import type { Database, ToolsetRow } from './schema.js';
import type { Engine, Executor, ReadOptions, Tx } from './engine.js';
import { jsonMember, nameContains } from './list-filters.js';
import type { RowStore, RowWrite } from './row-change.js';

const toToolset = (row: ToolsetRow): Toolset => ({
  workspaceId: row.workspace_id,
  name: row.name,
  uid: row.uid,
  kind: 'Toolset',
  generation: row.generation,
  description: row.description,
  labels: JSON.parse(row.labels) as Record<string, string>,
  createdTime: row.created_time,
  spec: JSON.parse(row.spec) as ToolsetSpec,
  status: JSON.parse(row.status) as ToolsetStatus,
  revision: row.revision,
  updatedAt: row.updated_at,
});

export async function findToolset(
  db: Executor,
  workspaceId: string,
  name: string,
  options: ReadOptions = {},
): Promise<Toolset | undefined> {
  let query = db.selectFrom('toolsets').selectAll().where('workspace_id', '=', workspaceId).where('name', '=', name);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row && toToolset(row);
}

/** Which toolsets of a workspace a list shows. */
export interface ToolsetFilter {
  readonly nameContains?: string;
  /** Only toolsets in this phase (the engine says how to read the stored JSON). */
  readonly phase?: { readonly engine: Engine; readonly phase: ToolsetPhase };
}

export async function listToolsets(
  db: Executor,
  workspaceId: string,
  after: string | undefined,
  limit: number,
  filter: ToolsetFilter = {},
): Promise<Toolset[]> {
  let query = db.selectFrom('toolsets').selectAll().where('workspace_id', '=', workspaceId);
  if (after !== undefined) query = query.where('name', '>', after);
  if (filter.nameContains) query = query.where(nameContains('name', filter.nameContains));
  if (filter.phase !== undefined)
    query = query.where(jsonMember(filter.phase.engine, 'status', 'phase'), '=', filter.phase.phase);
  return (await query.orderBy('name').limit(limit).execute()).map(toToolset);
}

export async function insertToolset(db: Executor, toolset: Toolset): Promise<void> {
  await db
    .insertInto('toolsets')
    .values({
      workspace_id: toolset.workspaceId,
      name: toolset.name,
      uid: toolset.uid,
      generation: toolset.generation,
      description: toolset.description,
      labels: JSON.stringify(toolset.labels),
      spec: JSON.stringify(toolset.spec),
      status: JSON.stringify(toolset.status),
      observed_generation: toolset.status.observedGeneration,
      operations: null,
      catalog: null,
      claim_generation: null,
      claim_expires_at: null,
      created_time: toolset.createdTime,
      updated_at: toolset.updatedAt,
      revision: toolset.revision,
    })
    .execute();
}

/** Writes a caller's change if the stored state still has `expectedRevision` (and, when given, that uid). */
export async function updateToolset(
  db: Executor,
  toolset: Toolset,
  expectedRevision: number,
  expectedUid?: string,
): Promise<boolean> {
  let query = db
    .updateTable('toolsets')
    .set({
      generation: toolset.generation,
      description: toolset.description,
      labels: JSON.stringify(toolset.labels),
      spec: JSON.stringify(toolset.spec),
      status: JSON.stringify(toolset.status),
      updated_at: toolset.updatedAt,
      revision: toolset.revision,
    })
    .where('workspace_id', '=', toolset.workspaceId)
    .where('name', '=', toolset.name)
    .where('revision', '=', expectedRevision);
  if (expectedUid !== undefined) query = query.where('uid', '=', expectedUid);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** The key of a toolset for {@link Writer.change}. */
export const toolsetKey = (workspaceId: string, name: string) => `${workspaceId}\u0000${name}`;

/**
 * Toolsets for the writer's row changes (PUT, PATCH): loaded under lock in key order on PostgreSQL, each written
 * only over the state it was read from (same revision, and the same toolset: its uid, not one deleted and created
 * again under its name meanwhile).
 */
export function toolsetRows(engine: Engine): RowStore<Toolset> {
  const forUpdate = engine === 'postgres';
  return {
    async load(tx: Tx, keys: readonly string[]): Promise<Map<string, Toolset>> {
      const pairs = keys.map((key) => key.split('\u0000') as [string, string]);
      if (pairs.length === 1) {
        const [workspaceId, name] = pairs[0]!;
        const toolset = await findToolset(tx, workspaceId, name, { forUpdate });
        return new Map(toolset ? [[keys[0]!, toolset]] : []);
      }
      let query = tx
        .selectFrom('toolsets')
        .selectAll()
        .where((eb) =>
          eb(
            eb.refTuple('workspace_id', 'name'),
            'in',
            pairs.map(([workspaceId, name]) => eb.tuple(workspaceId, name)),
          ),
        )
        // Key order: two batches wanting the same rows lock them in the same order, so neither waits on the other.
        .orderBy('workspace_id')
        .orderBy('name');
      if (forUpdate) query = query.forUpdate();
      const rows = await query.execute();
      return new Map(rows.map((row) => [toolsetKey(row.workspace_id, row.name), toToolset(row)]));
    },

    async store(tx: Tx, changes: readonly RowWrite<Toolset>[]): Promise<number> {
      let written = 0;
      for (const { row, stored } of changes) if (await updateToolset(tx, row, stored.revision, stored.uid)) written++;
      return written;
    },
  };
}

export async function deleteToolset(
  db: Executor,
  workspaceId: string,
  name: string,
  expectedRevision: number,
): Promise<boolean> {
  const result = await db
    .deleteFrom('toolsets')
    .where('workspace_id', '=', workspaceId)
    .where('name', '=', name)
    .where('revision', '=', expectedRevision)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/**
 * A generation is due when nobody has observed it and nobody holds a live claim on it, or when its retry is due:
 * a status written with a retry time keeps the claim on its (observed) generation until then.
 */
const isDue = (eb: ExpressionBuilder<Database, 'toolsets'>, generation: number | Expression<number>, now: string) =>
  eb.or([
    eb.and([
      eb.or([eb('observed_generation', 'is', null), eb('observed_generation', '<', generation)]),
      eb.or([
        eb('claim_generation', 'is', null),
        eb('claim_generation', '<', generation),
        eb('claim_expires_at', '<', now),
      ]),
    ]),
    eb.and([eb('claim_generation', '=', generation), eb('claim_expires_at', '<', now)]),
  ]);

/**
 * Claims the reconciliation of one generation: succeeds for exactly one caller, across processes, unless
 * that generation is already observed (and no retry of it is due) or another claim on it is still live.
 */
export async function claimGeneration(
  db: Executor,
  key: { workspaceId: string; name: string; generation: number },
  now: string,
  expiresAt: string,
): Promise<boolean> {
  const result = await db
    .updateTable('toolsets')
    .set({ claim_generation: key.generation, claim_expires_at: expiresAt })
    .where('workspace_id', '=', key.workspaceId)
    .where('name', '=', key.name)
    .where('generation', '=', key.generation)
    .where((eb) => isDue(eb, key.generation, now))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Stores the result of a claimed reconciliation, if the spec did not move on meanwhile. With `retryAt`, the
 * claim stays until then and the generation is due again at that time (a transient failure).
 */
export async function writeStatus(
  db: Executor,
  key: { workspaceId: string; name: string; generation: number },
  status: ToolsetStatus,
  now: string,
  /**
   * The tools now served (their catalogue, shared schemas once) and how to call them upstream; left as they were
   * when the new spec failed (the last good tools stay).
   */
  served?: { readonly operations: Readonly<Record<string, unknown>>; readonly catalog: unknown },
  retryAt?: string,
): Promise<boolean> {
  const result = await db
    .updateTable('toolsets')
    .set((eb) => ({
      ...(served ? { operations: JSON.stringify(served.operations), catalog: JSON.stringify(served.catalog) } : {}),
      status: JSON.stringify(status),
      observed_generation: status.observedGeneration,
      claim_generation: retryAt === undefined ? null : key.generation,
      claim_expires_at: retryAt ?? null,
      updated_at: now,
      revision: eb('revision', '+', 1),
    }))
    .where('workspace_id', '=', key.workspaceId)
    .where('name', '=', key.name)
    .where('generation', '=', key.generation)
    .where('claim_generation', '=', key.generation)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Toolsets whose current generation nobody has observed and nobody holds a live claim on. */
export async function listUnreconciled(
  db: Executor,
  now: string,
  limit: number,
): Promise<{ workspaceId: string; name: string; generation: number }[]> {
  const rows = await db
    .selectFrom('toolsets')
    .select(['workspace_id', 'name', 'generation'])
    .where((eb) => isDue(eb, eb.ref('generation'), now))
    .limit(limit)
    .execute();
  return rows.map((r) => ({ workspaceId: r.workspace_id, name: r.name, generation: r.generation }));
}

/** A toolset's catalogue (null before its first conversion), with the spec and status it was made under. */
export async function findCatalog(
  db: Executor,
  workspaceId: string,
  name: string,
): Promise<{ spec: ToolsetSpec; status: ToolsetStatus; catalog: unknown } | undefined> {
  const row = await db
    .selectFrom('toolsets')
    .select(['spec', 'status', 'catalog'])
    .where('workspace_id', '=', workspaceId)
    .where('name', '=', name)
    .executeTakeFirst();
  return (
    row && {
      spec: JSON.parse(row.spec) as ToolsetSpec,
      status: JSON.parse(row.status) as ToolsetStatus,
      catalog: row.catalog === null ? null : (JSON.parse(row.catalog) as unknown),
    }
  );
}
