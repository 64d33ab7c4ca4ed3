import { Type, type Static } from '@sinclair/typebox';
import { Variable } from '../../domain/common.js';
import type { Connection, Credential } from '../../domain/connection.js';
import type { Connector } from '../../domain/connector.js';
import { fieldError, validationFailed } from '../../domain/errors.js';
import { MASK } from '../../domain/secrets.js';
import { compileCheck } from '../../domain/validate.js';
import { authSchemeConfigOut } from './auth-scheme-config-wire.js';
import { ReadOnly } from './wire.js';

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
