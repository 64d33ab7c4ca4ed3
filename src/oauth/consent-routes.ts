import { createHmac, timingSafeEqual } from 'node:crypto';
import { parse as parseQuery } from 'node:querystring';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { InteractionDetails, Provider, ProviderClient } from 'oidc-provider';
import { MCP_SCOPES, basePathOf, parseMcpResource, type McpScope } from '../domain/oauth.js';
import type { Role } from '../domain/permissions.js';
import { scopesForRole, type OAuthService } from '../services/oauth-service.js';
import { consentPage, messagePage, type ConsentView } from './consent-page.js';

/** A user a session cookie proves (the people service's SignedInUser). */
export interface SignedInUser {
  readonly userId: string;
  readonly email: string;
  readonly displayName: string;
}

export interface ConsentDeps {
  readonly provider: Provider;
  readonly issuer: string;
  readonly oauth: OAuthService;
  readonly refreshTokenTtlSeconds: number;
  /** The user behind a `pb_session` cookie value, or null. */
  readonly authenticateSession: (token: string) => Promise<SignedInUser | null>;
  readonly membership: (userId: string, workspaceId: string) => Promise<Role | undefined>;
  /** The toolset's uid, undefined when there is no such toolset. */
  readonly toolsetUid: (workspaceId: string, toolset: string) => Promise<string | undefined>;
  /** Binds the consent form to its interaction and the signed-in session (CSRF). */
  readonly csrfKey: Buffer;
}

const SESSION_COOKIE = 'pb_session';
const hidden = { schema: { hide: true } };
// No form-action: browsers apply it to the redirects after the post too, and the last one goes to the client's
// redirect URI (another origin, or an app's own scheme).
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
};

