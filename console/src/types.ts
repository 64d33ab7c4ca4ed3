/** The native API's resources, as the console reads them (see /openapi.json). */

export interface Variable {
  name: string;
  value: string;
}

export interface Workspace {
  id: string;
  name: string;
  description?: string | null;
}

export interface Me {
  principalId: string;
  name: string;
  roles: Record<string, string>;
}

export interface AuthSchemeConfig {
  id: string;
  schemeType: string;
  description: string | null;
  config: Record<string, unknown>;
  validationMessages: string[];
}

export interface ConnectorVersion {
  id: string;
  name: string;
  description: string | null;
  isLatest: boolean;
  isDefault: boolean;
  createdAt: string;
  publishedAt: string | null;
}

export interface Connector {
  id: string;
  workspaceId: string;
  name: string;
  description: string | null;
  protocolType: string;
  documentationUrl: string | null;
  iconUrl: string | null;
  baseUrl: string | null;
  datasetId: string | null;
  isPublic: boolean;
  tags: Record<string, string[]>;
  status: 'active' | 'disabled';
  authSchemeConfigs: AuthSchemeConfig[];
  connectionVariables: Variable[];
  versions: ConnectorVersion[];
  createdAt: string;
  updatedAt: string;
  revision: number;
}

export interface Health {
  state: 'unknown' | 'ok' | 'failing';
  checkedAt: string | null;
  message: string | null;
}

export interface Credential {
  kind: 'action' | 'trigger';
  authSchemeConfigId: string;
  secret: string | null;
}

/** Where a connection's OAuth tokens stand (src/domain/upstream-oauth.ts); never a token. */
export interface OAuthStatus {
  state: 'connected' | 'degraded' | 'reconnect-required';
  schemeType: 'oauth2-code' | 'oauth2-client-credentials';
  scope: string | null;
  connectedAt: string;
  lastRefreshAt: string | null;
  expiresAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
}

export interface Connection {
  id: number;
  workspaceId: string;
  connectorId: string | null;
  name: string;
  type: string;
  envType: 0 | 1;
  description: string | null;
  status: 'active' | 'disabled';
  content: Record<string, unknown>;
  variables: Variable[];
  credentials: Credential[];
  health: Health;
  /** Null when plugboard holds no OAuth tokens for it (never connected, or not an OAuth connection). */
  oauth: OAuthStatus | null;
  /** The person this connection belongs to, or null for a shared one. */
  ownerUserId: string | null;
  createdAt: string;
  updatedAt: string;
  revision: number;
}

export interface Tool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** What an agent sees of a toolset: how it is served and what its `tools/list` answer costs. */
export interface CatalogSummary {
  servedMode: 'static' | 'dynamic';
  tools: number;
  listBytes: number;
  estimatedTokens: number;
  staticListBytes: number;
  staticEstimatedTokens: number;
  staticListEstimated: boolean;
  largestSchemaBytes: number;
  storedSchemaBytes: number;
}

export interface Toolset {
  name: string;
  generation: number;
  description: string | null;
  labels: Record<string, string>;
  createdTime: string;
  spec: { schema: { type: 'OpenAPI' | 'MCP'; detail: string }; baseUrl?: string | null };
  status: {
    phase: 'Pending' | 'Installing' | 'Installed' | 'Failed';
    message: string | null;
    outputs: {
      mcpServerConfig: { url: string; transportType: string };
      /** The served tools by name; their schemas come from GET …/toolsets/{name}/tools. */
      tools: { name: string; description: string }[];
      catalog?: CatalogSummary;
    };
    observedGeneration: number | null;
  };
}

export interface AccessClient {
  id: string;
  name: string;
  description: string | null;
  toolsets: string[];
  rateLimit: number | null;
  status: 'active' | 'disabled';
  secrets: { id: string; prefix: string; createdAt: string; expiresAt: string | null }[];
  createdAt: string;
  updatedAt: string;
  revision: number;
}

export interface AuditEvent {
  id: number;
  at: string;
  principalId: string;
  /** Who acted, by name; null once that principal is gone. */
  principalName: string | null;
  workspaceId: string;
  action: string;
  resourceType: string;
  resourceId: string;
  requestId: string;
  fromRevision: number | null;
  toRevision: number | null;
  changedFields: string[];
}

export type Role = 'owner' | 'admin' | 'editor' | 'viewer';

/** A workspace member: a person (user) or a service principal (an API key's). */
export interface Member {
  principalId: string;
  name: string;
  kind: 'user' | 'service';
  status: 'active' | 'disabled';
  role: Role;
  createdAt: string;
  revision: number;
}

export interface Invitation {
  id: string;
  workspaceId: string;
  email: string;
  displayName: string | null;
  role: Role;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  acceptedAt: string | null;
  acceptedBy: string | null;
}

/** A grant a person gave an OAuth client (Claude, ChatGPT, VS Code, …) for one toolset. */
export interface OAuthGrant {
  id: string;
  workspaceId: string;
  toolset: string;
  /** The MCP endpoint its tokens are for. */
  resource: string;
  userId: string;
  userName: string | null;
  /** A registered id, or the URL of the client's metadata document. */
  clientId: string;
  clientName: string;
  scopes: ('mcp:read' | 'mcp:call')[];
  createdAt: string;
  expiresAt: string;
  lastTokenAt: string | null;
}
