import { Type } from '@sinclair/typebox';
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { Slug } from '../../domain/common.js';
import { MCP_SCOPES } from '../../domain/oauth.js';
import type { OAuthService } from '../../services/oauth-service.js';
import { errorResponses, pageRequestOf, sendPage, writeErrorResponses } from '../http.js';
import { PageQuery, pageOf } from '../schemas.js';

const GrantView = Type.Object({
  id: Type.String(),
  workspaceId: Type.String(),
  toolset: Type.String(),
  resource: Type.String({ description: 'The MCP endpoint the tokens of this grant are for (RFC 8707).' }),
  userId: Type.String(),
  userName: Type.Union([Type.String(), Type.Null()], {
    description: "The user's display name; null once that user is gone.",
  }),
  clientId: Type.String({ description: 'The OAuth client: a registered id, or the URL of its metadata document.' }),
  clientName: Type.String(),
  scopes: Type.Array(Type.Union(MCP_SCOPES.map((s) => Type.Literal(s)))),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  lastTokenAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description:
      'When the client last got an access token under this grant (its first, or a refresh): how recently it was in use.',
  }),
});
const GrantId = Type.String({ minLength: 1, maxLength: 128 });
const WorkspaceParams = Type.Object({ workspaceId: Slug });
const WorkspaceGrantParams = Type.Object({ workspaceId: Slug, grantId: GrantId });
const OwnGrantParams = Type.Object({ grantId: GrantId });
const tags = ['access'];

/**
 * The grants users gave OAuth clients (Claude, ChatGPT, VS Code, …) for a toolset: a workspace's owners see and
 * revoke all of them; every user sees and revokes their own. Revoking ends the grant's refresh and access tokens.
 */
export const oauthGrantRoutes: FastifyPluginCallbackTypebox<{ oauth: OAuthService }> = (app, { oauth }, done) => {
  const base = '/workspaces/:workspaceId/oauth-grants';

  app.get(
    base,
    {
      schema: {
        tags,
        summary: "List the OAuth clients this workspace's members connected (owners)",
        params: WorkspaceParams,
        querystring: PageQuery,
        response: { 200: pageOf(GrantView), ...errorResponses },
      },
    },
    async (request, reply) =>
      sendPage(
        request,
        reply,
        await oauth.listGrants(request.actor, request.params.workspaceId, pageRequestOf(request.query)),
      ),
  );

  app.delete(
    `${base}/:grantId`,
    {
      schema: {
        tags,
        summary: "Revoke a member's OAuth grant (owners): its tokens stop working at once",
        params: WorkspaceGrantParams,
        response: { 204: Type.Null(), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      await oauth.revokeGrant(request.actor, request.params.workspaceId, request.params.grantId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/me/oauth-grants',
    {
      schema: {
        tags,
        summary: 'List the OAuth clients you connected, in every workspace',
        querystring: PageQuery,
        response: { 200: pageOf(GrantView), ...errorResponses },
      },
    },
    async (request, reply) =>
      sendPage(request, reply, await oauth.listOwnGrants(request.actor.principal.id, pageRequestOf(request.query))),
  );

  app.delete(
    '/me/oauth-grants/:grantId',
    {
      schema: {
        tags,
        summary: 'Disconnect one of your OAuth clients: its tokens stop working at once',
        params: OwnGrantParams,
        response: { 204: Type.Null(), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      await oauth.revokeOwnGrant(request.actor.principal.id, request.params.grantId, request.id);
      return reply.code(204).send(null);
    },
  );
  done();
};
