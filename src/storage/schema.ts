import type { Generated } from 'kysely';

/** Rows as stored. JSON columns hold text so that both back ends store the same bytes. */
export interface WorkspaceRow {
  id: string;
  /** Minted at creation, never reused (migration 0012): what caches, sealed values and audit events hang on. */
  uid: string;
  project_id: number;
  name: string;
  created_at: string;
  updated_at: string;
  revision: number;
}

export interface PrincipalRow {
  id: string;
  name: string;
  kind: 'user' | 'service';
  status: 'active' | 'disabled';
  created_at: string;
}

export interface MembershipRow {
  workspace_id: string;
  principal_id: string;
  role: string;
  created_at: string;
  /** Moves on with every role change (migration 0021). */
  revision: Generated<number>;
}

export interface ApiKeyRow {
  id: string;
  principal_id: string;
  name: string;
  key_hash: string;
  prefix: string;
  default_workspace_id: string | null;
  created_at: string;
}

export interface AccessKeyRow {
  id: string;
  kind: 'alibaba' | 'huawei';
  principal_id: string;
  name: string;
  /** The secret sealed with the vault, as a JSON string (so key rotation reads it like every sealed column). */
  secret: string;
  default_workspace_id: string | null;
  created_at: string;
  /** Disabled keys sign nothing (migration 0021). */
  status: 'active' | 'disabled';
  revision: number;
}

export interface AuthTokenRow {
  id: string;
  principal_id: string;
  api_key_id: string;
  token_hash: string;
  default_workspace_id: string | null;
  created_at: string;
  expires_at: string;
}

/** A person (migration 0014): a principal of kind `user` whose id is also the user's. */
export interface UserRow {
  id: string;
  /** Lower case; unique. */
  email: string;
  display_name: string;
  /** `scrypt$…` (src/services/passwords.ts); null for a user who signs in only with the OpenID Connect provider. */
  password_hash: string | null;
  failed_sign_ins: number;
  locked_until: string | null;
  created_at: string;
  updated_at: string;
}

