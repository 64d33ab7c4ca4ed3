import { sql, type Expression, type ExpressionBuilder, type QueryCreator } from 'kysely';
import type { NewAuditEvent } from '../domain/audit.js';
import type { Toolset, ToolsetPhase, ToolsetSpec, ToolsetStatus } from '../domain/toolset.js';
import type { Database, ToolsetRow } from './schema.js';
import type { Engine, Executor, ReadOptions, Tx } from './engine.js';
import { eventsAsJson, insertEventsFromJson } from './audit-repo.js';
import { compiledOnce, compiledPerDialect, compiledRowRead } from './compiled-once.js';
import { jsonMember, nameContains } from './list-filters.js';
import type { RowStore, RowWrite } from './row-change.js';
import { ROW_VERSION, rememberRowVersion, rowVersionOf } from './row-versions.js';
import { rememberWorkspaceUid, workspaceUidOfRow } from './row-workspaces.js';
import { inKeyArrays, keyArrays, pairsOf, rowKey } from './row-keys.js';

/**
 * The columns a {@link Toolset} is made of: not the served catalogue and operations (megabytes for a large API),
 * nor the reconciler's claim, which its own statements read.
 */
const toolsetColumns = [
  'workspace_id',
  'name',
  'uid',
  'generation',
  'description',
  'labels',
  'created_time',
  'spec',
  'status',
  'revision',
  'updated_at',
] as const satisfies readonly (keyof ToolsetRow)[];
type ToolsetColumns = Pick<ToolsetRow, (typeof toolsetColumns)[number]>;

