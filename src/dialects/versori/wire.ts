import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Nullable, Tags, Variable } from '../../domain/common.js';
import type { Connection, Credential } from '../../domain/connection.js';
import type {
  AuthSchemeConfig,
  AuthSchemeConfigInput,
  Connector,
  ConnectorInput,
  ConnectorVersion,
} from '../../domain/connector.js';
import { fieldError, validationFailed } from '../../domain/errors.js';
import { MASK } from '../../domain/secrets.js';
import { compileCheck } from '../../domain/validate.js';

/** Versori's connector protocols: the only connectors this dialect shows. */
export const VERSORI_PROTOCOLS = ['http', 'bigquery'] as const;
export type VersoriProtocol = (typeof VERSORI_PROTOCOLS)[number];

/** Core field names whose Versori names differ; used for bodies and for error field paths. */
const VERSORI_NAMES: Readonly<Record<string, string>> = {
  documentationUrl: 'documentationURL',
  iconUrl: 'imageURL',
  isPublic: 'public',
  protocolType: 'protocol',
};

/** A JSON Pointer into a request as Versori names a field: `field1.field2[0].field3` (Error.fields[].field). */
export function versoriFieldOf(pointer: string): string {
  const parts = pointer
    .split('/')
    .filter((p) => p !== '')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  // Query, path and header parameters are named by themselves.
  if (['query', 'path', 'header'].includes(parts[0] ?? '')) parts.shift();
  let field = '';
  for (const part of parts) {
    if (/^\d+$/.test(part)) field += `[${part}]`;
    else field += `${field === '' ? '' : '.'}${VERSORI_NAMES[part] ?? part}`;
  }
  return field === '' ? 'body' : field;
}

const ReadOnly = Type.Optional(Type.Unknown({ description: 'Read-only; ignored when sent back.' }));
const OptionalText = Nullable(Type.String());

// ---- Connectors ------------------------------------------------------------------------------------------------

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

const checkBodyObject = (body: unknown): Record<string, unknown> => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw fieldError('', 'must be a JSON object');
  return body as Record<string, unknown>;
};

/** Picks the variant of a body discriminated by one field, as Versori's `discriminator` does. */
function discriminated<T>(
  body: unknown,
  field: string,
  checks: Readonly<Record<string, (value: unknown) => unknown>>,
): T {
  const object = checkBodyObject(body);
  const tag = object[field];
  if (tag === undefined) throw fieldError(`/${field}`, 'is required');
  const check = typeof tag === 'string' && Object.hasOwn(checks, tag) ? checks[tag] : undefined;
  if (!check)
    throw fieldError(
      `/${field}`,
      `must be one of: ${Object.keys(checks)
        .map((k) => JSON.stringify(k))
        .join(', ')}`,
    );
  return check(object) as T;
}

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

// ---- Auth-scheme configs -----------------------------------------------------------------------------------------

const ConfigBase = {
  id: Type.String({ minLength: 1 }),
  description: Type.Union([Type.String(), Type.Null()]),
  validationMessages: ReadOnly,
};
const Location = Type.Union([Type.Literal('query'), Type.Literal('header'), Type.Literal('cookie')]);
const Url = Type.String({ format: 'uri' });
const config = <P extends Record<string, TSchema>>(schemeType: string, properties: P) =>
  Type.Object({ ...ConfigBase, schemeType: Type.Literal(schemeType), ...properties }, { additionalProperties: false });
