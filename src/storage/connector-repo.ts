import { sql } from 'kysely';
import type { Connector } from '../domain/connector.js';
import type { NewAuditEvent } from '../domain/audit.js';
import type { ConnectorRow } from './schema.js';
import { eventsAsJson } from './audit-repo.js';
import { compiledPerDialect, compiledRowRead } from './compiled-once.js';
import { nameContains } from './list-filters.js';
import {
  connectorColumns,
  selectLockedByKeys,
  selectUnlockedByKeys,
  updateAuditedFromJson,
  updateFromJson,
  writtenColumns,
} from './connector-batch-sql.js';
import { toConnector, toRow } from './connector-row.js';
import type { Engine, Executor, ReadOptions, Tx } from './engine.js';
import type { RowStore, RowWrite } from './row-change.js';
import { rememberRowVersion } from './row-versions.js';
import { keyArrays, pairsOf, rowKey } from './row-keys.js';

/** One connector, as every write by a single request reads it: compiled once per dialect. */
const selectConnectorQuery = (db: Executor, workspaceId: string, id: string) =>
  db.selectFrom('connectors').select(connectorColumns).where('workspace_id', '=', workspaceId).where('id', '=', id);
const selectConnector = compiledRowRead('connectors', selectConnectorQuery);

export async function findConnector(
  db: Executor,
  workspaceId: string,
  id: string,
  options: ReadOptions = {},
): Promise<Connector | undefined> {
  if (options.forShare) {
    const row = await selectConnectorQuery(db, workspaceId, id).forShare().executeTakeFirst();
    return row && toConnector(row);
  }
  const [row] = (await selectConnector(db, [workspaceId, id], options.forUpdate === true)).rows;
  return row && toConnector(row);
}

/** Which connectors of a workspace a list shows. */
export interface ConnectorFilter {
  readonly nameContains?: string;
  readonly protocolTypes?: readonly string[];
  readonly status?: string;
}

function filtered(db: Executor, workspaceId: string, filter: ConnectorFilter) {
  let query = db.selectFrom('connectors').where('workspace_id', '=', workspaceId);
  if (filter.nameContains) query = query.where(nameContains('name', filter.nameContains));
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (filter.protocolTypes !== undefined) {
    if (filter.protocolTypes.length === 0) return query.where(sql<boolean>`1 = 0`);
    query = query.where('protocol_type', 'in', [...filter.protocolTypes]);
  }
  return query;
}

export async function listConnectors(
  db: Executor,
  workspaceId: string,
  options: { after?: string; limit: number } & ConnectorFilter,
): Promise<Connector[]> {
  let query = filtered(db, workspaceId, options).selectAll();
  if (options.after !== undefined) query = query.where('id', '>', options.after);
  const rows = await query.orderBy('id').limit(options.limit).execute();
  return rows.map(toConnector);
}

/** Up to `limit` connectors next to a cursor, nearest first: after it in id order, or before it backwards. */
export async function listConnectorsNear(
  db: Executor,
  workspaceId: string,
  options: { after?: string; before?: string; limit: number } & ConnectorFilter,
): Promise<Connector[]> {
  let query = filtered(db, workspaceId, options).selectAll();
  if (options.after !== undefined) query = query.where('id', '>', options.after);
  if (options.before !== undefined) query = query.where('id', '<', options.before);
  const rows = await query
    .orderBy('id', options.before !== undefined ? 'desc' : 'asc')
    .limit(options.limit)
    .execute();
  return rows.map(toConnector);
}

