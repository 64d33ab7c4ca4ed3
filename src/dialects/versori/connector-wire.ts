import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Tags, Variable } from '../../domain/common.js';
import type { Connection } from '../../domain/connection.js';
import type { AuthSchemeConfigInput, Connector, ConnectorInput } from '../../domain/connector.js';
import { compileCheck } from '../../domain/validate.js';
import { authSchemeConfigOut } from './auth-scheme-config-wire.js';
import { connectionOut } from './connection-wire.js';
import { versionOut } from './version-wire.js';
import { OptionalText, ReadOnly, checkBodyObject, discriminated, type VersoriProtocol } from './wire.js';

const UpdateBase = {
  id: Type.String({ minLength: 1 }),
  organisationId: Type.String({ minLength: 1 }),
  name: Type.String(),
  tags: Nullable(Tags),
  authSchemeConfigIds: Type.Optional(Type.Array(Type.String())),
  public: Nullable(Type.Boolean()),
  documentationURL: OptionalText,
  imageURL: OptionalText,
  connectionVariables: Type.Optional(Type.Array(Variable)),
  // Fields of a Connector as GET returns it, so that a read body can be sent back as it is.
  createdAt: ReadOnly,
  updatedAt: ReadOnly,
  authSchemeConfigs: ReadOnly,
  connections: ReadOnly,
  versions: ReadOnly,
};
const HttpConnectorUpdate = Type.Object(
  { ...UpdateBase, protocol: Type.Literal('http'), baseUrl: Type.String() },
  { additionalProperties: false },
);
const BigQueryConnectorUpdate = Type.Object(
  { ...UpdateBase, protocol: Type.Literal('bigquery'), datasetId: Type.String() },
  { additionalProperties: false },
);
export type ConnectorUpdate = Static<typeof HttpConnectorUpdate> | Static<typeof BigQueryConnectorUpdate>;

const CreateBase = {
  name: Type.String(),
  connectionVariables: Type.Optional(Type.Array(Variable)),
  tags: Nullable(Tags),
  public: Nullable(Type.Boolean()),
  documentationURL: OptionalText,
  imageURL: OptionalText,
  connections: Type.Optional(
    Type.Array(Type.Unknown(), { maxItems: 100, description: 'ConnectionCreate objects, created with the connector.' }),
  ),
};
const HttpConnectorCreate = Type.Object(
  { ...CreateBase, baseUrl: Type.String(), authSchemeConfigs: Type.Array(Type.Unknown(), { maxItems: 50 }) },
  { additionalProperties: false },
);
const BigQueryConnectorCreate = Type.Object(
  {
    ...CreateBase,
    datasetId: Type.String(),
    authSchemeConfigs: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 50 })),
  },
  { additionalProperties: false },
);
export type ConnectorCreate = Static<typeof HttpConnectorCreate> & Partial<Static<typeof BigQueryConnectorCreate>>;

const checkUpdates = { http: compileCheck(HttpConnectorUpdate), bigquery: compileCheck(BigQueryConnectorUpdate) };
export const decodeConnectorUpdate = (body: unknown): ConnectorUpdate =>
  discriminated<ConnectorUpdate>(body, 'protocol', checkUpdates);

const checkCreates = { http: compileCheck(HttpConnectorCreate), bigquery: compileCheck(BigQueryConnectorCreate) };
export const decodeConnectorCreate = (protocol: VersoriProtocol, body: unknown): ConnectorCreate =>
  checkCreates[protocol](checkBodyObject(body)) as ConnectorCreate;

/** Versori sends "" for an unset string (Go's zero value); the core says null. */
const unsetIfEmpty = (value: string | null | undefined) =>
  value === undefined || value === null || value === '' ? null : value;

/** The core input of a Versori full replacement; connector fields Versori lacks are kept by the service. */
export function connectorInputOf(body: ConnectorUpdate): ConnectorInput {
  return {
    name: body.name,
    protocolType: body.protocol,
    documentationUrl: unsetIfEmpty(body.documentationURL),
    iconUrl: unsetIfEmpty(body.imageURL),
    baseUrl: body.protocol === 'http' ? body.baseUrl : null,
    datasetId: body.protocol === 'bigquery' ? body.datasetId : null,
    isPublic: body.public ?? false,
    tags: body.tags ?? {},
    ...(body.authSchemeConfigIds !== undefined ? { authSchemeConfigIds: body.authSchemeConfigIds } : {}),
    ...(body.connectionVariables !== undefined ? { connectionVariables: body.connectionVariables } : {}),
  };
}

/** The core create body of a Versori create (its auth-scheme configs already decoded). */
export function connectorCreateOf(protocol: VersoriProtocol, body: ConnectorCreate, configs: AuthSchemeConfigInput[]) {
  return {
    name: body.name,
    protocolType: protocol,
    documentationUrl: unsetIfEmpty(body.documentationURL),
    iconUrl: unsetIfEmpty(body.imageURL),
    baseUrl: protocol === 'http' ? body.baseUrl : null,
    datasetId: protocol === 'bigquery' ? (body.datasetId ?? null) : null,
    isPublic: body.public ?? false,
    tags: body.tags ?? {},
    connectionVariables: body.connectionVariables ?? [],
    authSchemeConfigs: configs,
  };
}

/** The full Versori Connector: configs, variables, every connection and every version. */
export function connectorOut(connector: Connector, connections: readonly Connection[]) {
  return {
    id: connector.id,
    organisationId: connector.workspaceId,
    name: connector.name,
    public: connector.isPublic,
    protocol: connector.protocolType,
    ...(connector.protocolType === 'bigquery'
      ? { datasetId: connector.datasetId ?? '' }
      : { baseUrl: connector.baseUrl ?? '' }),
    ...(connector.documentationUrl !== null ? { documentationURL: connector.documentationUrl } : {}),
    ...(connector.iconUrl !== null ? { imageURL: connector.iconUrl } : {}),
    tags: connector.tags,
    authSchemeConfigs: connector.authSchemeConfigs.map(authSchemeConfigOut),
    connectionVariables: connector.connectionVariables,
    connections: connections.map((c) => connectionOut(c, connector)),
    versions: connector.versions.map(versionOut),
    createdAt: connector.createdAt,
    updatedAt: connector.updatedAt,
  };
}