const Grant = Type.Union([
  Type.Object(
    {
      grantType: Type.Literal('authorization_code'),
      credentialId: Type.Optional(Type.String()),
      organisationId: Type.Optional(Type.String()),
      clientId: Type.Optional(Type.String()),
      clientSecret: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
  Type.Object({ grantType: Type.Literal('client_credentials') }, { additionalProperties: false }),
  Type.Object(
    {
      grantType: Type.Literal('password'),
      credentialId: Type.Optional(Type.String()),
      organisationId: Type.Optional(Type.String()),
      clientId: Type.Optional(Type.String()),
      clientSecret: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
]);
const configChecks = {
  none: compileCheck(config('none', {})),
  'api-key': compileCheck(config('api-key', { name: Type.String({ minLength: 1 }), in: Location })),
  'basic-auth': compileCheck(config('basic-auth', {})),
  oauth2: compileCheck(
    config('oauth2', {
      authorizeUrl: Url,
      tokenUrl: Url,
      scopes: Type.Array(
        Type.Object(
          { name: Type.String(), description: Type.Optional(Type.String()) },
          { additionalProperties: false },
        ),
      ),
      defaultScopes: Type.Array(Type.String()),
      additionalAuthorizeParams: Type.Optional(Type.String()),
      additionalTokenParams: Type.Optional(Type.String()),
      mtlsEnabled: Type.Optional(Type.Boolean()),
      mtlsCredentialId: Type.Optional(Type.String()),
      grant: Grant,
    }),
  ),
  hmac: compileCheck(
    config('hmac', {
      name: Type.String({ minLength: 1 }),
      in: Location,
      algorithm: Type.Union([Type.Literal('sha1'), Type.Literal('sha256'), Type.Literal('sha512')]),
      digestInputs: Type.Array(Type.Union([Type.Literal('body'), Type.Literal('url')])),
    }),
  ),
  certificate: compileCheck(config('certificate', {})),
};

/** A Versori AuthSchemeConfig as the core's config: scheme-specific fields go into `config`. */
export function decodeAuthSchemeConfig(body: unknown, pathPrefix = ''): AuthSchemeConfigInput {
  try {
    const checked = discriminated<Record<string, unknown>>(body, 'schemeType', configChecks);
    const { id, description, schemeType, validationMessages: _ignored, ...settings } = checked;
    return {
      id: id as string,
      schemeType: schemeType as AuthSchemeConfigInput['schemeType'],
      description: (description as string | null) ?? null,
      config: settings,
    };
  } catch (error) {
    throw prefixed(error, pathPrefix);
  }
}

/** Re-roots the field paths of a validation error under `prefix` (a body nested in a bigger one). */
export function prefixed(error: unknown, prefix: string): unknown {
  if (prefix === '' || !(error instanceof Error) || !('errors' in error)) return error;
  const errors = (error as { errors: readonly { path: string; message: string }[] }).errors.map((e) => ({
    path: `${prefix}${e.path}`,
    message: e.message,
  }));
  return validationFailed(errors);
}

export function authSchemeConfigOut(config: AuthSchemeConfig) {
  return {
    ...config.config,
    id: config.id,
    description: config.description ?? '',
    schemeType: config.schemeType,
    validationMessages: config.validationMessages.map((text) => ({ text, severity: 'warning' as const })),
  };
}

// ---- Connections -------------------------------------------------------------------------------------------------

const ConfigRef = Type.Object({ id: Type.String({ minLength: 1 }) }, { additionalProperties: true });
const CREDENTIAL_TYPES = [
  'none',
  'string',
  'binary',
  'basic-auth',
  'oauth2-client',
  'oauth2-code',
  'oauth2-password',
  'oauth2-token',
  'custom-function',
  'certificate',
  'jwt-bearer',
];
const CredentialCreate = Type.Object(
  {
    name: Type.String(),
    type: Type.Union(CREDENTIAL_TYPES.map((t) => Type.Literal(t))),
    data: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);
const CredentialsCreate = Type.Object(
  {
    action: Type.Optional(
      Type.Array(
        Type.Object({ authSchemeConfig: ConfigRef, credential: CredentialCreate }, { additionalProperties: false }),
        { maxItems: 25 },
      ),
    ),
    trigger: Type.Optional(
      Type.Array(
        Type.Object({ authSchemeConfig: ConfigRef, credential: CredentialCreate }, { additionalProperties: false }),
        { maxItems: 25 },
      ),
    ),
  },
  { additionalProperties: false },
);
const ConnectionCreate = Type.Object(
  { name: Type.String(), credentials: CredentialsCreate, variables: Type.Array(Variable) },
  { additionalProperties: false },
);
export const decodeConnectionCreate = compileCheck(ConnectionCreate);
export type ConnectionCreate = Static<typeof ConnectionCreate>;

const CredentialUpdate = Type.Object(
  { id: Type.String({ minLength: 1 }), authSchemeConfig: ConfigRef },
  { additionalProperties: true },
);
const ConnectionUpdate = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    name: Type.String(),
    credentials: Type.Optional(
      Type.Object(
        { action: Type.Optional(Type.Array(CredentialUpdate)), trigger: Type.Optional(Type.Array(CredentialUpdate)) },
        { additionalProperties: false },
      ),
    ),
    variables: Type.Optional(Type.Array(Variable)),
    createdAt: ReadOnly,
    updatedAt: ReadOnly,
  },
  { additionalProperties: false },
);
export const decodeConnectionUpdate = compileCheck(ConnectionUpdate);
export type ConnectionUpdate = Static<typeof ConnectionUpdate>;

const KINDS = ['action', 'trigger'] as const;

/** The secret a Versori credential carries: plugboard keeps credentials that are one string (or none). */
function secretOf(credential: Static<typeof CredentialCreate>, path: string): string | null {
  const field = credential.type === 'string' ? 'value' : credential.type === 'binary' ? 'valueBase64' : undefined;
  if (credential.type === 'none') return null;
  if (field === undefined)
    throw fieldError(`${path}/type`, 'plugboard stores credentials of type "none", "string" or "binary"');
  const value = credential.data[field];
  if (typeof value !== 'string' || value === '') throw fieldError(`${path}/data/${field}`, 'is required');
  return value;
}

/** The core connection body of a Versori ConnectionCreate under a connector. */
export function connectionInputOf(connector: Connector, body: ConnectionCreate) {
  const credentials = KINDS.flatMap((kind) =>
    (body.credentials[kind] ?? []).map((c, i) => ({
      kind,
      authSchemeConfigId: c.authSchemeConfig.id,
      secret: secretOf(c.credential, `/credentials/${kind}/${i}/credential`),
    })),
  );
  return {
    connectorId: connector.id,
    name: body.name,
    type: connector.protocolType,
    variables: body.variables,
    credentials,
  };
}

/** Where each core credential of a create came from in the Versori body, to name fields in errors. */
export function credentialPathsOf(body: ConnectionCreate): string[] {
  return KINDS.flatMap((kind) => (body.credentials[kind] ?? []).map((_c, i) => `/credentials/${kind}/${i}`));
}

const credentialIdOf = (c: Credential) => `${c.kind}-${c.authSchemeConfigId}`;

/**
 * The credentials of a ConnectionUpdate: only their order can change (secrets never travel here). Each listed
 * kind must name exactly the connection's credentials of that kind; an omitted kind is left as it is.
 */
export function reorderedCredentials(current: readonly Credential[], update: ConnectionUpdate['credentials']) {
  const keep = (c: Credential) => ({
    kind: c.kind,
    authSchemeConfigId: c.authSchemeConfigId,
    secret: c.secret === null ? null : MASK,
  });
  if (update === undefined) return current.map(keep);
  const errors: { path: string; message: string }[] = [];
  const result = KINDS.flatMap((kind) => {
    const existing = current.filter((c) => c.kind === kind);
    const listed = update[kind];
    if (listed === undefined) return existing;
    const picked = listed.flatMap((item, i) => {
      const found = existing.find((c) => credentialIdOf(c) === item.id);
      if (!found) {
        errors.push({
          path: `/credentials/${kind}/${i}/id`,
          message: `names no ${kind} credential of this connection`,
        });
        return [];
      }
      if (item.authSchemeConfig.id !== found.authSchemeConfigId) {
        errors.push({
          path: `/credentials/${kind}/${i}/authSchemeConfig/id`,
          message: 'cannot change; add a new credential instead',
        });
      }
      return [found];
    });
    if (new Set(picked).size !== picked.length || picked.length !== existing.length) {
      errors.push({
        path: `/credentials/${kind}`,
        message: `must list each ${kind} credential of this connection once (reorder only)`,
      });
    }
    return picked;
  });
  if (errors.length > 0) throw validationFailed(errors);
  return result.map(keep);
}

function credentialOut(c: Credential, connection: Connection, connector: Connector) {
  const config = connector.authSchemeConfigs.find((a) => a.id === c.authSchemeConfigId);
  const id = credentialIdOf(c);
  return {
    id,
    authSchemeConfig: config
      ? authSchemeConfigOut(config)
      : { id: c.authSchemeConfigId, description: '', schemeType: 'none', validationMessages: [] },
    credential: {
      id,
      organisationId: connection.workspaceId,
      type: c.secret === null ? 'none' : 'string',
      name: config?.description || c.authSchemeConfigId,
      // Write-only: the value never leaves the server.
      data: c.secret === null ? {} : { value: MASK },
    },
  };
}

export function connectionOut(connection: Connection, connector: Connector) {
  return {
    id: String(connection.id),
    name: connection.name,
    credentials: Object.fromEntries(
      KINDS.map((kind) => [
        kind,
        connection.credentials.filter((c) => c.kind === kind).map((c) => credentialOut(c, connection, connector)),
      ]),
    ),
    variables: connection.variables,
    createdAt: connection.createdAt,
    updatedAt: connection.updatedAt,
  };
}

export const connectionSummaryOut = (connection: Connection) => ({
  id: String(connection.id),
  name: connection.name,
  createdAt: connection.createdAt,
  updatedAt: connection.updatedAt,
});

// ---- Versions ----------------------------------------------------------------------------------------------------

export const decodeVersionCreate = compileCheck(
  Type.Object(
    { name: Type.String(), fromVersion: Type.Optional(Type.String({ minLength: 1 })) },
    { additionalProperties: false },
  ),
);

const VersionUpdate = Type.Object(
  {
    id: Type.Optional(Type.String()),
    name: Type.String(),
    description: OptionalText,
    isLatest: Type.Optional(Type.Boolean()),
    isDefault: Type.Optional(Type.Boolean()),
    createdAt: Type.Optional(Type.String()),
    updatedAt: ReadOnly,
    publishedAt: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    messages: ReadOnly,
  },
  { additionalProperties: false },
);
export const decodeVersionUpdate = compileCheck(VersionUpdate);
export type VersionUpdate = Static<typeof VersionUpdate>;

/** A version update may send the read-only fields back, but not change them. */
export function checkVersionReadOnly(current: ConnectorVersion, body: VersionUpdate): void {
  const errors: { path: string; message: string }[] = [];
  if (body.id !== undefined && body.id !== current.id) errors.push({ path: '/id', message: 'is read-only' });
  if (body.createdAt !== undefined && Date.parse(body.createdAt) !== Date.parse(current.createdAt))
    errors.push({ path: '/createdAt', message: 'is read-only' });
  const publishedAt = body.publishedAt === undefined ? current.publishedAt : body.publishedAt;
  if (
    (publishedAt === null) !== (current.publishedAt === null) ||
    (publishedAt !== null && Date.parse(publishedAt) !== Date.parse(current.publishedAt!))
  ) {
    errors.push({ path: '/publishedAt', message: 'is read-only: use …/publish or …/unpublish' });
  }
  if (errors.length > 0) throw validationFailed(errors);
}

export const versionOut = (v: ConnectorVersion) => ({
  id: v.id,
  name: v.name,
  description: v.description ?? '',
  isLatest: v.isLatest,
  isDefault: v.isDefault,
  createdAt: v.createdAt,
  updatedAt: v.updatedAt,
  publishedAt: v.publishedAt,
});

// ---- The Connector ----------------------------------------------------------------------------------------------

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
