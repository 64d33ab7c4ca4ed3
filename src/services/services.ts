import type { EgressPolicy } from '../egress/egress-policy.js';
import type { Db } from '../storage/database.js';
import type { Writer } from '../storage/writer.js';
import { createAccessClientService } from './access-client-service.js';
import { createAccessKeyService } from './access-key-service.js';
import { createAccessService } from './access-service.js';
import { createAuditService } from './audit-service.js';
import type { ConnectionTester } from './connection-tester.js';
import { createConnectionService } from './connection-service.js';
import { createConnectorPartsService } from './connector-parts-service.js';
import { createConnectorService } from './connector-service.js';
import type { Clock } from './clock.js';
import { createGatewayService, type CatalogServing, type GatewayServiceOptions } from './gateway-service.js';
import { createToolTrialService } from './tool-trial-service.js';
import { createIdempotencyService } from './idempotency-service.js';
import { createNonceService, type NonceService } from './nonce-service.js';
import { createOAuthService, type OAuthService } from './oauth-service.js';
import { createTokenService } from './token-service.js';
import type { ToolsetReconciler } from './toolset-reconciler.js';
import { createToolsetService, type GatewayUrls } from './toolset-service.js';
import { egressFetch } from '../egress/egress-connect.js';
import { createInvitationService } from './invitation-service.js';
import { createOidcSignIn, type OidcSettings, type OidcSignIn } from './oidc-sign-in.js';
import { createUserService, type UserSettings } from './user-service.js';
import type { Vault } from './vault.js';
import { createWorkspaceService } from './workspace-service.js';
import { createWebhookService, type WebhookService } from './webhook-service.js';
import {
  createUpstreamOAuthService,
  type RefreshOutcome,
  type UpstreamOAuthOptions,
  type UpstreamOAuthService,
} from './upstream-oauth-service.js';

/** Every service, built once; the edges receive this and nothing else. */
export interface Services {
  readonly workspaces: ReturnType<typeof createWorkspaceService>;
  readonly connectors: ReturnType<typeof createConnectorService>;
  readonly connectorParts: ReturnType<typeof createConnectorPartsService>;
  readonly connections: ReturnType<typeof createConnectionService>;
  readonly access: ReturnType<typeof createAccessService>;
  readonly accessKeys: ReturnType<typeof createAccessKeyService>;
  readonly accessClients: ReturnType<typeof createAccessClientService>;
  readonly tokens: ReturnType<typeof createTokenService>;
  readonly audit: ReturnType<typeof createAuditService>;
  readonly toolsets: ReturnType<typeof createToolsetService>;
  readonly idempotency: ReturnType<typeof createIdempotencyService>;
  readonly gateway: ReturnType<typeof createGatewayService>;
  /** Tool calls made by a signed-in principal through the gateway's call path (the console's "try a tool"). */
  readonly toolTrials: ReturnType<typeof createToolTrialService>;
  /** Nonces of signed requests (vendor dialects), shared by every node. */
  readonly nonces: NonceService;
  /** The built-in OAuth authorization server's store, grants and token checks. */
  readonly oauth: OAuthService;
  /** People: password sign-in, sessions, memberships of users. */
  readonly users: ReturnType<typeof createUserService>;
  readonly invitations: ReturnType<typeof createInvitationService>;
  /** Sign-in with the external OpenID Connect provider; undefined when none is configured. */
  readonly oidc: OidcSignIn | undefined;
  /** Managed OAuth to upstream APIs: connect flows, connect links and the refresh engine. */
  readonly upstreamOAuth: UpstreamOAuthService;
  /** Outgoing webhooks of a workspace and their deliveries (the dispatcher sends them). */
  readonly webhooks: WebhookService;
}

/** Builds every service over one store, writer and vault; app.ts calls it once. */
export function createServices(deps: {
  db: Db;
  writer: Writer;
  vault: Vault;
  clock: Clock;
  tester: ConnectionTester;
  reconciler: Pick<ToolsetReconciler, 'trigger'>;
  urls: GatewayUrls;
  gateway: Omit<GatewayServiceOptions, 'publicUrl'>;
  /** How catalogues are served, and the largest document a toolset may hold. */
  catalog: CatalogServing & { readonly maxDocumentBytes: number };
  egress: EgressPolicy;
  /** PUBLIC_URL: the OAuth issuer and the origin MCP endpoints are known by. */
  publicUrl: string;
  /** Keeps request nonces in Redis instead of the store. */
  redisUrl?: string;
  people: UserSettings & { readonly invitationTtlSeconds: number };
  /** The origin people reach this server at, for links (PUBLIC_URL, else the one the caller addressed). */
  baseUrlOf: (requestOrigin: string | undefined) => string;
  oidc: OidcSettings | undefined;
  upstreamOAuth: UpstreamOAuthOptions;
  /** Counts each refresh of an upstream OAuth token by outcome (metrics). */
  onRefresh?: (outcome: RefreshOutcome) => void;
}): Services {
  const { db, writer, vault, clock, tester, reconciler, urls } = deps;
  const connectors = createConnectorService({ db, writer, vault, clock });
  const users = createUserService({ db, writer, clock, settings: deps.people });
  const membership = (userId: string, workspaceId: string) => users.membership(userId, workspaceId);
  const oauth = createOAuthService({ db, writer, clock, vault, issuer: deps.publicUrl, membership });
  const upstreamOAuth = createUpstreamOAuthService({
    db,
    writer,
    vault,
    clock,
    egress: deps.egress,
    options: deps.upstreamOAuth,
    baseUrlOf: deps.baseUrlOf,
    onRefresh: deps.onRefresh,
  });
  const gateway = createGatewayService({
    db,
    writer,
    vault,
    clock,
    options: { ...deps.gateway, publicUrl: deps.publicUrl },
    egress: deps.egress,
    oauth,
    catalog: deps.catalog,
    upstreamOAuth,
  });
  return {
    workspaces: createWorkspaceService({ db, writer, clock }),
    connectors,
    connectorParts: createConnectorPartsService({ db, connectors, vault, clock }),
    connections: createConnectionService({ db, writer, vault, clock, tester }),
    access: createAccessService({ db, writer, clock }),
    accessKeys: createAccessKeyService({ db, writer, vault, clock }),
    accessClients: createAccessClientService({ db, writer, clock }),
    tokens: createTokenService({ db, writer, clock }),
    audit: createAuditService({ db }),
    idempotency: createIdempotencyService({ writer, clock }),
    toolsets: createToolsetService({
      db,
      writer,
      vault,
      clock,
      urls,
      onSpecChange: reconciler.trigger,
      catalog: deps.catalog,
    }),
    gateway,
    toolTrials: createToolTrialService({ gateway }),
    oauth,
    nonces: createNonceService({ db, writer, clock, redisUrl: deps.redisUrl }),
    users,
    upstreamOAuth,
    webhooks: createWebhookService({ db, writer, vault, clock, egress: deps.egress }),
    oidc:
      deps.oidc &&
      createOidcSignIn({ settings: deps.oidc, fetch: egressFetch(deps.egress), users, baseUrlOf: deps.baseUrlOf }),
    invitations: createInvitationService({
      db,
      writer,
      clock,
      ttlSeconds: deps.people.invitationTtlSeconds,
      baseUrlOf: deps.baseUrlOf,
    }),
  };
}
