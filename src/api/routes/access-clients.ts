import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  ACCESS_CLIENT_STATUSES,
  AccessClientCreateInput,
  AccessClientFields,
  AccessClientId,
  RotateSecretInput,
} from '../../domain/access-client.js';
import { Slug } from '../../domain/common.js';
import type { AccessClientService, IssuedClientSecret } from '../../services/access-client-service.js';
import { errorResponses, pageRequestOf, sendPage, sendVersioned, withoutFields, writeErrorResponses } from '../http.js';
import { preconditionOf, type RouteOptions } from '../../http/precondition.js';
import { MergePatchBody, PageQuery, Uid, pageOf } from '../schemas.js';

const Timestamp = Type.String({ format: 'date-time' });
const NullableString = Type.Union([Type.String(), Type.Null()]);
const SERVER_MANAGED = ['id', 'uid', 'workspaceId', 'secrets', 'createdAt', 'updatedAt', 'revision'];

const AccessClientView = Type.Object({
  id: AccessClientId,
  uid: Uid,
  workspaceId: Slug,
  name: Type.String(),
  description: NullableString,
  toolsets: Type.Array(Type.String()),
  tools: Type.Array(Type.String(), {
    description:
      '"toolset/tool" names: for a toolset named here, only these of its tools are listed, found and callable.',
  }),
  rateLimit: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
  status: Type.Union(ACCESS_CLIENT_STATUSES.map((s) => Type.Literal(s))),
  secrets: Type.Array(
    Type.Object({
      id: Type.String(),
      prefix: Type.String({ description: 'The first characters of the token, to recognise it.' }),
      createdAt: Timestamp,
      expiresAt: Type.Union([Timestamp, Type.Null()], {
        description: 'When a rotation retired the token, the time it stops working.',
      }),
    }),
  ),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  revision: Type.Integer({ minimum: 1 }),
});
const IssuedView = Type.Object({
  ...AccessClientView.properties,
  secret: Type.String({ description: 'The new bearer token (pbac_…), shown this once.' }),
});
const PutBody = Type.Object(
  {
    ...AccessClientFields,
    ...Object.fromEntries(
      SERVER_MANAGED.map((n) => [n, Type.Optional(Type.Unknown({ description: 'Server-managed; ignored.' }))]),
    ),
  },
  { additionalProperties: false },
);

const WorkspaceParams = Type.Object({ workspaceId: Slug });
const Params = Type.Object({ workspaceId: Slug, clientId: AccessClientId });
const ListQuery = Type.Object(
  {
    ...PageQuery.properties,
    q: Type.Optional(Type.String({ maxLength: 128, description: 'Name contains (case-insensitive).' })),
    status: Type.Optional(
      Type.Union(
        ACCESS_CLIENT_STATUSES.map((s) => Type.Literal(s)),
        { description: 'Only clients with this status.' },
      ),
    ),
  },
  { additionalProperties: false },
);
const tags = ['access-clients'];

/** A response that carries a token: the client must not cache it, and the idempotency store does not keep it. */
function sendIssued(request: FastifyRequest, reply: FastifyReply, issued: IssuedClientSecret, status: number) {
  reply.header('cache-control', 'no-store');
  return sendVersioned(request, reply, issued.client, { ...issued.client, secret: issued.secret }, status);
}

/** Consumers of the MCP gateway: which toolsets they may call, and their bearer tokens. */
export const accessClientRoutes: FastifyPluginAsyncTypebox<
  RouteOptions & { accessClients: AccessClientService }
> = async (app, options) => {
  const { accessClients } = options;
  const base = '/workspaces/:workspaceId/access-clients';

  app.get(
    base,
    {
      schema: {
        tags,
        summary: 'List access clients',
        params: WorkspaceParams,
        querystring: ListQuery,
        response: { 200: pageOf(AccessClientView), ...errorResponses },
      },
    },
    async (request, reply) =>
      sendPage(
        request,
        reply,
        await accessClients.list(request.actor, request.params.workspaceId, {
          ...pageRequestOf(request.query),
          nameContains: request.query.q,
          status: request.query.status,
        }),
      ),
  );

  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'Create an access client',
        description:
          "The response carries the client's first bearer token once, in `secret`; only its SHA-256 digest is stored.",
        params: WorkspaceParams,
        body: AccessClientCreateInput,
        response: { 201: IssuedView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const issued = await accessClients.create(request.actor, request.params.workspaceId, request.body);
      reply.header('location', `/api/v1/workspaces/${issued.client.workspaceId}/access-clients/${issued.client.id}`);
      return sendIssued(request, reply, issued, 201);
    },
  );

  app.get(
    `${base}/:clientId`,
    {
      schema: {
        tags,
        summary: 'Get an access client',
        params: Params,
        response: { 200: AccessClientView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const client = await accessClients.get(request.actor, request.params.workspaceId, request.params.clientId);
      return sendVersioned(request, reply, client, client);
    },
  );

  app.put(
    `${base}/:clientId`,
    {
      schema: {
        tags,
        summary: 'Replace an access client',
        description:
          'Full replacement: omitted optional fields are unset (no toolsets, the default rate limit, active). Tokens are kept.',
        params: Params,
        body: PutBody,
        response: { 200: AccessClientView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, clientId } = request.params;
      const body = withoutFields(request.body, SERVER_MANAGED);
      const client = await accessClients.replace(
        request.actor,
        workspaceId,
        clientId,
        body,
        preconditionOf(request, options),
      );
      return sendVersioned(request, reply, client, client);
    },
  );

  app.patch(
    `${base}/:clientId`,
    {
      schema: {
        tags,
        summary: 'Change some fields of an access client (JSON merge patch)',
        params: Params,
        body: MergePatchBody,
        response: { 200: AccessClientView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, clientId } = request.params;
      const client = await accessClients.patch(
        request.actor,
        workspaceId,
        clientId,
        request.body,
        preconditionOf(request, options),
      );
      return sendVersioned(request, reply, client, client);
    },
  );

  app.delete(
    `${base}/:clientId`,
    {
      schema: {
        tags,
        summary: 'Delete an access client and its tokens',
        params: Params,
        response: { 204: Type.Null(), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, clientId } = request.params;
      await accessClients.remove(request.actor, workspaceId, clientId, preconditionOf(request, options));
      return reply.code(204).send(null);
    },
  );

  app.post(
    `${base}/:clientId/secrets`,
    {
      schema: {
        tags,
        summary: "Rotate an access client's token",
        description:
          'Issues a new bearer token, returned once in `secret`, and retires the previous ones after `gracePeriodSeconds` (default 3600; 0 revokes them at once). If-Match is honoured but not required.',
        params: Params,
        body: RotateSecretInput,
        response: { 200: IssuedView, ...writeErrorResponses },
      },
      // The body is optional: a POST without one rotates with the defaults.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const { workspaceId, clientId } = request.params;
      // A rotation adds a token rather than overwriting what the caller saw, so REQUIRE_IF_MATCH does not apply.
      const precondition = preconditionOf(request, { ...options, requireIfMatch: false });
      const issued = await accessClients.rotateSecret(request.actor, workspaceId, clientId, request.body, precondition);
      return sendIssued(request, reply, issued, 200);
    },
  );
};
