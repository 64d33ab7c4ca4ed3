import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { WorkspaceCreateInput } from '../../domain/workspace.js';
import { Slug } from '../../domain/common.js';
import type { WorkspaceService } from '../../services/workspace-service.js';
import { errorResponses, pageRequestOf, sendPage, sendVersioned, withoutFields, writeErrorResponses } from '../http.js';
import { preconditionOf, type RouteOptions } from '../../http/precondition.js';
import { MergePatchBody, PageQuery, WorkspacePutBody, WorkspaceView, pageOf } from '../schemas.js';

const Params = Type.Object({ workspaceId: Slug });
const ForceQuery = Type.Object(
  { force: Type.Optional(Type.Boolean({ default: false })) },
  { additionalProperties: false },
);
const tags = ['workspaces'];

export const workspaceRoutes: FastifyPluginAsyncTypebox<RouteOptions & { workspaces: WorkspaceService }> = async (
  app,
  options,
) => {
  const { workspaces } = options;

  app.get(
    '/workspaces',
    {
      schema: {
        tags,
        summary: 'List the workspaces you belong to',
        querystring: PageQuery,
        response: { 200: pageOf(WorkspaceView), ...errorResponses },
      },
    },
    async (request, reply) =>
      sendPage(request, reply, await workspaces.list(request.actor, pageRequestOf(request.query))),
  );

  app.post(
    '/workspaces',
    {
      schema: {
        tags,
        summary: 'Create a workspace (you become its owner)',
        body: WorkspaceCreateInput,
        response: { 201: WorkspaceView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const workspace = await workspaces.create(request.actor, request.body);
      reply.header('location', `/api/v1/workspaces/${workspace.id}`);
      return sendVersioned(request, reply, workspace, workspace, 201);
    },
  );

  app.get(
    '/workspaces/:workspaceId',
    {
      schema: { tags, summary: 'Get a workspace', params: Params, response: { 200: WorkspaceView, ...errorResponses } },
    },
    async (request, reply) => {
      const workspace = await workspaces.get(request.actor, request.params.workspaceId);
      return sendVersioned(request, reply, workspace, workspace);
    },
  );

  app.put(
    '/workspaces/:workspaceId',
    {
      schema: {
        tags,
        summary: 'Replace a workspace',
        params: Params,
        body: WorkspacePutBody,
        response: { 200: WorkspaceView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const body = withoutFields(request.body, ['id', 'uid', 'projectId', 'createdAt', 'updatedAt', 'revision']);
      const workspace = await workspaces.replace(
        request.actor,
        request.params.workspaceId,
        body,
        preconditionOf(request, options),
      );
      return sendVersioned(request, reply, workspace, workspace);
    },
  );

  app.patch(
    '/workspaces/:workspaceId',
    {
      schema: {
        tags,
        summary: 'Change some fields of a workspace (JSON merge patch)',
        params: Params,
        body: MergePatchBody,
        response: { 200: WorkspaceView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const workspace = await workspaces.patch(
        request.actor,
        request.params.workspaceId,
        request.body,
        preconditionOf(request, options),
      );
      return sendVersioned(request, reply, workspace, workspace);
    },
  );

  app.delete(
    '/workspaces/:workspaceId',
    {
      schema: {
        tags,
        summary: 'Delete a workspace (force=true when it still holds connectors or connections)',
        params: Params,
        querystring: ForceQuery,
        response: { 204: Type.Null(), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      await workspaces.remove(
        request.actor,
        request.params.workspaceId,
        { force: request.query.force ?? false },
        preconditionOf(request, options),
      );
      return reply.code(204).send(null);
    },
  );
};