export interface UserSessionRow {
  id: string;
  user_id: string;
  token_hash: string;
  /** How the user signed in: `password` or `oidc`. */
  method: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

export interface UserInvitationRow {
  id: string;
  workspace_id: string;
  token_hash: string;
  email: string;
  display_name: string | null;
  role: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  accepted_at: string | null;
  accepted_by: string | null;
}

export interface ConnectorRow {
  workspace_id: string;
  id: string;
  uid: string;
  name: string;
  description: string | null;
  protocol_type: string;
  documentation_url: string | null;
  icon_url: string | null;
  base_url: string | null;
  dataset_id: string | null;
  /** 0 or 1. */
  is_public: number;
  /** JSON object of string lists. */
  tags: string;
  status: string;
  auth_scheme_configs: string;
  connection_variables: string;
  versions: string;
  created_at: string;
  updated_at: string;
  revision: number;
}

export interface ConnectionRow {
  id: Generated<number>;
  uid: string;
  workspace_id: string;
  connector_id: string | null;
  /** The connector id, or '' when there is none: names are unique per scope. */
  scope: string;
  name: string;
  type: string;
  env_type: number;
  description: string | null;
  status: string;
  content: string;
  variables: string;
  credentials: string;
  health: string;
  created_at: string;
  updated_at: string;
  revision: number;
  /** The person the connection belongs to (migration 0020); null: shared. */
  owner_user_id: string | null;
}

export interface AuditEventRow {
  id: Generated<number>;
  at: string;
  principal_id: string;
  workspace_id: string;
  /** The uid of the workspace the event belongs to; null for events older than migration 0012 of a workspace deleted since. */
  workspace_uid: string | null;
  action: string;
  resource_type: string;
  resource_id: string;
  request_id: string;
  from_revision: number | null;
  to_revision: number | null;
  changed_fields: string;
  /** The OAuth client the event was made through (migration 0016); null for every other event. */
  client_id: string | null;
  /** That client's name when the event was recorded (migration 0016). */
  client_name: string | null;
}

export interface IdempotencyRow {
  scope_key: string;
  request_hash: string;
  state: 'pending' | 'done';
  status: number | null;
  headers: string | null;
  body: string | null;
  created_at: string;
  expires_at: string;
}

export interface AccessClientRow {
  workspace_id: string;
  id: string;
  uid: string;
  name: string;
  description: string | null;
  toolsets: string;
  /** JSON list of "toolset/tool": when it names tools of a toolset, only those of it may be used. */
  tools: string;
  rate_limit: number | null;
  status: string;
  created_at: string;
  updated_at: string;
  revision: number;
}

/** A bearer token of an access client, as a SHA-256 digest only. */
export interface AccessClientSecretRow {
  id: string;
  workspace_id: string;
  client_id: string;
  token_hash: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
}

export interface ToolsetRow {
  workspace_id: string;
  name: string;
  uid: string;
  generation: number;
  description: string | null;
  labels: string;
  spec: string;
  status: string;
  observed_generation: number | null;
  operations: string | null;
  /** The served tools and their shared schemas (ToolCatalog JSON), from the last spec that converted. */
  catalog: string | null;
  claim_generation: number | null;
  claim_expires_at: string | null;
  created_time: string;
  updated_at: string;
  revision: number;
}

export interface CounterRow {
  name: string;
  value: number;
}

export interface McpEndedSessionRow {
  session_hash: string;
  expires_at: string;
}

/** A nonce of a signed request, refused again until `expires_at`. */
export interface RequestNonceRow {
  nonce_key: string;
  expires_at: string;
}

/** A record of the OAuth authorization server (oidc-provider's models), its payload as JSON text. */
export interface OAuthRecordRow {
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  expires_at: string | null;
  consumed_at: string | null;
}

/** A grant a user gave an MCP client for one toolset. */
export interface OAuthGrantRow {
  grant_id: string;
  workspace_id: string;
  toolset: string;
  toolset_uid: string;
  resource: string;
  user_id: string;
  client_id: string;
  client_name: string;
  /** Space-separated. */
  scopes: string;
  created_at: string;
  expires_at: string;
}

/** A connection's OAuth tokens and their state (migration 0017). */
export interface ConnectionTokenRow {
  connection_id: number;
  workspace_id: string;
  connection_uid: string;
  scheme_type: string;
  /** JSON `{accessToken, refreshToken, reconnectLink}`, each sealed. */
  tokens: string;
  /** The connector's baseUrl origin the tokens were issued for: they go nowhere else. */
  api_origin: string;
  scope: string | null;
  expires_at: string | null;
  state: string;
  connected_at: string;
  connected_by: string | null;
  user_id: string | null;
  last_refresh_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  reconnect_link_id: string | null;
  refresh_count: number;
  version: number;
  updated_at: string;
}

/** A connect flow in progress or a connect link (migration 0018). */
export interface ConnectRequestRow {
  id: string;
  kind: string;
  workspace_id: string;
  connection_id: number;
  connection_uid: string;
  created_by: string;
  bound_to: string | null;
  verifier: string | null;
  redirect_uri: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

/** An outgoing webhook of a workspace (migration 0019). */
export interface WebhookRow {
  id: string;
  workspace_id: string;
  url: string;
  description: string | null;
  /** JSON of the signing secret, sealed for the webhook. */
  secret: string;
  /** JSON list of event types. */
  event_types: string;
  /** 1 or 0. */
  enabled: number;
  created_at: string;
  updated_at: string;
  revision: number;
}

/** One event for one webhook, and how its delivery stands (migration 0019). */
export interface WebhookDeliveryRow {
  id: string;
  webhook_id: string;
  workspace_id: string;
  event_id: string;
  event_type: string;
  /** The body sent on every attempt. */
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
}

/** The tables Kysely checks queries against: types only (an open store is a `Db`, from `openDb` in database.ts). */
export interface Database {
  workspaces: WorkspaceRow;
  principals: PrincipalRow;
  memberships: MembershipRow;
  api_keys: ApiKeyRow;
  access_keys: AccessKeyRow;
  auth_tokens: AuthTokenRow;
  connectors: ConnectorRow;
  connections: ConnectionRow;
  counters: CounterRow;
  toolsets: ToolsetRow;
  audit_events: AuditEventRow;
  idempotency_records: IdempotencyRow;
  access_clients: AccessClientRow;
  access_client_secrets: AccessClientSecretRow;
  mcp_ended_sessions: McpEndedSessionRow;
  request_nonces: RequestNonceRow;
  oauth_records: OAuthRecordRow;
  oauth_grants: OAuthGrantRow;
  connection_tokens: ConnectionTokenRow;
  oauth_connect_requests: ConnectRequestRow;
  webhooks: WebhookRow;
  webhook_deliveries: WebhookDeliveryRow;
  users: UserRow;
  user_sessions: UserSessionRow;
  user_invitations: UserInvitationRow;
}
