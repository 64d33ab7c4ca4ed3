import { Type } from '@sinclair/typebox';
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { Slug } from '../../domain/common.js';
import { InvitationInput } from '../../domain/user.js';
import type { InvitationService } from '../../services/invitation-service.js';
import { errorResponses, pageRequestOf, sendPage, writeErrorResponses } from '../http.js';
import { InvitationView, PageQuery, pageOf } from '../schemas.js';

const WorkspaceParams = Type.Object({ workspaceId: Slug });
const InvitationParams = Type.Object({ workspaceId: Slug, invitationId: Slug });
const CreatedInvitation = Type.Object({
  ...InvitationView.properties,
  url: Type.String({
    description: 'The one-time link to send the person; it is in this response only. Opening it lets them join.',
  }),
});
const tags = ['access'];

/** Invitations: how people (users) join a workspace. */
export const invitationRoutes: FastifyPluginCallbackTypebox<{ invitations: InvitationService }> = (
  app,
  { invitations },
  done,
) => {
  const base = '/workspaces/:workspaceId/invitations';

  app.get(
    base,
    {
      schema: {
        tags,
        summary: 'List invitations (never their links)',
        params: WorkspaceParams,
        querystring: PageQuery,
        response: { 200: pageOf(InvitationView), ...errorResponses },
      },
    },
    async (request, reply) =>
      sendPage(
        request,
        reply,
        await invitations.list(request.actor, request.params.workspaceId, pageRequestOf(request.query)),
      ),
  );

  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'Invite a person to this workspace with a role (never above yours); answers a one-time link',
        description:
          'The link (`url`) is shown once and works once, until it expires (INVITATION_TTL_SECONDS, 7 days by ' +
          'default). The person opening it chooses a display name and password and becomes a member; someone who ' +
          'already has an account with that email joins with it.',
        params: WorkspaceParams,
        body: InvitationInput,
        response: { 201: CreatedInvitation, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const issued = await invitations.create(request.actor, workspaceId, request.body);
      reply.header('cache-control', 'no-store');
      reply.header('location', `/api/v1/workspaces/${workspaceId}/invitations/${issued.invitation.id}`);
      return reply.code(201).send({ ...issued.invitation, url: issued.url });
    },
  );

  app.delete(
    `${base}/:invitationId`,
    {
      schema: {
        tags,
        summary: 'Withdraw an invitation: its link stops working',
        params: InvitationParams,
        response: { 204: Type.Null(), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      await invitations.revoke(request.actor, request.params.workspaceId, request.params.invitationId);
      return reply.code(204).send(null);
    },
  );
  done();
};
