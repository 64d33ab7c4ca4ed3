import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Slug } from '../../domain/common.js';
import { ROLES } from '../../domain/permissions.js';
import { AccessKeyInput, AccessKeyPatch, type AccessKeyService } from '../../services/access-key-service.js';
import { preconditionOf, type RouteOptions } from '../../http/precondition.js';
import { errorResponses, pageRequestOf, sendPage, sendVersioned, writeErrorResponses } from '../http.js';
import { AccessKeyView, PageQuery, pageOf } from '../schemas.js';

const WorkspaceParams = Type.Object({ workspaceId: Slug });
const KeyParams = Type.Object({ workspaceId: Slug, accessKeyId: Slug });
const CreatedAccessKey = Type.Object({
  ...AccessKeyView.properties,
  role: Type.Union(ROLES.map((r) => Type.Literal(r))),
  secret: Type.String({ description: 'The AccessKey secret (alibaba) or SK (huawei). Shown only in this response.' }),
});
const tags = ['access'];

/** Key pairs for signed requests (Alibaba AccessKey, Huawei AK/SK), each with its own service principal. */
export const accessKeyRoutes: FastifyPluginAsyncTypebox<RouteOptions & { accessKeys: AccessKeyService }> = async (
  app,
  options,
) => {
  const { accessKeys } = options;
  const base = '/workspaces/:workspaceId/access-keys';

  app.get(
    base,
    {
      schema: {
        tags,
        summary: "List the access keys of this workspace's members (never their secrets)",
        params: WorkspaceParams,
        querystring: PageQuery,
        response: { 200: pageOf(AccessKeyView), ...errorResponses },
      },
    },
    async (request, reply) =>
      sendPage(
        request,
        reply,
        await accessKeys.list(request.actor, request.params.workspaceId, pageRequestOf(request.query)),
      ),
  );

  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'Create a service principal with a role here, and a signing key pair for it',
        description:
          'kind `alibaba` gives an AccessKey id (`LTAI` + 20 alphanumerics) and a 30-character secret; `huawei` an AK ' +
          '(20 upper-case alphanumerics) and a 40-character SK. The secret is in the response once, in `secret`; it is ' +
          'stored encrypted and never shown again. The role defaults to viewer and may not exceed yours; this workspace ' +
          "becomes the key's default workspace.",
        params: WorkspaceParams,
        body: AccessKeyInput,
        response: { 201: CreatedAccessKey, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const issued = await accessKeys.create(request.actor, workspaceId, request.body);
      reply.header('cache-control', 'no-store');
      reply.header('location', `/api/v1/workspaces/${workspaceId}/access-keys/${issued.accessKey.id}`);
      const created = { ...issued.accessKey, role: issued.role, secret: issued.secret };
      return sendVersioned(request, reply, issued.accessKey, created, 201);
    },
  );

  app.get(
    `${base}/:accessKeyId`,
    {
      schema: {
        tags,
        summary: 'Get an access key (never its secret)',
        params: KeyParams,
        response: { 200: AccessKeyView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const key = await accessKeys.get(request.actor, request.params.workspaceId, request.params.accessKeyId);
      return sendVersioned(request, reply, key, key);
    },
  );

  app.patch(
    `${base}/:accessKeyId`,
    {
      schema: {
        tags,
        summary: 'Rename, disable or enable an access key (JSON merge patch)',
        description:
          'A disabled key signs nothing, on every node from the moment this answers (Alibaba answers ' +
          '`InvalidAccessKeyId.Inactive`, Huawei 401); enabling it gives back the same pair. Takes `If-Match`.',
        params: KeyParams,
        body: AccessKeyPatch,
        response: { 200: AccessKeyView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, accessKeyId } = request.params;
      const key = await accessKeys.patch(
        request.actor,
        workspaceId,
        accessKeyId,
        request.body,
        preconditionOf(request, options),
      );
      return sendVersioned(request, reply, key, key);
    },
  );

  app.delete(
    `${base}/:accessKeyId`,
    {
      schema: {
        tags,
        summary: 'Revoke an access key (its principal and membership stay)',
        params: KeyParams,
        response: { 204: Type.Null(), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, accessKeyId } = request.params;
      await accessKeys.revoke(request.actor, workspaceId, accessKeyId, preconditionOf(request, options));
      return reply.code(204).send(null);
    },
  );
};
