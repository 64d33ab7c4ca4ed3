import type { AuthSchemeConfig, Connector, ConnectorVersion, ProtocolType } from '../domain/connector.js';
import type { Variable } from '../domain/common.js';
import type { ConnectorRow } from './schema.js';

/** A row of the `connectors` table as the domain's connector. */
export const toConnector = (row: ConnectorRow): Connector => ({
  workspaceId: row.workspace_id,
  id: row.id,
  uid: row.uid,
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

/**
 * A connector's columns, the JSON ones as `json` makes them: text for a row of the table ({@link toRow}), the values
 * themselves inside a JSON parameter (`writtenColumns` in connector-batch-sql.ts).
 */
export const columnsOf = <J>(c: Connector, json: (value: unknown) => J) => ({
  workspace_id: c.workspaceId,
  id: c.id,
  uid: c.uid,
  name: c.name,
  description: c.description,
  protocol_type: c.protocolType,
  documentation_url: c.documentationUrl,
  icon_url: c.iconUrl,
  base_url: c.baseUrl,
  dataset_id: c.datasetId,
  is_public: c.isPublic ? 1 : 0,
  tags: json(c.tags),
  status: c.status,
  auth_scheme_configs: json(c.authSchemeConfigs),
  connection_variables: json(c.connectionVariables),
  versions: json(c.versions),
  created_at: c.createdAt,
  updated_at: c.updatedAt,
  revision: c.revision,
});

/** A connector as a row of the `connectors` table. */
export const toRow = (c: Connector): ConnectorRow => columnsOf(c, (value) => JSON.stringify(value));
