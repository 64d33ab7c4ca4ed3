import type { FastifyInstance } from 'fastify';
import { registerNativeApi } from './api/native-api.js';
import { connectRoutes } from './api/auth/connect-routes.js';
import { signInRoutes } from './api/auth/sign-in-routes.js';
import { isFrontPage, webConsole } from './api/console.js';
import { basePathOf } from './domain/oauth.js';
import { sendProblem } from './api/problem.js';
import { alibabaDialect } from './dialects/alibaba/alibaba-dialect.js';
import type { Dialect } from './dialects/dialect.js';
import { huaweiFabric } from './dialects/huawei-fabric/huawei-fabric-dialect.js';
import { versori } from './dialects/versori/versori-dialect.js';
import { createFastPath } from './gateway/fast-path.js';
import { createGatewayExchanges, gatewayRoutes, type GatewayLimits } from './gateway/gateway-routes.js';
import { createServer, type ServerSetup } from './http/create-server.js';
import { countingRejections } from './http/metrics.js';
import type { RateLimits } from './http/rate-limit.js';
import { requestIdOf } from './http/request-id.js';
import type { RateLimit, RateLimiter } from './rate-limit/rate-limiter.js';
import type { Services } from './services/services.js';
import type { FetchLike } from './egress/egress-connect.js';
import { createAuthorizationServer, type AuthorizationServerSettings } from './oauth/authorization-server.js';
import { runtimeWarnings } from './oauth/oidc-provider-import.js';
import { oauthRoutes } from './oauth/oauth-routes.js';

/** Everything the server and its edges need besides the services (app.ts gathers it from the config). */
export interface ServerOptions extends Omit<ServerSetup, 'sendError' | 'redirectOf' | 'frontHandler'> {
  readonly requireIfMatch: boolean;
  /** The body limit of the routes that take an OpenAPI document: the larger of BODY_LIMIT and TOOLSET_MAX_DOCUMENT_BYTES. */
  readonly documentBodyLimit: number;
  readonly rateLimiter: RateLimiter;
  readonly rateLimits: RateLimits;
  /** Calls per second of an access client without a limit of its own; undefined for none. */
  readonly gatewayRateLimit: RateLimit | undefined;
  /** Batches, answer sizes, SSE streams per client and allowed origins of the MCP gateway. */
  readonly gatewayLimits: GatewayLimits;
  /** Model Studio (Bailian) calls per principal and operation; undefined for none. */
  readonly bailianRateLimit?: RateLimit;
  /** How long a Huawei DataArts Fabric call may take before it is answered with 408. */
  readonly huaweiFabricTimeoutMs: number;
  /**
   * PUBLIC_URL (or this node's address): its origin is where browsers' cookie-authenticated requests come from;
   * it is also the OAuth issuer and the origin of every MCP endpoint's resource identifier.
   */
  readonly publicUrl: string;
  /** Sign-in budgets and session lifetime (docs/people.md). */
  readonly people: { readonly signInPerMinute: number; readonly sessionTtlSeconds: number };
  /** The OAuth authorization server's token lifetimes, pre-registered clients and document bound. */
  readonly oauth: Omit<AuthorizationServerSettings, 'issuer'>;
  readonly oauthCookieKeys: readonly string[];
  readonly oauthCsrfKey: Buffer;
  /** fetch through the egress policy, for Client ID Metadata Documents. */
  readonly clientMetadataFetch: FetchLike;
  /** How long a connect flow started from a connect link may take (its browser cookie lives as long). */
  readonly upstreamOAuth: { readonly connectTtlSeconds: number };
}

/** The OAuth authorization server and the MCP endpoints' protected resource metadata (src/oauth/). */
async function registerOAuth(app: FastifyInstance, services: Services, options: ServerOptions): Promise<void> {
  const issuer = options.publicUrl;
  const toolsetUid = async (workspaceId: string, toolset: string) =>
    (await services.gateway.toolset(workspaceId, toolset))?.uid;
  for (const warning of runtimeWarnings) options.logger.warn({ node: process.version }, warning);
  const provider = createAuthorizationServer({
    settings: { ...options.oauth, issuer },
    oauth: services.oauth,
    cookieKeys: options.oauthCookieKeys,
    toolsetExists: async (workspaceId, toolset) => (await toolsetUid(workspaceId, toolset)) !== undefined,
    fetch: options.clientMetadataFetch,
    onTokenIssued: (grantId, requestId) =>
      void services.oauth
        .recordTokenIssued(grantId, requestId)
        .catch((error: unknown) => options.logger.warn({ err: error }, 'could not audit an issued OAuth token')),
  });
  await app.register(oauthRoutes, {
    provider,
    issuer,
    oauth: services.oauth,
    refreshTokenTtlSeconds: options.oauth.refreshTokenTtlSeconds,
    authenticateSession: (token) => services.users.authenticateSession(token),
    membership: (userId, workspaceId) => services.users.membership(userId, workspaceId),
    toolsetUid,
    csrfKey: options.oauthCsrfKey,
  });
}

