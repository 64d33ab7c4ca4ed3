import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './common.js';
import type { Versioned } from './etag.js';

/** Toolset names, as DevS allows them. */
export const TOOLSET_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$';
export const TOOLSET_PHASES = ['Pending', 'Installing', 'Installed', 'Failed'] as const;
export type ToolsetPhase = (typeof TOOLSET_PHASES)[number];

/** A tool as the status lists it; its schema is read from the toolset's catalogue (GET …/tools). */
export interface ToolsetTool {
  readonly name: string;
  readonly description: string;
}

/** A tool with the input schema the gateway serves for it (within the schema budget). */
export interface ToolsetToolView extends ToolsetTool {
  readonly inputSchema: Readonly<Record<string, unknown>>;
  /** Upper-case HTTP method and path template, for OpenAPI toolsets. */
  readonly method?: string;
  readonly path?: string;
  /** Bytes of this tool in a `tools/list` answer. */
  readonly bytes: number;
}

export const TOOL_MODES = ['static', 'dynamic', 'auto'] as const;
export type ToolMode = (typeof TOOL_MODES)[number];

/** What an agent sees of a toolset: how it is served and what that costs (see docs/mcp-gateway.md). */
export interface CatalogSummary {
  /** How the gateway serves it now: every tool (`static`) or the three meta-tools (`dynamic`). */
  readonly servedMode: 'static' | 'dynamic';
  /** The tools after spec.include/exclude and hidden overrides. */
  readonly tools: number;
  /** Bytes and estimated tokens of the `tools/list` answer as served. */
  readonly listBytes: number;
  readonly estimatedTokens: number;
  /** Bytes and estimated tokens every tool listed at once would take (static mode). */
  readonly staticListBytes: number;
  readonly staticEstimatedTokens: number;
  /**
   * True for a toolset served dynamically: the static figures are then an upper bound (each schema counted at its
   * full size or the budget, whichever is smaller) rather than every schema compacted and measured.
   */
  readonly staticListEstimated: boolean;
  /** The largest served input schema, in bytes. */
  readonly largestSchemaBytes: number;
  /** Bytes the toolset's schemas take in the store (shared definitions once). */
  readonly storedSchemaBytes: number;
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
    /** Absent before the first conversion (and in statuses stored before catalogues existed). */
    readonly catalog?: CatalogSummary;
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

const HTTP_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE'] as const;
/** MCP tool names, as the converter makes them. */
export const TOOL_NAME_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

/** Which operations a filter picks: all the fields it has must match. */
export const ToolFilter = Type.Object(
  {
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'An OpenAPI tag of the operation.' })),
    path: Type.Optional(
      Type.String({
        pattern: '^/',
        maxLength: 1024,
        description: 'A glob over the path template: "*" within one segment, "**" across segments (/users/**).',
      }),
    ),
    method: Type.Optional(Type.Union(HTTP_METHODS.map((m) => Type.Literal(m)))),
    operationId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: 'The operationId (for MCP toolsets: the tool name).' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ToolFilter = Static<typeof ToolFilter>;

export const ToolOverride = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: TOOL_NAME_PATTERN, description: 'The name the tool is served under.' })),
    description: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    hidden: Type.Optional(Type.Boolean({ description: 'Left out of the catalogue: not listed, found or callable.' })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ToolOverride = Static<typeof ToolOverride>;

export const ToolsetSpec = Type.Object(
  {
    schema: Type.Object(
      {
        type: Type.Union([Type.Literal('OpenAPI'), Type.Literal('MCP')]),
        detail: Type.String({
          // Not blank. The operator's limit (TOOLSET_MAX_DOCUMENT_BYTES, 64 MiB by default) is checked by the
          // service, in bytes. No minLength or maxLength: Ajv counts a string's length in code points, a pass over
          // the whole document on the event loop (0.15 s for Microsoft Graph's 20 MB) per keyword, while this
          // pattern stops at the first character that is not white space.
          pattern: '\\S',
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
    connectionId: Type.Optional(
      Nullable(
        Type.Integer({
          minimum: 1,
          maximum: Number.MAX_SAFE_INTEGER,
          description:
            "plugboard's own: a connection of an OAuth connector (oauth2-code or oauth2-client-credentials) whose access token tool calls send as `Authorization: Bearer`, refreshed by plugboard; the calls must go to the connector's baseUrl origin. OpenAPI toolsets only.",
        }),
      ),
    ),
    credentials: Type.Optional(
      Nullable(
        Type.Object(
          {
            connectorId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
            mode: Type.Literal('per-user'),
          },
          {
            additionalProperties: false,
            description:
              "plugboard's own: per-user credentials. Each call uses the calling person's own connection of this connector (an oauth2-code connector, its baseUrl the calls' origin); a person with none, or whose connection must be connected again, gets a tool error with a connect link made for them. Callers must be people signed in through MCP OAuth: an access client's token has no person. Not with connectionId; OpenAPI toolsets only. See docs/people.md, \"Per-user connections\".",
          },
        ),
      ),
    ),
    toolMode: Type.Optional(
      Type.Union(
        TOOL_MODES.map((m) => Type.Literal(m)),
        {
          description:
            "plugboard's own: static lists every tool, dynamic lists search_tools, describe_tool and call_tool; auto (the default) is dynamic when the static list would exceed 40 tools or 64 kB.",
        },
      ),
    ),
    include: Type.Optional(
      Type.Array(ToolFilter, {
        maxItems: 200,
        description: "plugboard's own: when given, only operations that match one of these filters become tools.",
      }),
    ),
    exclude: Type.Optional(
      Type.Array(ToolFilter, {
        maxItems: 200,
        description: "plugboard's own: operations that match one of these filters are left out.",
      }),
    ),
    tools: Type.Optional(
      Type.Record(Type.String({ pattern: TOOL_NAME_PATTERN }), ToolOverride, {
        maxProperties: 10_000,
        description: "plugboard's own: per-tool overrides by the tool's generated name (name, description, hidden).",
      }),
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

/** Auto mode serves a toolset dynamically past this many tools… */
export const AUTO_MAX_TOOLS = 40;
/** …or when every tool listed at once would take more than this many bytes. */
export const AUTO_MAX_LIST_BYTES = 64 * 1024;

/** How a toolset is served: its spec's toolMode, `auto` (the default) decided by the size of the static catalogue. */
export function servedModeOf(
  mode: ToolMode | undefined,
  catalog: { readonly tools: number; readonly staticListBytes: number },
): 'static' | 'dynamic' {
  if (mode === 'static' || mode === 'dynamic') return mode;
  return catalog.tools > AUTO_MAX_TOOLS || catalog.staticListBytes > AUTO_MAX_LIST_BYTES ? 'dynamic' : 'static';
}
