import { sql } from 'kysely';
import type { AuthSchemeConfig, Connector, ConnectorVersion, ProtocolType } from '../domain/connector.js';
import type { Variable } from '../domain/common.js';
import type { ConnectorRow } from './schema.js';
import type { Executor, ReadOptions } from './writer.js';

const toConnector = (row: ConnectorRow): Connector => ({
  workspaceId: row.workspace_id,
  id: row.id,
  name: row.name,
  description: row.description,
  protocolType: row.protocol_type as ProtocolType,
  documentationUrl: row.documentation_url,
  iconUrl: row.icon_url,
  baseUrl: row.base_url,
  datasetId: row.dataset_id,
  isPublic: Number(row.is_public) === 1,
  tags: JSON.parse(row.tags) as Record<string, string[]>,
  status: row.status as Connector['status'],
  authSchemeConfigs: JSON.parse(row.auth_scheme_configs) as AuthSchemeConfig[],
  connectionVariables: JSON.parse(row.connection_variables) as Variable[],
  versions: JSON.parse(row.versions) as ConnectorVersion[],
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  revision: row.revision,
});

const toRow = (c: Connector): ConnectorRow => ({
  workspace_id: c.workspaceId,
  id: c.id,
  name: c.name,
  description: c.description,
  protocol_type: c.protocolType,
  documentation_url: c.documentationUrl,
  icon_url: c.iconUrl,
  base_url: c.baseUrl,
  dataset_id: c.datasetId,
  is_public: c.isPublic ? 1 : 0,
  tags: JSON.stringify(c.tags),
  status: c.status,
  auth_scheme_configs: JSON.stringify(c.authSchemeConfigs),
  connection_variables: JSON.stringify(c.connectionVariables),
  versions: JSON.stringify(c.versions),
  created_at: c.createdAt,
  updated_at: c.updatedAt,
  revision: c.revision,
});

export async function findConnector(db: Executor, workspaceId: string, id: string, options: ReadOptions = {}): Promise<Connector | undefined> {
  let query = db.selectFrom('connectors').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row && toConnector(row);
}

/** Which connectors of a workspace a list shows. */
export interface ConnectorFilter {
  readonly nameContains?: string;
  readonly protocolTypes?: readonly string[];
}

function filtered(db: Executor, workspaceId: string, filter: ConnectorFilter) {
  let query = db.selectFrom('connectors').where('workspace_id', '=', workspaceId);
  if (filter.nameContains) {
    const pattern = `%${filter.nameContains.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where(sql<boolean>`lower(name) like ${pattern} escape '\\'`);
  }
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
  const rows = await query.orderBy('id', options.before !== undefined ? 'desc' : 'asc').limit(options.limit).execute();
  return rows.map(toConnector);
}

export async function countConnectors(db: Executor, workspaceId: string, filter: ConnectorFilter, range: { below?: string; above?: string } = {}): Promise<number> {
  let query = filtered(db, workspaceId, filter).select((eb) => eb.fn.countAll<number>().as('n'));
  if (range.below !== undefined) query = query.where('id', '<', range.below);
  if (range.above !== undefined) query = query.where('id', '>', range.above);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertConnector(db: Executor, connector: Connector): Promise<void> {
  await db.insertInto('connectors').values(toRow(connector)).execute();
}

/** Writes a new state if the stored one still has `expectedRevision`; false when someone else won. */
export async function updateConnector(db: Executor, connector: Connector, expectedRevision: number): Promise<boolean> {
  const { workspace_id, id, created_at, ...changes } = toRow(connector);
  const result = await db
    .updateTable('connectors')
    .set(changes)
    .where('workspace_id', '=', workspace_id)
    .where('id', '=', id)
    .where('revision', '=', expectedRevision)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteConnector(db: Executor, workspaceId: string, id: string, expectedRevision: number): Promise<boolean> {
  const result = await db
    .deleteFrom('connectors')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where('revision', '=', expectedRevision)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}
