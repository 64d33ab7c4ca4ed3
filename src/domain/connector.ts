import { Type, type Static } from '@sinclair/typebox';
import {
  HttpUrl,
  Nullable,
  Slug,
  Tags,
  Variables,
  duplicateIndexes,
  type Identified,
  type Stored,
  type Variable,
} from './common.js';
import { validationFailed, type FieldError } from './errors.js';

export const PROTOCOL_TYPES = ['http', 'bigquery', 'mysql', 'postgresql', 'mcp'] as const;
export const SCHEME_TYPES = [
  'none',
  'api-key',
  'basic-auth',
  'bearer',
  'oauth2',
  'oauth2-client-credentials',
  'oauth2-code',
  'hmac',
  'certificate',
] as const;
export const CONNECTOR_STATUSES = ['active', 'disabled'] as const;

export type ProtocolType = (typeof PROTOCOL_TYPES)[number];
export type SchemeType = (typeof SCHEME_TYPES)[number];

export interface AuthSchemeConfig {
  readonly id: string;
  readonly schemeType: SchemeType;
  readonly description: string | null;
  /** Scheme settings; secret keys inside are sealed at rest and masked on read. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly validationMessages: readonly string[];
}

export interface ConnectorVersion {
  readonly id: string;
  readonly name: string;
  readonly description: string | null;
  readonly isLatest: boolean;
  readonly isDefault: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly publishedAt: string | null;
}

/** A description of an external system; its configs, variables and versions are one aggregate with one revision. */
export interface Connector extends Stored, Identified {
  readonly workspaceId: string;
  readonly id: string;
  readonly name: string;
  readonly description: string | null;
  readonly protocolType: ProtocolType;
  readonly documentationUrl: string | null;
  readonly iconUrl: string | null;
  readonly baseUrl: string | null;
  /** The BigQuery dataset ("<project_id>.<dataset_name>") a `bigquery` connector reads. */
  readonly datasetId: string | null;
  /** Whether the connector may be listed beyond its workspace (Versori's `public`). */
  readonly isPublic: boolean;
  /** Free-form labels: each key holds a list of values. */
  readonly tags: Readonly<Record<string, readonly string[]>>;
  readonly status: (typeof CONNECTOR_STATUSES)[number];
  readonly authSchemeConfigs: readonly AuthSchemeConfig[];
  readonly connectionVariables: readonly Variable[];
  readonly versions: readonly ConnectorVersion[];
}

export const AuthSchemeConfigFields = {
  schemeType: Type.Union(SCHEME_TYPES.map((t) => Type.Literal(t))),
  description: Nullable(Type.String({ maxLength: 1024 })),
  config: Nullable(
    Type.Record(Type.String(), Type.Unknown(), { description: 'Scheme settings; secret keys are write-only.' }),
  ),
};

export const AuthSchemeConfigInput = Type.Object(
  {
    id: Type.Optional(Slug),
    ...AuthSchemeConfigFields,
    validationMessages: Type.Optional(Type.Unknown({ description: 'Computed by the server; ignored on input.' })),
  },
  { additionalProperties: false },
);
export type AuthSchemeConfigInput = Static<typeof AuthSchemeConfigInput>;

/** The fields a caller sets on a connector (PUT replaces all of them). */
export const ConnectorFields = {
  name: Type.String({ minLength: 1, maxLength: 128 }),
  description: Nullable(Type.String({ maxLength: 1024 })),
  protocolType: Nullable(
    Type.Union(
      PROTOCOL_TYPES.map((t) => Type.Literal(t)),
      { default: 'http' },
    ),
  ),
  documentationUrl: Nullable(HttpUrl),
  iconUrl: Nullable(HttpUrl),
  baseUrl: Nullable(HttpUrl),
  datasetId: Nullable(
    Type.String({
      minLength: 3,
      maxLength: 1100,
      pattern: '^\\S+\\.[A-Za-z0-9_]{1,1024}$',
      description: 'BigQuery dataset: "<project_id>.<dataset_name>".',
    }),
  ),
  isPublic: Nullable(Type.Boolean({ default: false })),
  tags: Nullable(Tags),
  status: Nullable(
    Type.Union(
      CONNECTOR_STATUSES.map((t) => Type.Literal(t)),
      { default: 'active' },
    ),
  ),
};

/** Commands carried by a write: omitted means "leave alone". */
export const ConnectorCommands = {
  authSchemeConfigIds: Type.Optional(
    Type.Array(Slug, { description: 'Reorders the auth-scheme configs: must name exactly the existing ids.' }),
  ),
  connectionVariables: Nullable(Variables),
};

export const ConnectorInput = Type.Object(
  { ...ConnectorFields, ...ConnectorCommands },
  { additionalProperties: false },
);
export type ConnectorInput = Static<typeof ConnectorInput>;

export const ConnectorCreateInput = Type.Object(
  {
    id: Type.Optional(Slug),
    ...ConnectorFields,
    connectionVariables: Nullable(Variables),
    authSchemeConfigs: Type.Optional(Type.Array(AuthSchemeConfigInput, { maxItems: 50 })),
  },
  { additionalProperties: false },
);
export type ConnectorCreateInput = Static<typeof ConnectorCreateInput>;

export const VersionFields = {
  name: Type.String({
    minLength: 1,
    maxLength: 128,
    pattern: '^[^\\s/]+$',
    description: '"default" and "latest" are reserved.',
  }),
  description: Nullable(Type.String({ maxLength: 1024 })),
  isLatest: Nullable(Type.Boolean()),
  isDefault: Nullable(Type.Boolean()),
};
export const VersionInput = Type.Object(VersionFields, { additionalProperties: false });
export type VersionInput = Static<typeof VersionInput>;

const RESERVED_VERSION_NAMES = ['default', 'latest'];

/** Field values of a connector as a write leaves them (optional fields left out are unset). */
export function connectorFieldsFrom(input: ConnectorInput | ConnectorCreateInput) {
  return {
    name: input.name,
    description: input.description ?? null,
    protocolType: input.protocolType ?? 'http',
    documentationUrl: input.documentationUrl ?? null,
    iconUrl: input.iconUrl ?? null,
    baseUrl: input.baseUrl ?? null,
    datasetId: input.datasetId ?? null,
    isPublic: input.isPublic ?? false,
    tags: input.tags ?? {},
    status: input.status ?? 'active',
  } as const;
}

/** What a connector's configs are missing, as human-readable hints; computed on every write. */
export function validationMessagesFor(schemeType: SchemeType, config: Readonly<Record<string, unknown>>): string[] {
  const need = (keys: string[]) =>
    keys.filter((k) => typeof config[k] !== 'string' || config[k] === '').map((k) => `config.${k} is not set`);
  switch (schemeType) {
    case 'api-key': {
      const messages = need(['name']);
      if (
        config.in !== undefined &&
        (typeof config.in !== 'string' || !['header', 'query', 'cookie'].includes(config.in))
      ) {
        messages.push('config.in must be "header", "query" or "cookie"');
      }
      return messages;
    }
    case 'oauth2':
    case 'oauth2-client-credentials':
      return need(['tokenUrl']);
    case 'oauth2-code':
      return need(['authorizeUrl', 'tokenUrl']);
    default:
      return [];
  }
}

export function checkVariables(variables: readonly Variable[], path: string): FieldError[] {
  return duplicateIndexes(variables, (v) => v.name).map((i) => ({
    path: `${path}/${i}/name`,
    message: 'must be unique',
  }));
}

export function checkConfigIds(configs: readonly { id?: string }[], path: string): FieldError[] {
  return duplicateIndexes(configs, (c) => c.id ?? `\u0000${Math.random()}`).map((i) => ({
    path: `${path}/${i}/id`,
    message: 'must be unique within the connector',
  }));
}

/** Applies an `authSchemeConfigIds` reorder; it must be a permutation of the existing ids (docs/api.md). */
export function reorderConfigs(configs: readonly AuthSchemeConfig[], ids: readonly string[]): AuthSchemeConfig[] {
  const byId = new Map(configs.map((c) => [c.id, c]));
  const errors: FieldError[] = [];
  ids.forEach((id, i) => {
    if (!byId.has(id))
      errors.push({
        path: `/authSchemeConfigIds/${i}`,
        message: `names no auth-scheme config of this connector: ${id}`,
      });
  });
  duplicateIndexes(ids, (id) => id).forEach((i) =>
    errors.push({ path: `/authSchemeConfigIds/${i}`, message: 'is listed twice' }),
  );
  const missing = configs.filter((c) => !ids.includes(c.id)).map((c) => c.id);
  if (missing.length > 0) {
    errors.push({
      path: '/authSchemeConfigIds',
      message: `must list every existing config; missing: ${missing.join(', ')}`,
    });
  }
  if (errors.length > 0)
    throw validationFailed(errors, 'authSchemeConfigIds must be a permutation of the existing config ids.');
  return ids.map((id) => byId.get(id)!);
}

export function checkVersionName(name: string, others: readonly ConnectorVersion[]): FieldError[] {
  if (RESERVED_VERSION_NAMES.includes(name.toLowerCase())) {
    return [{ path: '/name', message: '"default" and "latest" are reserved version names' }];
  }
  if (others.some((v) => v.name === name))
    return [{ path: '/name', message: 'is already used by another version of this connector' }];
  return [];
}

/**
 * Writes one version into the list and restores the flag rules: exactly one latest (the newest unless one
 * is set explicitly), at most one default.
 */
export function placeVersion(
  versions: readonly ConnectorVersion[],
  version: ConnectorVersion,
  flags: { readonly isLatest?: boolean | null; readonly isDefault?: boolean | null },
): ConnectorVersion[] {
  const existing = versions.find((v) => v.id === version.id);
  const refuseUnlatest = () =>
    validationFailed(
      [
        {
          path: '/isLatest',
          message: 'a connector always has one latest version: mark another version latest instead',
        },
      ],
      'A connector always has exactly one latest version.',
    );
  if (existing && existing.isLatest && flags.isLatest === false) throw refuseUnlatest();
  let list = existing ? versions.map((v) => (v.id === version.id ? version : v)) : [...versions, version];
  const isNew = !existing;
  const makeLatest = flags.isLatest === true || (isNew && flags.isLatest !== false) || list.length === 1;
  if (makeLatest) list = list.map((v) => ({ ...v, isLatest: v.id === version.id }));
  if (flags.isDefault === true) list = list.map((v) => ({ ...v, isDefault: v.id === version.id }));
  if (flags.isDefault === false) list = list.map((v) => (v.id === version.id ? { ...v, isDefault: false } : v));
  list = ensureOneLatest(list);
  if (flags.isLatest === false && list.some((v) => v.id === version.id && v.isLatest)) throw refuseUnlatest();
  return list;
}

/** After a removal (or a non-latest insert into an empty list) the newest remaining version becomes latest. */
export function ensureOneLatest(versions: readonly ConnectorVersion[]): ConnectorVersion[] {
  if (versions.length === 0 || versions.some((v) => v.isLatest)) return [...versions];
  const newest = versions.reduce((a, b) => (b.createdAt >= a.createdAt ? b : a));
  return versions.map((v) => ({ ...v, isLatest: v.id === newest.id }));
}
