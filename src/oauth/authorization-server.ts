import { AsyncLocalStorage } from 'node:async_hooks';
import type { MiddlewareContext, Provider as OidcProvider } from 'oidc-provider';
import { Provider, errors } from './oidc-provider-import.js';
import { MCP_SCOPES, basePathOf, parseMcpResource } from '../domain/oauth.js';
import type { FetchLike } from '../egress/egress-connect.js';
import type { OAuthService } from '../services/oauth-service.js';

/** What the authorization server is configured with (OAUTH_* settings; see docs/configuration.md). */
export interface AuthorizationServerSettings {
  /** PUBLIC_URL: the issuer, and the origin of every endpoint and MCP resource. */
  readonly issuer: string;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  /** Pre-registered clients (OAUTH_CLIENTS), as RFC 7591 client metadata. */
  readonly clients: readonly Record<string, unknown>[];
  /** Largest Client ID Metadata Document accepted, in bytes. */
  readonly metadataDocumentMaxBytes: number;
}

/** The Client ID Metadata Documents the current request fetched, by URL. */
const documentsFetched = new AsyncLocalStorage<Set<string>>();

/** Where the endpoints are: under /oauth, next to the console and the API, on the issuer's origin. */
export const OAUTH_ROUTES = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  registration: '/oauth/register',
  revocation: '/oauth/revoke',
  jwks: '/oauth/jwks',
  end_session: '/oauth/session/end',
  userinfo: '/oauth/userinfo',
  introspection: '/oauth/introspect',
  pushed_authorization_request: '/oauth/par',
  code_verification: '/oauth/device',
  device_authorization: '/oauth/device/auth',
  backchannel_authentication: '/oauth/backchannel',
  challenge: '/oauth/challenge',
} as const;

/** The consent page of an interaction (src/oauth/consent-routes.ts), as routed (without PUBLIC_URL's prefix). */
export const interactionPath = (uid: string) => `/oauth/interaction/${encodeURIComponent(uid)}`;

/**
 * The authorization server: oidc-provider (OpenID-certified; PKCE, dynamic registration, resource indicators,
 * refresh-token rotation and revocation are its features), configured for MCP:
 * - authorization code with PKCE S256 only, for every client (OAuth 2.1);
 * - clients are pre-registered (OAUTH_CLIENTS), registered dynamically (RFC 7591), or known by an HTTPS
 *   Client ID Metadata Document, fetched through the egress policy with a size, time and cache bound;
 * - every access token is a JWT for exactly one MCP endpoint (RFC 8707 `resource`), signed with a key derived
 *   from the master keys, short-lived; refresh tokens rotate, and a refresh token used twice revokes its grant;
 * - its state lives in plugboard's store (the OAuth service's adapter), so any node serves any step.
 */
