import type { Role } from './permissions.js';

/** The scopes of an MCP endpoint: `mcp:read` lists its tools, `mcp:call` calls them. */
export const MCP_SCOPES = ['mcp:read', 'mcp:call'] as const;
export type McpScope = (typeof MCP_SCOPES)[number];

/** The weakest workspace role that may use each scope (`toolset:read` and `toolset:call` in permissions.ts). */
export const SCOPE_ROLES: Readonly<Record<McpScope, Role>> = { 'mcp:read': 'viewer', 'mcp:call': 'editor' };

/** The path of a toolset's MCP endpoint, each segment encoded. */
export function mcpPathOf(workspaceId: string, toolset: string): string {
  return `/mcp/${encodeURIComponent(workspaceId)}/${encodeURIComponent(toolset)}`;
}

/**
 * The resource identifier (RFC 8707, RFC 9728 `resource`) of a toolset's MCP endpoint: its URL on the public
 * origin. An access token names exactly one, and is accepted by that endpoint only.
 */
export function mcpResourceOf(publicUrl: string, workspaceId: string, toolset: string): string {
  return `${publicUrl}${mcpPathOf(workspaceId, toolset)}`;
}

/** `{workspaceId, toolset}` of an MCP endpoint's resource identifier on this public origin; undefined otherwise. */
export function parseMcpResource(
  publicUrl: string,
  resource: string,
): { workspaceId: string; toolset: string } | undefined {
  const prefix = `${publicUrl}/mcp/`;
  if (!resource.startsWith(prefix)) return undefined;
  const parts = resource.slice(prefix.length).split('/');
  if (parts.length !== 2 || parts.some((p) => p === '' || /[?#]/.test(p))) return undefined;
  try {
    const [workspaceId, toolset] = parts.map(decodeURIComponent) as [string, string];
    return mcpResourceOf(publicUrl, workspaceId, toolset) === resource ? { workspaceId, toolset } : undefined;
  } catch {
    return undefined;
  }
}

/** The well-known URL of an MCP endpoint's protected resource metadata (RFC 9728 §3.1: the path inserted). */
export function resourceMetadataUrlOf(publicUrl: string, workspaceId: string, toolset: string): string {
  return `${publicUrl}/.well-known/oauth-protected-resource${mcpPathOf(workspaceId, toolset)}`;
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