export async function countConnectors(
  db: Executor,
  workspaceId: string,
  filter: ConnectorFilter,
  range: { below?: string; above?: string } = {},
): Promise<number> {
  let query = filtered(db, workspaceId, filter).select((eb) => eb.fn.countAll<number>().as('n'));
  if (range.below !== undefined) query = query.where('id', '<', range.below);
  if (range.above !== undefined) query = query.where('id', '>', range.above);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertConnector(db: Executor, connector: Connector): Promise<void> {
  await db.insertInto('connectors').values(toRow(connector)).execute();
}

/**
 * The write of one connector over the state it was read at (its revision and uid: not one deleted and created
 * again under its id), compiled once per dialect. A JSON column the change left as it was (the very object read)
 * is sent as null and keeps its stored text.
 */
const updateConnectorRow = compiledPerDialect((db, ...values) => {
  const [name, description, protocolType, documentationUrl, iconUrl, baseUrl, datasetId, isPublic, tags, status] =
    values;
  const [authSchemeConfigs, connectionVariables, versions, updatedAt, revision, workspaceId, id, expected, uid] =
    values.slice(10);
  return db
    .updateTable('connectors')
    .set({
      name: name!,
      description: sql<string | null>`${description}`,
      protocol_type: protocolType!,
      documentation_url: sql<string | null>`${documentationUrl}`,
      icon_url: sql<string | null>`${iconUrl}`,
      base_url: sql<string | null>`${baseUrl}`,
      dataset_id: sql<string | null>`${datasetId}`,
      is_public: sql<number>`${isPublic}`,
      tags: sql<string>`coalesce(${tags}, tags)`,
      status: status!,
      auth_scheme_configs: sql<string>`coalesce(${authSchemeConfigs}, auth_scheme_configs)`,
      connection_variables: sql<string>`coalesce(${connectionVariables}, connection_variables)`,
      versions: sql<string>`coalesce(${versions}, versions)`,
      updated_at: updatedAt!,
      revision: sql<number>`${revision}`,
    })
    .where('workspace_id', '=', workspaceId!)
    .where('id', '=', id!)
    .where('revision', '=', sql<number>`${expected}`)
    .where('uid', '=', uid!);
});

/** Writes a row change over the state it was computed from, if the store still holds it; false when someone else won. */
async function updateConnector(db: Executor, { row, stored }: RowWrite<Connector>): Promise<boolean> {
  const json = (value: unknown, before: unknown) => (value === before ? null : JSON.stringify(value));
  const result = await updateConnectorRow(db, [
    row.name,
    row.description,
    row.protocolType,
    row.documentationUrl,
    row.iconUrl,
    row.baseUrl,
    row.datasetId,
    row.isPublic ? 1 : 0,
    json(row.tags, stored.tags),
    row.status,
    json(row.authSchemeConfigs, stored.authSchemeConfigs),
    json(row.connectionVariables, stored.connectionVariables),
    json(row.versions, stored.versions),
    row.updatedAt,
    row.revision,
    row.workspaceId,
    row.id,
    stored.revision,
    stored.uid,
  ]);
  return Number(result.numAffectedRows ?? 0n) === 1;
}

export async function deleteConnector(
  db: Executor,
  workspaceId: string,
  id: string,
  expectedRevision: number,
): Promise<boolean> {
  const result = await db
    .deleteFrom('connectors')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where('revision', '=', expectedRevision)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/** The key of a connector for {@link Writer.change}. */
export const connectorKey = (workspaceId: string, id: string) => rowKey(workspaceId, id);

/** Connectors for the writer's row changes: loaded under lock in key order, written many per statement on PostgreSQL. */
export function connectorRows(engine: Engine): RowStore<Connector> {
  const toMap = (rows: readonly ConnectorRow[]) =>
    new Map(rows.map((row) => [connectorKey(row.workspace_id, row.id), toConnector(row)]));
  /** (workspace, id) pairs as the two text arrays the PostgreSQL statements take. */
  const keyArraysOf = (changes: readonly { row: Connector }[]) =>
    keyArrays(changes.map(({ row }) => [row.workspaceId, row.id] as const));
  const rows: RowStore<Connector> = {
    async load(tx: Tx, keys: readonly string[]): Promise<Map<string, Connector>> {
      const pairs = pairsOf(keys);
      if (pairs.length === 1) {
        const [workspaceId, id] = pairs[0]!;
        const connector = await findConnector(tx, workspaceId, id, { forUpdate: engine === 'postgres' });
        return new Map(connector ? [[keys[0]!, connector]] : []);
      }
      if (engine === 'postgres') return toMap((await selectLockedByKeys(tx, keyArrays(pairs))).rows as ConnectorRow[]);
      return toMap(
        await tx
          .selectFrom('connectors')
          .selectAll()
          .where((eb) =>
            eb(
              eb.refTuple('workspace_id', 'id'),
              'in',
              pairs.map(([workspaceId, id]) => eb.tuple(workspaceId, id)),
            ),
          )
          .execute(),
      );
    },

    async store(tx: Tx, changes: readonly RowWrite<Connector>[]): Promise<number> {
      if (engine === 'sqlite' || changes.length === 1) {
        let written = 0;
        for (const change of changes) if (await updateConnector(tx, change)) written++;
        return written;
      }
      const result = await updateFromJson(tx, [writtenColumns(changes), ...keyArraysOf(changes)]);
      return Number(result.numAffectedRows ?? 0);
    },
  };
  if (engine === 'sqlite') return rows;
  return {
    ...rows,
    optimistic: {
      async peek(db: Executor, keys: readonly string[]): Promise<Map<string, Connector>> {
        const rows = (await selectUnlockedByKeys(db, keyArrays(pairsOf(keys)))).rows as (ConnectorRow & {
          row_version: string;
        })[];
        return new Map(
          rows.map((row) => [
            connectorKey(row.workspace_id, row.id),
            rememberRowVersion(toConnector(row), row.row_version),
          ]),
        );
      },
      async storeAudited(
        db: Executor,
        changes: readonly RowWrite<Connector>[],
        events: readonly { event: NewAuditEvent; row: number }[],
      ): Promise<Set<number>> {
        const result = await updateAuditedFromJson(db, [
          writtenColumns(changes, true),
          ...keyArraysOf(changes),
          eventsAsJson(events),
        ]);
        const written = result.rows as { i: number; row_version: string }[];
        for (const { i, row_version } of written) rememberRowVersion(changes[i]!.row, row_version);
        return new Set(written.map((r) => r.i));
      },
    },
  };
}