export function createAuthorizationServer(deps: {
  settings: AuthorizationServerSettings;
  oauth: OAuthService;
  cookieKeys: readonly string[];
  /** Whether a toolset exists: the resource of a token must be an MCP endpoint that is there. */
  toolsetExists: (workspaceId: string, toolset: string) => Promise<boolean>;
  /** fetch through the egress policy, for Client ID Metadata Documents. */
  fetch: FetchLike;
  onTokenIssued: (grantId: string, requestId: string) => void;
}): OidcProvider {
  const { settings, oauth } = deps;
  const { issuer } = settings;
  // Its cookies are for the browser's paths, which carry PUBLIC_URL's path prefix.
  const cookiePath = `${basePathOf(issuer)}/oauth`;
  const provider = new Provider(issuer, {
    adapter: (model: string) => oauth.adapter(model),
    clients: settings.clients,
    jwks: { keys: oauth.privateJwks() },
    cookies: {
      keys: [...deps.cookieKeys],
      long: { signed: true, path: cookiePath },
      short: { signed: true, path: cookiePath },
    },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
    // Listed so that registration accepts them; a grant holds them for its resource and as its own scopes.
    scopes: ['openid', 'offline_access', ...MCP_SCOPES],
    claims: { openid: ['sub'] },
    responseTypes: ['code'],
    pkce: { required: () => true },
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      id_token_signed_response_alg: 'ES256',
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
    enabledJWA: { idTokenSigningAlgValues: ['ES256'], requestObjectSigningAlgValues: ['ES256'] },
    routes: OAUTH_ROUTES,
    // Absolute, on PUBLIC_URL: a path alone would lose its prefix.
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `${issuer}${interactionPath(interaction.uid)}`,
    },
    ttl: {
      AccessToken: settings.accessTokenTtlSeconds,
      AuthorizationCode: 60,
      Grant: settings.refreshTokenTtlSeconds,
      Interaction: 600,
      RefreshToken: settings.refreshTokenTtlSeconds,
      Session: 24 * 3600,
    },
    // A client that may refresh gets a refresh token without asking for offline_access; it rotates on every use.
    issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    expiresWithSession: () => false,
    // The gateway checks that the grant still stands: revoking it ends its access tokens at once.
    extraTokenClaims: (_ctx: unknown, token: { grantId?: string }) => ({ gid: token.grantId }),
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: false },
      userinfo: { enabled: false },
      clientIdMetadataDocument: {
        enabled: true,
        ack: 'draft-02',
        cacheDuration: { min: 60, max: 3600 },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx: unknown, _client: unknown, oneOf?: string[]) => oneOf?.[0],
        useGrantedResource: () => true,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => {
          const target = parseMcpResource(issuer, resource);
          if (!target || !(await deps.toolsetExists(target.workspaceId, target.toolset)))
            throw new errors.InvalidTarget("the resource must be the URL of one of this server's MCP endpoints");
          return {
            scope: MCP_SCOPES.join(' '),
            audience: resource,
            accessTokenTTL: settings.accessTokenTtlSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    // Client ID Metadata Documents come through plugboard's egress policy, not oidc-provider's own dispatcher.
    fetch: (url: string, init: RequestInit & { dispatcher?: unknown }) => {
      // When a document cannot be had, oidc-provider's authorization error page looks the client up again, which
      // would fetch it a second time (twice the time limit, twice the traffic anyone can make us send): one
      // fetch per document per request. Success is cached by oidc-provider, so a repeat is only ever that retry.
      const fetched = documentsFetched.getStore();
      if (fetched?.has(url)) return Promise.reject(new Error('this request fetched the document already'));
      fetched?.add(url);
      const checked: RequestInit & { dispatcher?: unknown } = { ...init };
      delete checked.dispatcher;
      return deps.fetch(url, checked);
    },
    fetchResponseBodyLimits: { 'client_id metadata document': settings.metadataDocumentMaxBytes },
    renderError: (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = errorPage(out);
    },
  });
  // Behind a TLS proxy every URL it builds must be PUBLIC_URL's: the routes set X-Forwarded-* from it.
  provider.proxy = true;
  provider.use((_ctx, next) => documentsFetched.run(new Set(), next));
  provider.use(revokeAccessTokens(oauth));
  provider.on('grant.success', (ctx) => {
    const { AuthorizationCode, RefreshToken } = ctx.oidc.entities;
    const grantId = (AuthorizationCode ?? RefreshToken)?.grantId;
    if (grantId) deps.onTokenIssued(grantId, ctx.get('x-request-id'));
  });
  return provider;
}

/**
 * RFC 7009 §2 says a server SHOULD revoke access tokens too; oidc-provider refuses every JWT access token with
 * `unsupported_token_type`, as it keeps none. Once it has authenticated the client and refused only for that,
 * the grant of the token is revoked instead, which is how a JWT access token ends here. As oidc-provider's own
 * policy does for stored tokens: another client's token is refused to a confidential client and ignored (200)
 * for a public one, and a token that is none of this server's is answered 200 (§2.2).
 */
function revokeAccessTokens(oauth: OAuthService) {
  return async (ctx: MiddlewareContext, next: () => Promise<void>) => {
    await next();
    const { route, params, client } = ctx.oidc ?? {};
    if (route !== 'revocation' || !client || typeof params?.token !== 'string') return;
    if (ctx.status !== 400 || (ctx.body as { error?: unknown } | undefined)?.error !== 'unsupported_token_type') return;
    const outcome = await oauth.revokeAccessToken(params.token, client.clientId, ctx.get('x-request-id'));
    if (outcome === 'other-client' && client.clientAuthMethod !== 'none') {
      ctx.body = {
        error: 'invalid_request',
        error_description: 'client is not authorized to revoke the presented token',
      };
      return;
    }
    ctx.status = 200;
    ctx.body = '';
  };
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** The page of an authorization request that cannot go back to its client (an unknown client, say). */
function errorPage(out: Record<string, string>): string {
  const error = escapeHtml(out.error ?? 'error');
  const description = escapeHtml(out.error_description ?? '');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Authorization failed</title></head><body><main><h1>Authorization failed</h1><p><code>${error}</code></p><p>${description}</p></main></body></html>`;
}
