import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Slug } from '../../domain/common.js';
import { ApiKeyInput, MemberInput, type AccessService } from '../../services/access-service.js';
import { errorResponses, pageRequestOf, sendPage, sendVersioned, writeErrorResponses } from '../http.js';
import { preconditionOf, type RouteOptions } from '../../http/precondition.js';
import { ApiKeyView, MemberView, PageQuery, pageOf } from '../schemas.js';

const WorkspaceParams = Type.Object({ workspaceId: Slug });
const MemberParams = Type.Object({ workspaceId: Slug, principalId: Slug });
const KeyParams = Type.Object({ workspaceId: Slug, keyId: Slug });

/** Who may act in a workspace: its members and their API keys, plus the caller's own identity. */
export const accessRoutes: FastifyPluginAsyncTypebox<RouteOptions & { access: AccessService }> = async (
  app,
  options,
) => {
  const { access } = options;
  app.get(
    '/me',
    {
      schema: {
        tags: ['access'],
        summary: 'Who the API key belongs to, and its roles',
        response: {
          200: Type.Object({
            principalId: Type.String(),
            name: Type.String(),
            roles: Type.Record(Type.String(), Type.String()),
          }),
          401: { $ref: 'Problem#' },
        },
      },
    },
    async (request) => ({
      principalId: request.actor.principal.id,
      name: request.actor.principal.name,
      roles: Object.fromEntries(request.actor.principal.roles),
    }),
  );

  const members = '/workspaces/:workspaceId/members';
  app.get(
    members,
    {
      schema: {
        tags: ['access'],
        summary: 'List members',
        params: WorkspaceParams,
        querystring: PageQuery,
        response: { 200: pageOf(MemberView), ...errorResponses },
      },
    },
    async (request, reply) =>
      sendPage(
        request,
        reply,
        await access.listMembers(request.actor, request.params.workspaceId, pageRequestOf(request.query)),
      ),
  );

  app.get(
    `${members}/:principalId`,
    {
      schema: {
        tags: ['access'],
        summary: 'Get a member',
        params: MemberParams,
        response: { 200: MemberView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const member = await access.getMember(request.actor, request.params.workspaceId, request.params.principalId);
      return sendVersioned(request, reply, member, member);
    },
  );

  app.put(
    `${members}/:principalId`,
    {
      schema: {
        tags: ['access'],
        summary: "Change a member's role (never above your own; a workspace keeps one owner)",
        description: 'Takes `If-Match` with the ETag of the member as last read; a stale one gets 412.',
        params: MemberParams,
        body: MemberInput,
        response: { 200: MemberView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, principalId } = request.params;
      const member = await access.setRole(
        request.actor,
        workspaceId,
        principalId,
        request.body,
        preconditionOf(request, options),
      );
      return sendVersioned(request, reply, member, member);
    },
  );

  app.delete(
    `${members}/:principalId`,
    {
      schema: {
        tags: ['access'],
        summary: 'Remove a member',
        params: MemberParams,
        response: { 204: Type.Null(), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, principalId } = request.params;
      await access.removeMember(request.actor, workspaceId, principalId, preconditionOf(request, options));
      return reply.code(204).send(null);
    },
  );

  const keys = '/workspaces/:workspaceId/api-keys';
  app.get(
    keys,
    {
      schema: {
        tags: ['access'],
        summary: "List the API keys of this workspace's members (never the keys themselves)",
        params: WorkspaceParams,
        querystring: PageQuery,
        response: { 200: pageOf(ApiKeyView), ...errorResponses },
      },
    },
    async (request, reply) =>
      sendPage(
        request,
        reply,
        await access.listKeys(request.actor, request.params.workspaceId, pageRequestOf(request.query)),
      ),
  );

  app.post(
    keys,
    {
      schema: {
        tags: ['access'],
        summary: 'Create a service principal with a role here, and its API key',
        description: 'The key is in the response once, in `key`; only its hash is stored.',
        params: WorkspaceParams,
        body: ApiKeyInput,
        response: { 201: Type.Object({ ...ApiKeyView.properties, key: Type.String() }), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const issued = await access.createKey(request.actor, request.params.workspaceId, request.body);
      reply.header('cache-control', 'no-store');
      return reply.code(201).send({ ...issued.apiKey, key: issued.key });
    },
  );

  app.delete(
    `${keys}/:keyId`,
    {
      schema: {
        tags: ['access'],
        summary: 'Revoke an API key',
        params: KeyParams,
        response: { 204: Type.Null(), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      await access.revokeKey(request.actor, request.params.workspaceId, request.params.keyId);
      return reply.code(204).send(null);
    },
  );
};
