import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './common.js';
import type { Versioned } from './etag.js';

/** Toolset names, as DevS allows them. */
export const TOOLSET_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$';
export const TOOLSET_PHASES = ['Pending', 'Installing', 'Installed', 'Failed'] as const;
export type ToolsetPhase = (typeof TOOLSET_PHASES)[number];

export interface ToolsetTool {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Readonly<Record<string, unknown>>;
}

export interface OpenApiToolRef {
  readonly toolId: string;
  readonly toolName: string;
  readonly method: string;
  readonly path: string;
}

/**
 * What the reconciler last made of a toolset's spec, as stored: the DevS status shape without its URLs, which
 * depend on the node that serves the toolset and are added when it is read (`withEndpoints`).
 */
export interface ToolsetStatus {
  readonly phase: ToolsetPhase;
  readonly message: string | null;
  readonly outputs: {
    readonly openApiTools: readonly OpenApiToolRef[];
    readonly tools: readonly ToolsetTool[];
  };
  readonly observedTime: string | null;
  readonly observedGeneration: number | null;
}

/** Where the gateway serves a toolset, in DevS's status outputs. */
export interface ToolsetEndpoints {
  readonly urls: { readonly internetUrl: string; readonly intranetUrl: string };
  readonly mcpServerConfig: {
    readonly url: string;
    readonly transportType: string;
    readonly headers: Readonly<Record<string, string>>;
  };
}

/** How tool calls authenticate upstream: an API key in a header or the query; `value` is a secret. */
export const ApiKeyAuthConfig = Type.Object(
  {
    type: Type.Literal('APIKey'),
    parameters: Type.Object(
      {
        apiKeyParameter: Type.Object(
          {
            in: Type.Union([Type.Literal('header'), Type.Literal('query')]),
            key: Type.String({ minLength: 1, maxLength: 256 }),
            value: Nullable(Type.String({ maxLength: 8192, description: 'Write-only: reads show "******".' })),
            encrypted: Type.Optional(
              Type.Boolean({ description: 'Always stored encrypted; accepted for DevS compatibility.' }),
            ),
          },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export const ToolsetSpec = Type.Object(
  {
    schema: Type.Object(
      {
        type: Type.Union([Type.Literal('OpenAPI'), Type.Literal('MCP')]),
        detail: Type.String({
          minLength: 1,
          maxLength: 8 * 1024 * 1024,
          description:
            'OpenAPI 3.0/3.1 or Swagger 2.0 as YAML or JSON; for MCP the upstream URL, or JSON {"url", "transportType": "streamable-http"|"sse"}.',
        }),
      },
      { additionalProperties: false },
    ),
    authorization: Nullable(
      Type.Object(
        { type: Type.String({ maxLength: 64 }), authConfig: Type.Optional(Type.Record(Type.String(), Type.Unknown())) },
        { additionalProperties: false, description: 'Older DevS form; authConfig.key is a secret.' },
      ),
    ),
    authConfig: Nullable(ApiKeyAuthConfig),
    baseUrl: Type.Optional(
      Nullable(
        Type.String({
          pattern: '^https?://[^\\s]+$',
          maxLength: 2048,
          description: "plugboard's own: the upstream URL tool calls go to, in place of the document's server URL.",
        }),
      ),
    ),
  },
  { additionalProperties: false },
);
export type ToolsetSpec = Static<typeof ToolsetSpec>;

export const ToolsetFields = {
  description: Nullable(Type.String({ maxLength: 1024 })),
  labels: Nullable(
    Type.Record(Type.String({ maxLength: 128 }), Type.String({ maxLength: 1024 }), { description: 'String map.' }),
  ),
  spec: ToolsetSpec,
};

export const ToolsetInput = Type.Object(ToolsetFields, { additionalProperties: false });
export type ToolsetInput = Static<typeof ToolsetInput>;

export const ToolsetCreateInput = Type.Object(
  { name: Type.String({ pattern: TOOLSET_NAME_PATTERN }), ...ToolsetFields },
  { additionalProperties: false },
);
export type ToolsetCreateInput = Static<typeof ToolsetCreateInput>;

/** A set of AI tools derived from an API description (modelled on DevS). */
export interface Toolset {
  readonly workspaceId: string;
  readonly name: string;
  readonly uid: string;
  readonly kind: 'Toolset';
  readonly generation: number;
  readonly description: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdTime: string;
  readonly spec: ToolsetSpec;
  readonly status: ToolsetStatus;
  /** Bumped on every stored change, status included: the ETag. */
  readonly revision: number;
  readonly updatedAt: string;
}

/** A toolset as read: its status outputs say where the gateway serves it. */
export type ToolsetView = Toolset & {
  readonly status: ToolsetStatus & { readonly outputs: ToolsetStatus['outputs'] & ToolsetEndpoints };
};

/** The status of a toolset nobody has reconciled yet. */
export const PENDING_STATUS: ToolsetStatus = {
  phase: 'Pending',
  message: null,
  outputs: { openApiTools: [], tools: [] },
  observedTime: null,
  observedGeneration: null,
};

/** The toolset with where it is served put in its status, over any URLs an older version stored there. */
export function withEndpoints(toolset: Toolset, mcpUrl: string): ToolsetView {
  const endpoints: ToolsetEndpoints = {
    urls: { internetUrl: mcpUrl, intranetUrl: mcpUrl },
    mcpServerConfig: {
      url: mcpUrl,
      transportType: 'streamable-http',
      headers: { Authorization: 'Bearer <access-client secret>' },
    },
  };
  return { ...toolset, status: { ...toolset.status, outputs: { ...toolset.status.outputs, ...endpoints } } };
}

/** A toolset's state for ETags and preconditions (DevS names its creation time `createdTime`). */
export const versionOf = (toolset: Toolset): Versioned => ({
  revision: toolset.revision,
  createdAt: toolset.createdTime,
});
