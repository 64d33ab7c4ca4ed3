import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Slug, Variables, duplicateIndexes, type Identified, type Stored, type Variable } from './common.js';
import type { FieldError } from './errors.js';

export const CONNECTION_STATUSES = ['active', 'disabled'] as const;
export const CREDENTIAL_KINDS = ['action', 'trigger'] as const;
export const HEALTH_STATES = ['unknown', 'ok', 'failing'] as const;

/** Largest id a JSON number carries exactly; connection ids never pass it. */
export const MAX_CONNECTION_ID = Number.MAX_SAFE_INTEGER;

export interface Credential {
  readonly kind: (typeof CREDENTIAL_KINDS)[number];
  readonly authSchemeConfigId: string;
  /** Sealed at rest, masked on read. */
  readonly secret: string | null;
}

export interface Health {
  readonly state: (typeof HEALTH_STATES)[number];
  readonly checkedAt: string | null;
  readonly message: string | null;
}

/** One set of credentials and settings for reaching a system. */
export interface Connection extends Stored, Identified {
  readonly id: number;
  readonly workspaceId: string;
  readonly connectorId: string | null;
  readonly name: string;
  readonly type: string;
  readonly envType: 0 | 1;
  readonly description: string | null;
  readonly status: (typeof CONNECTION_STATUSES)[number];
  /** Settings; secret keys inside are sealed at rest and masked on read. */
  readonly content: Readonly<Record<string, unknown>>;
  readonly variables: readonly Variable[];
  readonly credentials: readonly Credential[];
  readonly health: Health;
  /** The person this connection belongs to (a user's principal id), or null for a shared connection. */
  readonly ownerUserId: string | null;
}

export const CredentialInput = Type.Object(
  {
    kind: Type.Union(CREDENTIAL_KINDS.map((k) => Type.Literal(k))),
    authSchemeConfigId: Slug,
    secret: Nullable(Type.String({ maxLength: 16384, description: 'Write-only: reads show "******".' })),
  },
  { additionalProperties: false },
);

export const ConnectionFields = {
  name: Type.String({ minLength: 1, maxLength: 128 }),
  type: Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$', description: 'mysql, postgresql, http, redis, …' }),
  envType: Nullable(Type.Union([Type.Literal(0), Type.Literal(1)], { description: '0 development, 1 production.' })),
  description: Nullable(Type.String({ maxLength: 1024 })),
  status: Nullable(Type.Union(CONNECTION_STATUSES.map((s) => Type.Literal(s)))),
  content: Nullable(
    Type.Record(Type.String(), Type.Unknown(), {
      description: 'Settings (host, port, username, password, …); secret keys are write-only.',
    }),
  ),
  variables: Nullable(Variables),
  credentials: Nullable(
    Type.Array(CredentialInput, { maxItems: 50, description: 'Applied to requests in this order.' }),
  ),
};

export const ConnectionInput = Type.Object(
  {
    connectorId: Nullable(Slug),
    ...ConnectionFields,
    ownerUserId: Nullable(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description:
          'The person this connection belongs to: only your own user id, set when you create it (needs a connectorId), never changed after. See docs/people.md, "Per-user connections".',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ConnectionInput = Static<typeof ConnectionInput>;

export function checkConnectionRules(input: ConnectionInput): FieldError[] {
  const errors: FieldError[] = [];
  for (const i of duplicateIndexes(input.variables ?? [], (v) => v.name)) {
    errors.push({ path: `/variables/${i}/name`, message: 'must be unique' });
  }
  for (const i of duplicateIndexes(input.credentials ?? [], (c) => `${c.kind}\u0000${c.authSchemeConfigId}`)) {
    errors.push({
      path: `/credentials/${i}`,
      message: 'repeats the kind and authSchemeConfigId of an earlier credential',
    });
  }
  return errors;
}

/** Variables a new connection starts with: the connector's defaults, overridden by the caller's by name. */
export function inheritVariables(defaults: readonly Variable[], given: readonly Variable[]): Variable[] {
  const givenNames = new Set(given.map((v) => v.name));
  return [...defaults.filter((v) => !givenNames.has(v.name)), ...given];
}