/**
 * The HTTP server with every edge mounted: the native API under /api/v1, the web console, the vendor dialects
 * and the MCP gateway, all over the same services.
 */
export async function buildServer(services: Services, given: ServerOptions): Promise<FastifyInstance> {
  // Every edge spends from the same limiter, which counts the 429s of all of them.
  const options = { ...given, rateLimiter: countingRejections(given.rateLimiter, given.metrics.rateLimitRejections) };
  // PUBLIC_URL's path prefix, for the redirects and links of pages: the routes themselves are served without it.
  const basePath = basePathOf(options.publicUrl);
  const exchanges = createGatewayExchanges({
    gateway: services.gateway,
    rateLimiter: options.rateLimiter,
    defaultRateLimit: options.gatewayRateLimit,
    limits: options.gatewayLimits,
    publicUrl: options.publicUrl,
  });
  const app = await createServer({
    ...options,
    sendError: sendProblem,
    redirectOf: (request) => (isFrontPage(request) ? `${basePath}/console/` : undefined),
    // MCP tool calls take a path of their own in front of Fastify (src/gateway/fast-path.ts).
    frontHandler: (isClosing) =>
      createFastPath({
        exchanges,
        logger: options.logger,
        metrics: options.metrics,
        bodyLimit: options.bodyLimit,
        nodeId: options.nodeId,
        requestIdOf,
        isDraining: options.isDraining,
        isClosing,
      }),
  });
  const publicOrigin = new URL(options.publicUrl).origin;
  await registerNativeApi(app, {
    services,
    rateLimiter: options.rateLimiter,
    rateLimits: options.rateLimits,
    requireIfMatch: options.requireIfMatch,
    documentBodyLimit: options.documentBodyLimit,
    publicOrigin,
  });
  // People sign in here; the console and the OAuth consent page send them to /auth/sign-in.
  await app.register(signInRoutes, {
    prefix: '/auth',
    users: services.users,
    invitations: services.invitations,
    rateLimiter: options.rateLimiter,
    signInPerMinute: options.people.signInPerMinute,
    sessionTtlSeconds: options.people.sessionTtlSeconds,
    secure: publicOrigin.startsWith('https:'),
    publicOrigin,
    oidc: services.oidc,
    basePath,
  });
  // Managed upstream OAuth: connect links and the providers' callback.
  await app.register(connectRoutes, {
    upstreamOAuth: services.upstreamOAuth,
    users: services.users,
    secure: publicOrigin.startsWith('https:'),
    connectTtlSeconds: options.upstreamOAuth.connectTtlSeconds,
    basePath,
  });
  await app.register(webConsole, { basePath });
  // The MCP gateway: its own authentication (access-client tokens), rate limits and JSON-RPC errors.
  await app.register(gatewayRoutes, {
    gateway: services.gateway,
    rateLimiter: options.rateLimiter,
    defaultRateLimit: options.gatewayRateLimit,
    limits: options.gatewayLimits,
    exchanges,
    sseKeepAliveSeconds: 15,
    publicUrl: options.publicUrl,
  });
  await registerOAuth(app, services, options);
  // Every dialect in one scope; the vendors document their own routes, so /openapi.json stays about the native API.
  const dialectDeps = {
    services,
    rateLimiter: options.rateLimiter,
    rateLimits: options.rateLimits,
    bailianRateLimit: options.bailianRateLimit,
    huaweiFabricTimeoutMs: options.huaweiFabricTimeoutMs,
    documentBodyLimit: options.documentBodyLimit,
  };
  const dialects: readonly Dialect<typeof dialectDeps>[] = [alibabaDialect, huaweiFabric, versori];
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, hide: true };
    });
    for (const dialect of dialects) await dialect.register(scope, dialectDeps);
  });
  return app;
}
