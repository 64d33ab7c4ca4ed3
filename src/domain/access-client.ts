import { Type, type Static } from '@sinclair/typebox';
import { Nullable, duplicateIndexes, type Identified, type Stored } from './common.js';
import type { FieldError } from './errors.js';
import { TOOLSET_NAME_PATTERN } from './toolset.js';

export const ACCESS_CLIENT_STATUSES = ['active', 'disabled'] as const;
/** The toolsets value that lets a client call every toolset of its workspace. */
export const ALL_TOOLSETS = '*';

/** Access-client ids follow the DataArts Fabric client_id: letters, digits and hyphens, no underscore. */
export const ACCESS_CLIENT_ID_PATTERN = '^[A-Za-z0-9-]{1,64}$';
export const AccessClientId = Type.String({
  pattern: ACCESS_CLIENT_ID_PATTERN,
  description: '1–64 letters, digits or "-".',
});

const ToolsetName = Type.String({
  pattern: `^(\\*|${TOOLSET_NAME_PATTERN.slice(1, -1)})$`,
  description: 'A toolset name ([a-z0-9][a-z0-9-_]{0,63}), or "*" alone for every toolset.',
});

const ToolRef = Type.String({
  pattern: `^${TOOLSET_NAME_PATTERN.slice(1, -1)}/[A-Za-z0-9_-]{1,64}$`,
  description: 'A toolset name and a tool name, "toolset/tool".',
});

/** A bearer token of a client as it may be shown: never the token itself. */
export interface AccessClientSecret {
  readonly id: string;
  /** The first characters of the token, to recognise it. */
  readonly prefix: string;
  readonly createdAt: string;
  /** Set when a rotation retired the token; it stops working at this time. */
  readonly expiresAt: string | null;
}

/** A consumer of the MCP gateway: which toolsets it may call, how fast, and the tokens it proves itself with. */
export interface AccessClient extends Stored, Identified {
  readonly workspaceId: string;
  readonly id: string;
  readonly name: string;
  readonly description: string | null;
  readonly toolsets: readonly string[];
  /** "toolset/tool" names: for a toolset named here, only these of its tools (see {@link allowsTool}). */
  readonly tools: readonly string[];
  /** Calls per second; null means the server default. */
  readonly rateLimit: number | null;
  readonly status: (typeof ACCESS_CLIENT_STATUSES)[number];
  readonly secrets: readonly AccessClientSecret[];
}

/** The fields a caller sets on an access client (PUT replaces all of them). */
export const AccessClientFields = {
  name: Type.String({ minLength: 1, maxLength: 64 }),
  description: Nullable(Type.String({ maxLength: 1024 })),
  toolsets: Nullable(
    Type.Array(ToolsetName, { maxItems: 200, description: 'Toolset names this client may call, or ["*"] for all.' }),
  ),
  tools: Nullable(
    Type.Array(ToolRef, {
      maxItems: 1000,
      description:
        'Tools this client may use, as "toolset/tool": for a toolset named here, only these of its tools are listed, found and callable; toolsets not named here keep all their tools.',
    }),
  ),
  rateLimit: Nullable(
    Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      description:
        'Calls per second, sustained; a client that was idle may also send as many more at once (a burst: rateLimit + 1 calls at one instant). null for the server default.',
    }),
  ),
  status: Nullable(
    Type.Union(
      ACCESS_CLIENT_STATUSES.map((s) => Type.Literal(s)),
      { default: 'active' },
    ),
  ),
};

export const AccessClientInput = Type.Object(AccessClientFields, { additionalProperties: false });
export type AccessClientInput = Static<typeof AccessClientInput>;

export const AccessClientCreateInput = Type.Object(
  { id: Type.Optional(AccessClientId), ...AccessClientFields },
  { additionalProperties: false },
);
export type AccessClientCreateInput = Static<typeof AccessClientCreateInput>;

export const MAX_GRACE_SECONDS = 7 * 24 * 3600;
export const DEFAULT_GRACE_SECONDS = 3600;

export const RotateSecretInput = Type.Object(
  {
    gracePeriodSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_GRACE_SECONDS,
        default: DEFAULT_GRACE_SECONDS,
        description: 'How long the previous tokens keep working; 0 revokes them at once.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RotateSecretInput = Static<typeof RotateSecretInput>;

/** Field values of an access client as a write leaves them (optional fields left out are unset). */
export function accessClientFieldsFrom(input: AccessClientInput | AccessClientCreateInput) {
  return {
    name: input.name,
    description: input.description ?? null,
    toolsets: [...(input.toolsets ?? [])],
    tools: [...(input.tools ?? [])],
    rateLimit: input.rateLimit ?? null,
    status: input.status ?? 'active',
  } as const;
}

/** What the schema cannot say about a toolsets list: names are unique, and "*" stands alone. */
export function checkToolsets(toolsets: readonly string[]): FieldError[] {
  const errors = duplicateIndexes(toolsets, (t) => t).map((i) => ({
    path: `/toolsets/${i}`,
    message: 'must be unique',
  }));
  if (toolsets.includes(ALL_TOOLSETS) && toolsets.length > 1) {
    errors.push({
      path: '/toolsets',
      message: 'must be exactly ["*"] to allow every toolset, or a list of names without "*"',
    });
  }
  return errors;
}

/** What the schema cannot say about a tools list: entries are unique, and each names a toolset the client may use. */
export function checkTools(tools: readonly string[], toolsets: readonly string[]): FieldError[] {
  const errors = duplicateIndexes(tools, (t) => t).map((i) => ({ path: `/tools/${i}`, message: 'must be unique' }));
  tools.forEach((ref, i) => {
    const toolset = ref.slice(0, ref.indexOf('/'));
    if (!toolsets.includes(ALL_TOOLSETS) && !toolsets.includes(toolset))
      errors.push({ path: `/tools/${i}`, message: `names toolset "${toolset}", which is not in toolsets` });
  });
  return errors;
}

/**
 * Whether a client limited to named tools may use this tool of this toolset: always when `tools` names none of
 * the toolset's tools, else only those named.
 */
export function allowsTool(tools: readonly string[], toolsetName: string, toolName: string): boolean {
  const prefix = `${toolsetName}/`;
  const named = tools.filter((ref) => ref.startsWith(prefix));
  return named.length === 0 || named.includes(`${prefix}${toolName}`);
}

/** Whether a client may call a toolset: it is active and names the toolset, or all of them. */
export function allows(client: Pick<AccessClient, 'status' | 'toolsets'>, toolsetName: string): boolean {
  if (client.status !== 'active') return false;
  return client.toolsets.includes(ALL_TOOLSETS) || client.toolsets.includes(toolsetName);
}

/** Whether a token retired by a rotation has stopped working at `now` (ISO 8601 UTC, compared as text). */
export function isExpired(secret: Pick<AccessClientSecret, 'expiresAt'>, now: string): boolean {
  return secret.expiresAt !== null && secret.expiresAt <= now;
}