const toToolset = (row: ToolsetColumns): Toolset => ({
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
  let query = db
    .selectFrom('toolsets')
    .select(toolsetColumns)
    .where('workspace_id', '=', workspaceId)
    .where('name', '=', name);
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
  let query = db.selectFrom('toolsets').select(toolsetColumns).where('workspace_id', '=', workspaceId);
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

/**
 * The write of a row change of a toolset over the state it was computed from (its revision and uid), compiled once
 * per dialect. A JSON column the change left as it was (the very object read) is sent as null and keeps its stored
 * text: a label change does not send the document.
 */
const updateToolsetRow = compiledPerDialect(
  (db, generation, description, labels, spec, status, updatedAt, revision, workspaceId, name, expected, uid) =>
    db
      .updateTable('toolsets')
      .set({
        generation: sql<number>`${generation}`,
        description: sql<string | null>`${description}`,
        labels: sql<string>`coalesce(${labels}, labels)`,
        spec: sql<string>`coalesce(${spec}, spec)`,
        status: sql<string>`coalesce(${status}, status)`,
        updated_at: updatedAt,
        revision: sql<number>`${revision}`,
      })
      .where('workspace_id', '=', workspaceId)
      .where('name', '=', name)
      .where('revision', '=', sql<number>`${expected}`)
      .where('uid', '=', uid),
);

async function updateToolset(db: Executor, { row, stored }: RowWrite<Toolset>): Promise<boolean> {
  const result = await updateToolsetRow(db, [
    row.generation,
    row.description,
    row.labels === stored.labels ? null : JSON.stringify(row.labels),
    row.spec === stored.spec ? null : JSON.stringify(row.spec),
    row.status === stored.status ? null : JSON.stringify(row.status),
    row.updatedAt,
    row.revision,
    row.workspaceId,
    row.name,
    stored.revision,
    stored.uid,
  ]);
  return Number(result.numAffectedRows ?? 0n) === 1;
}

/** The key of a toolset for {@link Writer.change}. */
export const toolsetKey = (workspaceId: string, name: string) => rowKey(workspaceId, name);

/** One toolset, the read of a row change of one row (every write by a single request): compiled once per dialect. */
const selectToolsetQuery = (db: Executor, workspaceId: string, name: string) =>
  db
    .selectFrom('toolsets')
    .select(toolsetColumns)
    .select(workspaceUidOfRow('toolsets').as('workspace_uid'))
    .where('workspace_id', '=', workspaceId)
    .where('name', '=', name);
const selectToolset = compiledRowRead('toolsets', selectToolsetQuery);

/**
 * Toolsets for the writer's row changes (PUT, PATCH): loaded under lock in key order on PostgreSQL, each written
 * only over the state it was read from (same revision, and the same toolset: its uid, not one deleted and created
 * again under its name meanwhile).
 */
export function toolsetRows(engine: Engine): RowStore<Toolset> {
  const forUpdate = engine === 'postgres';
  const rows: RowStore<Toolset> = {
    async load(tx: Tx, keys: readonly string[]): Promise<Map<string, Toolset>> {
      const pairs = pairsOf(keys);
      if (pairs.length === 1) {
        const [row] = (await selectToolset(tx, pairs[0]!, forUpdate)).rows;
        return new Map(row ? [[keys[0]!, rememberWorkspaceUid(toToolset(row), row.workspace_uid)]] : []);
      }
      let query = tx
        .selectFrom('toolsets')
        .select(toolsetColumns)
        .select(workspaceUidOfRow('toolsets').as('workspace_uid'))
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
      if (forUpdate) query = query.forUpdate('toolsets');
      const rows = await query.execute();
      return new Map(
        rows.map((row) => [
          toolsetKey(row.workspace_id, row.name),
          rememberWorkspaceUid(toToolset(row), row.workspace_uid),
        ]),
      );
    },

    async store(tx: Tx, changes: readonly RowWrite<Toolset>[]): Promise<number> {
      let written = 0;
      for (const change of changes) if (await updateToolset(tx, change)) written++;
      return written;
    },
  };
  if (engine === 'sqlite') return rows;
  return {
    ...rows,
    optimistic: {
      async peek(db: Executor, keys: readonly string[]): Promise<Map<string, Toolset>> {
        const found = await selectToolsetsByKeys(db, keyArrays(pairsOf(keys)));
        return new Map(
          (found.rows as (ToolsetColumns & { row_version: string; workspace_uid: string | null })[]).map((row) => [
            toolsetKey(row.workspace_id, row.name),
            rememberWorkspaceUid(rememberRowVersion(toToolset(row), row.row_version), row.workspace_uid),
          ]),
        );
      },
      async storeAudited(
        db: Executor,
        changes: readonly RowWrite<Toolset>[],
        events: readonly { event: NewAuditEvent; row: number }[],
      ): Promise<Set<number>> {
        // A JSON column the change left as it was (the very object read) travels as null and keeps its stored
        // text: the row is written only at the revision it was read at. A label change does not send the document.
        const columns = changes.map(({ row, stored }, i) => ({
          workspace_id: row.workspaceId,
          name: row.name,
          uid: row.uid,
          generation: row.generation,
          description: row.description,
          labels: row.labels === stored.labels ? null : row.labels,
          spec: row.spec === stored.spec ? null : row.spec,
          status: row.status === stored.status ? null : row.status,
          updated_at: row.updatedAt,
          revision: row.revision,
          expected: stored.revision,
          row_version: rowVersionOf(stored),
          i,
        }));
        const result = await updateToolsetsAudited(db, [
          JSON.stringify(columns),
          ...keyArrays(changes.map(({ row }) => [row.workspaceId, row.name] as const)),
          eventsAsJson(events),
        ]);
        const written = result.rows as { i: number; row_version: string }[];
        for (const { i, row_version } of written) rememberRowVersion(changes[i]!.row, row_version);
        return new Set(written.map((r) => r.i));
      },
    },
  };
}

/** PostgreSQL, the optimistic path's read: the toolsets with these (workspace, name) pairs, without a lock. */
const selectToolsetsByKeys = compiledOnce((db) =>
  db
    .selectFrom('toolsets')
    .select(toolsetColumns)
    .select(ROW_VERSION.as('row_version'))
    .select(workspaceUidOfRow('toolsets').as('workspace_uid'))
    .where(inKeyArrays('workspace_id', 'name')),
);

/**
 * PostgreSQL, the optimistic path's write, one autocommit statement: toolsets still at the `expected` revision
 * (and the same toolset: its uid) get the columns of their row in the JSON parameter, and the audit events of
 * exactly the rows written are inserted (see connector-batch-sql.ts, whose statements these follow); answers
 * the `i` of each written row.
 */
const updateToolsetsAudited = compiledOnce((db) =>
  db
    .with('written', (db) =>
      db
        .updateTable('toolsets')
        .from(
          sql`json_to_recordset(${'[]'}::json)`.as(
            sql`u(workspace_id text, name text, uid text, generation integer, description text, labels json, spec json,
              status json, updated_at text, revision integer, expected integer, row_version text, i integer)`,
          ),
        )
        .set({
          generation: sql.ref('u.generation'),
          description: sql.ref('u.description'),
          labels: sql<string>`coalesce(u.labels::text, toolsets.labels)`,
          spec: sql<string>`coalesce(u.spec::text, toolsets.spec)`,
          status: sql<string>`coalesce(u.status::text, toolsets.status)`,
          updated_at: sql.ref('u.updated_at'),
          revision: sql.ref('u.revision'),
        })
        .where(inKeyArrays('toolsets.workspace_id', 'toolsets.name'))
        .where(
          sql<boolean>`toolsets.workspace_id = u.workspace_id and toolsets.name = u.name
            and toolsets.uid = u.uid and toolsets.revision = u.expected and toolsets.xmin::text = u.row_version`,
        )
        .returning([sql<number>`u.i`.as('i'), sql<string>`toolsets.xmin::text`.as('row_version')]),
    )
    .with('audited', (db) => insertEventsFromJson(db as unknown as QueryCreator<Database>, 'written').returning('id'))
    .selectFrom('written')
    .select(['i', 'row_version']),
);

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
