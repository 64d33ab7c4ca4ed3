import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Provider } from 'oidc-provider';
import { MCP_SCOPES, MCP_TRANSPORTS, basePathOf, mcpResourceOf } from '../domain/oauth.js';
import { consentRoutes, type ConsentDeps } from './consent-routes.js';

/** The routes' dependencies: the provider, and what the consent page needs. */
export interface OAuthRouteOptions extends ConsentDeps {
  readonly provider: Provider;
  readonly issuer: string;
}

/** Protected resource metadata and the authorization server's are public documents, read by any origin. */
const PUBLIC_DOCUMENT = {
  'access-control-allow-origin': '*',
  'cache-control': 'public, max-age=300',
};

const hidden = { schema: { hide: true } };

/**
 * The OAuth edge: RFC 9728 protected resource metadata of every MCP endpoint (path-inserted, and the root
 * form), the authorization server's RFC 8414 and OpenID metadata, its endpoints under /oauth (oidc-provider
 * answers them on the raw request), and the consent page.
 */
export async function oauthRoutes(app: FastifyInstance, options: OAuthRouteOptions): Promise<void> {
  const { provider, issuer } = options;
  const handle = provider.callback();
  const publicUrl = new URL(issuer);
  const basePath = basePathOf(issuer);

  /** Hands the request to oidc-provider as it arrived (its body unread), with `url` in place of its own. */
  function toProvider(request: FastifyRequest, reply: FastifyReply, url = request.raw.url!) {
    reply.hijack();
    const raw = request.raw as typeof request.raw & { originalUrl?: string };
    raw.url = url;
    // As if mounted at PUBLIC_URL's path: oidc-provider builds its URLs under the prefix the request came through.
    raw.originalUrl = `${basePath}${url}`;
    // Every URL it builds is on PUBLIC_URL, whatever Host the caller addressed (see provider.proxy).
    raw.headers['x-forwarded-proto'] = publicUrl.protocol.slice(0, -1);
    raw.headers['x-forwarded-host'] = publicUrl.host;
    raw.headers['x-request-id'] = request.id;
    reply.raw.setHeader('x-request-id', request.id);
    handle(raw, reply.raw);
  }

  // oidc-provider reads (and bounds) request bodies itself: Fastify leaves them unread in this scope.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  // ---- RFC 9728 protected resource metadata ------------------------------------------------------------

  function resourceMetadata(resource: string) {
    return {
      resource,
      authorization_servers: [issuer],
      scopes_supported: [...MCP_SCOPES],
      bearer_methods_supported: ['header'],
      resource_name: 'plugboard MCP gateway',
      resource_documentation: `${issuer}/docs`,
    };
  }

  // Where the well-known documents are served: as RFC 9728 §3.1 and RFC 8414 §3.1 publish them (the well-known
  // segment, then PUBLIC_URL's path prefix: a proxy passes these on as they are), and without the prefix (what a
  // proxy that strips it from `{prefix}/.well-known/…` passes on). One and the same without a prefix.
  const wellKnown = (name: string, path = '') => [
    ...new Set([`/.well-known/${name}${basePath}${path}`, `/.well-known/${name}${path}`]),
  ];

  // Streamable HTTP (/mcp/…) and legacy SSE (/sse/…): each endpoint is a resource, its tokens its own.
  for (const transport of MCP_TRANSPORTS)
    for (const path of wellKnown('oauth-protected-resource', `/${transport}/:workspaceId/:toolset`))
      app.get(path, hidden, async (request, reply) => {
        const { workspaceId, toolset } = request.params as { workspaceId: string; toolset: string };
        return reply
          .headers(PUBLIC_DOCUMENT)
          .send(resourceMetadata(mcpResourceOf(issuer, workspaceId, toolset, transport)));
      });

  // The root form names the server itself; each MCP endpoint is a resource of its own (the path-inserted form).
  for (const path of wellKnown('oauth-protected-resource'))
    app.get(path, hidden, async (_request, reply) => reply.headers(PUBLIC_DOCUMENT).send(resourceMetadata(issuer)));

  // ---- The authorization server ----------------------------------------------------------------------------

  // RFC 8414 (and OpenID Connect Discovery): one document, oidc-provider's, at both well-known names.
  for (const path of [...wellKnown('oauth-authorization-server'), ...wellKnown('openid-configuration')])
    app.get(path, hidden, async (request, reply) => {
      reply.raw.setHeader('access-control-allow-origin', '*');
      toProvider(request, reply, '/.well-known/openid-configuration');
    });

  // Clients that ask for no scope get both: the consent page says what each means, and the role bounds it.
  app.get('/oauth/authorize', hidden, async (request, reply) => {
    const url = new URL(request.raw.url!, issuer);
    if (!url.searchParams.has('scope') && url.searchParams.has('resource'))
      url.searchParams.set('scope', MCP_SCOPES.join(' '));
    toProvider(request, reply, `${url.pathname}${url.search}`);
  });

  for (const path of ['/oauth/*', '/oauth'])
    app.all(path, hidden, async (request, reply) => {
      toProvider(request, reply);
    });

  await app.register(consentRoutes, options);
}
