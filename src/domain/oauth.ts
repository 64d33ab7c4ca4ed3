import type { Role } from './permissions.js';

/** The scopes of an MCP endpoint: `mcp:read` lists its tools, `mcp:call` calls them. */
export const MCP_SCOPES = ['mcp:read', 'mcp:call'] as const;
export type McpScope = (typeof MCP_SCOPES)[number];

/** The weakest workspace role that may use each scope (`toolset:read` and `toolset:call` in permissions.ts). */
export const SCOPE_ROLES: Readonly<Record<McpScope, Role>> = { 'mcp:read': 'viewer', 'mcp:call': 'editor' };

/**
 * The path prefix of PUBLIC_URL (`/plugboard` for `https://hub.example.com/plugboard`, '' for none): behind a
 * proxy that mounts plugboard under a path and strips it, every URL the server publishes or redirects to starts
 * with it, while the routes it serves do not.
 */
export function basePathOf(publicUrl: string): string {
  return new URL(publicUrl).pathname.replace(/\/+$/, '');
}

/**
 * The transports a toolset is served on, by the first segment of their endpoint's path: Streamable HTTP at
 * `/mcp/…` and the legacy HTTP+SSE transport at `/sse/…` (its messages posted under it). Each endpoint is a
 * protected resource of its own.
 */
export const MCP_TRANSPORTS = ['mcp', 'sse'] as const;
export type McpTransport = (typeof MCP_TRANSPORTS)[number];

/** The path of a toolset's MCP endpoint (Streamable HTTP unless said), each segment encoded. */
export function mcpPathOf(workspaceId: string, toolset: string, transport: McpTransport = 'mcp'): string {
  return `/${transport}/${encodeURIComponent(workspaceId)}/${encodeURIComponent(toolset)}`;
}

/**
 * The resource identifier (RFC 8707, RFC 9728 `resource`) of a toolset's MCP endpoint: its URL under PUBLIC_URL
 * (its path prefix included). An access token names exactly one, and is accepted by that endpoint only.
 */
export function mcpResourceOf(
  publicUrl: string,
  workspaceId: string,
  toolset: string,
  transport: McpTransport = 'mcp',
): string {
  return `${publicUrl}${mcpPathOf(workspaceId, toolset, transport)}`;
}

/** `{workspaceId, toolset, transport}` of an MCP endpoint's resource identifier under PUBLIC_URL; else undefined. */
export function parseMcpResource(
  publicUrl: string,
  resource: string,
): { workspaceId: string; toolset: string; transport: McpTransport } | undefined {
  const transport = MCP_TRANSPORTS.find((t) => resource.startsWith(`${publicUrl}/${t}/`));
  if (!transport) return undefined;
  const parts = resource.slice(`${publicUrl}/${transport}/`.length).split('/');
  if (parts.length !== 2 || parts.some((p) => p === '' || /[?#]/.test(p))) return undefined;
  try {
    const [workspaceId, toolset] = parts.map(decodeURIComponent) as [string, string];
    return mcpResourceOf(publicUrl, workspaceId, toolset, transport) === resource
      ? { workspaceId, toolset, transport }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The well-known URL of an MCP endpoint's protected resource metadata (RFC 9728 §3.1): the well-known segment
 * inserted between PUBLIC_URL's origin and the resource's whole path (PUBLIC_URL's path prefix included), e.g.
 * `https://hub.example.com/.well-known/oauth-protected-resource/plugboard/mcp/ws/shop`.
 */
export function resourceMetadataUrlOf(
  publicUrl: string,
  workspaceId: string,
  toolset: string,
  transport: McpTransport = 'mcp',
): string {
  const { origin, pathname } = new URL(mcpResourceOf(publicUrl, workspaceId, toolset, transport));
  return `${origin}/.well-known/oauth-protected-resource${pathname}`;
}

/** A grant a user gave an MCP client: one toolset, some of its scopes, until it expires or is revoked. */
export interface OAuthGrant {
  readonly id: string;
  readonly workspaceId: string;
  readonly toolset: string;
  readonly resource: string;
  readonly userId: string;
  /** The user's display name; null once that user is gone. */
  readonly userName: string | null;
  readonly clientId: string;
  readonly clientName: string;
  readonly scopes: readonly McpScope[];
  readonly createdAt: string;
  readonly expiresAt: string;
  /** When the client last got an access token under this grant (first issue or a refresh); null if never. */
  readonly lastTokenAt: string | null;
}

/** Who is behind an OAuth access token the gateway accepted. */
export interface OAuthCaller {
  readonly userId: string;
  readonly clientId: string;
  readonly clientName: string;
  readonly grantId: string;
  readonly scopes: readonly McpScope[];
  /** The user's role in the token's workspace now (a role taken away since the grant counts at once). */
  readonly role: Role;
}

export const isMcpScope = (scope: string): scope is McpScope => (MCP_SCOPES as readonly string[]).includes(scope);