function cookieOf(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

const hostOf = (url: string | undefined) => {
  try {
    return url === undefined ? undefined : new URL(url).host;
  } catch {
    return undefined;
  }
};

/** What an interaction asks for, read once for the page and again, freshly, when the form comes back. */
interface Request {
  readonly details: InteractionDetails;
  readonly client: ProviderClient;
  readonly resource: string;
  readonly workspaceId: string;
  readonly toolset: string;
  readonly toolsetUid: string;
  readonly asked: readonly string[];
}

/**
 * The consent page of the authorization server: the signed-in user (else a redirect to the sign-in page, which
 * comes back here) sees the client, its logo's and redirect's hosts, the toolset and whether it may list or also
 * call tools, and approves or denies. Approval records the grant (oidc-provider's and plugboard's, audited).
 */
export function consentRoutes(app: FastifyInstance, deps: ConsentDeps, done: () => void): void {
  const { provider, oauth } = deps;
  // The browser's URLs carry PUBLIC_URL's path prefix; the routes here do not.
  const basePath = basePathOf(deps.issuer);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 4096 },
    (_r, body, done) => done(null, parseQuery(body as string)),
  );

  const csrfOf = (uid: string, session: string) =>
    createHmac('sha256', deps.csrfKey).update(`${uid}\u0000${session}`).digest('base64url');

  function page(reply: FastifyReply, status: number, html: string) {
    return reply.code(status).headers(PAGE_HEADERS).send(html);
  }

  /** Reads the interaction, or answers the page that says why it cannot go on (and returns undefined). */
  async function read(request: FastifyRequest, reply: FastifyReply): Promise<Request | undefined> {
    let details: InteractionDetails;
    try {
      details = await provider.interactionDetails(request.raw, reply.raw);
    } catch {
      await page(reply, 400, messagePage('This sign-in request has expired', 'Start again from your MCP client.'));
      return undefined;
    }
    const client = await provider.Client.find(String(details.params.client_id));
    const resource = details.params.resource;
    const target = typeof resource === 'string' ? parseMcpResource(deps.issuer, resource) : undefined;
    const toolsetUid = target && (await deps.toolsetUid(target.workspaceId, target.toolset));
    if (!client || !target || !toolsetUid || typeof resource !== 'string') {
      await finish(request, reply, {
        error: 'invalid_target',
        error_description: 'The request must name one MCP endpoint of this server as its resource.',
      });
      return undefined;
    }
    const asked = typeof details.params.scope === 'string' ? details.params.scope.split(' ') : [];
    return { details, client, resource, ...target, toolsetUid, asked };
  }

  async function finish(request: FastifyRequest, reply: FastifyReply, result: Record<string, unknown>) {
    reply.hijack();
    await provider.interactionFinished(request.raw, reply.raw, result, { mergeWithLastSubmission: false });
  }

  app.get('/oauth/interaction/:uid', hidden, async (request, reply) => {
    const { uid } = request.params as { uid: string };
    const session = cookieOf(request, 'pb_session');
    const user = session ? await deps.authenticateSession(session) : null;
    if (!user || !session)
      return reply.redirect(
        `${basePath}/auth/sign-in?return_to=${encodeURIComponent(`/oauth/interaction/${encodeURIComponent(uid)}`)}`,
        303,
      );
    const asked = await read(request, reply);
    if (!asked) return reply;
    const role = await deps.membership(user.userId, asked.workspaceId);
    const view: ConsentView = {
      action: `${basePath}/oauth/interaction/${encodeURIComponent(uid)}`,
      csrf: csrfOf(uid, session),
      user: user.displayName || user.email,
      clientName: asked.client.clientName ?? asked.client.clientId,
      clientId: asked.client.clientId,
      logoHost: hostOf(asked.client.logoUri),
      redirectHost: hostOf(String(asked.details.params.redirect_uri)) ?? '',
      workspaceId: asked.workspaceId,
      toolset: asked.toolset,
      role,
      granted: role ? scopesForRole(asked.asked, role) : [],
      asked: asked.asked.filter((s): s is McpScope => s === 'mcp:read' || s === 'mcp:call'),
    };
    return page(reply, 200, consentPage(view));
  });

  app.post('/oauth/interaction/:uid', hidden, async (request, reply) => {
    const { uid } = request.params as { uid: string };
    const session = cookieOf(request, SESSION_COOKIE);
    const user = session ? await deps.authenticateSession(session) : null;
    const form = (request.body ?? {}) as Record<string, unknown>;
    const expected = session ? Buffer.from(csrfOf(uid, session)) : undefined;
    const given = Buffer.from(typeof form.csrf === 'string' ? form.csrf : '');
    if (!user || !expected || given.length !== expected.length || !timingSafeEqual(given, expected))
      return page(reply, 403, messagePage('This form is no longer valid', 'Reload the page and try again.'));
    const asked = await read(request, reply);
    if (!asked) return reply;
    if (form.decision !== 'approve')
      return finish(request, reply, { error: 'access_denied', error_description: 'The user denied the request.' });
    const role = await deps.membership(user.userId, asked.workspaceId);
    const scopes = role ? scopesForRole(asked.asked, role) : [];
    if (scopes.length === 0)
      return finish(request, reply, {
        error: 'access_denied',
        error_description: `The user may not use this toolset${role ? ` as a ${role}` : ''}.`,
      });
    // oidc-provider asks for consent again while a requested scope is neither granted nor rejected: what the
    // role does not allow is recorded as rejected, and tokens carry only the granted resource scopes.
    const grant = new provider.Grant({ accountId: user.userId, clientId: asked.client.clientId });
    const refused = MCP_SCOPES.filter((s) => asked.asked.includes(s) && !scopes.includes(s));
    grant.addResourceScope(asked.resource, scopes.join(' '));
    if (refused.length > 0) grant.rejectResourceScope(asked.resource, refused.join(' '));
    const oidcScopes = asked.asked.filter((s) => s === 'openid' || s === 'offline_access');
    grant.addOIDCScope([...oidcScopes, ...scopes].join(' '));
    if (refused.length > 0) grant.rejectOIDCScope(refused.join(' '));
    const grantId = await grant.save();
    await oauth.recordGrant({
      grantId,
      workspaceId: asked.workspaceId,
      toolset: asked.toolset,
      toolsetUid: asked.toolsetUid,
      resource: asked.resource,
      userId: user.userId,
      clientId: asked.client.clientId,
      clientName: asked.client.clientName ?? asked.client.clientId,
      scopes,
      expiresAt: new Date(Date.now() + deps.refreshTokenTtlSeconds * 1000).toISOString(),
      requestId: request.id,
    });
    return finish(request, reply, { login: { accountId: user.userId }, consent: { grantId } });
  });
  done();
}
