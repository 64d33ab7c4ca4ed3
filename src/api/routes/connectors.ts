import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ConnectorCreateInput } from '../../domain/connector.js';
import { Slug } from '../../domain/common.js';
import type { ConnectorService, ConnectorWrite } from '../../services/connector-service.js';
import { errorResponses, pageRequestOf, sendPage, sendVersioned, withoutFields, writeErrorResponses } from '../http.js';
import { preconditionOf, type RouteOptions } from '../../http/precondition.js';
import { ConnectorPutBody, ConnectorView, MergePatchBody, PageQuery, pageOf } from '../schemas.js';
import type { FastifyReply, FastifyRequest } from 'fastify';

const WorkspaceParams = Type.Object({ workspaceId: Slug });
const Params = Type.Object({ workspaceId: Slug, connectorId: Slug });
const ListQuery = Type.Object(
  {
    ...PageQuery.properties,
    q: Type.Optional(Type.String({ maxLength: 128, description: 'Name contains (case-insensitive).' })),
    status: Type.Optional(
      Type.Union([Type.Literal('active'), Type.Literal('disabled')], {
        description: 'Only connectors with this status.',
      }),
    ),
  },
  { additionalProperties: false },
);
const ForceQuery = Type.Object(
  { force: Type.Optional(Type.Boolean({ default: false, description: "Also delete the connector's connections." })) },
  { additionalProperties: false },
);
const UPDATED_HEADER = 'plugboard-connections-updated';
const tags = ['connectors'];
const writeHeaders = {
  headers: Type.Object({
    [UPDATED_HEADER]: Type.Integer({
      description: "How many connections took the connector's variables in this write.",
    }),
  }),
};

/** A connector write's answer: the connector, and how many connections its variables rewrote. */
function sendWrite(request: FastifyRequest, reply: FastifyReply, result: ConnectorWrite) {
  reply.header(UPDATED_HEADER, String(result.connectionsUpdated));
  return sendVersioned(request, reply, result.connector, result.connector);
}

export const connectorRoutes: FastifyPluginAsyncTypebox<RouteOptions & { connectors: ConnectorService }> = async (
  app,
  options,
) => {
  const { connectors } = options;
  const base = '/workspaces/:workspaceId/connectors';

  app.get(
    base,
    {
      schema: {
        tags,
        summary: 'List connectors',
        params: WorkspaceParams,
        querystring: ListQuery,
        response: { 200: pageOf(ConnectorView), ...errorResponses },
      },
    },
    async (request, reply) => {
      const page = await connectors.list(request.actor, request.params.workspaceId, {
        ...pageRequestOf(request.query),
        nameContains: request.query.q,
        status: request.query.status,
      });
      return sendPage(request, reply, page);
    },
  );

  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'Create a connector',
        params: WorkspaceParams,
        body: ConnectorCreateInput,
        response: { 201: ConnectorView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const connector = await connectors.create(request.actor, request.params.workspaceId, request.body);
      reply.header('location', `/api/v1/workspaces/${connector.workspaceId}/connectors/${connector.id}`);
      return sendVersioned(request, reply, connector, connector, 201);
    },
  );

  app.get(
    `${base}/:connectorId`,
    {
      schema: { tags, summary: 'Get a connector', params: Params, response: { 200: ConnectorView, ...errorResponses } },
    },
    async (request, reply) => {
      const connector = await connectors.get(request.actor, request.params.workspaceId, request.params.connectorId);
      return sendVersioned(request, reply, connector, connector);
    },
  );

  app.get(
    `${base}/:connectorId/connection-count`,
    {
      schema: {
        tags,
        summary: 'How many connections a change of connectionVariables would rewrite',
        params: Params,
        response: { 200: Type.Object({ connections: Type.Integer({ minimum: 0 }) }), ...errorResponses },
      },
    },
    async (request) => ({
      connections: await connectors.countConnections(
        request.actor,
        request.params.workspaceId,
        request.params.connectorId,
      ),
    }),
  );

  app.put(
    `${base}/:connectorId`,
    {
      schema: {
        tags,
        summary: 'Replace a connector',
        description:
          'Full replacement: omitted optional fields are unset. authSchemeConfigIds reorders the configs (a permutation of the existing ids); connectionVariables, when present, replaces the list and the variables of every connection of the connector in the same transaction.',
        params: Params,
        body: ConnectorPutBody,
        response: { 200: { ...ConnectorView, ...writeHeaders }, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { authSchemeConfigs, versions } = request.body;
      const body = withoutFields(request.body, [
        'id',
        'uid',
        'workspaceId',
        'createdAt',
        'updatedAt',
        'revision',
        'authSchemeConfigs',
        'versions',
      ]);
      const { workspaceId, connectorId } = request.params;
      const result = await connectors.replace(
        request.actor,
        workspaceId,
        connectorId,
        body,
        { authSchemeConfigs, versions },
        preconditionOf(request, options),
      );
      return sendWrite(request, reply, result);
    },
  );

  app.patch(
    `${base}/:connectorId`,
    {
      schema: {
        tags,
        summary: 'Change some fields of a connector (JSON merge patch)',
        params: Params,
        body: MergePatchBody,
        response: { 200: { ...ConnectorView, ...writeHeaders }, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectorId } = request.params;
      const result = await connectors.patch(
        request.actor,
        workspaceId,
        connectorId,
        request.body,
        preconditionOf(request, options),
      );
      return sendWrite(request, reply, result);
    },
  );

  app.delete(
    `${base}/:connectorId`,
    {
      schema: {
        tags,
        summary: 'Delete a connector',
        params: Params,
        querystring: ForceQuery,
        response: { 204: Type.Null(), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectorId } = request.params;
      await connectors.remove(
        request.actor,
        workspaceId,
        connectorId,
        { force: request.query.force ?? false },
        preconditionOf(request, options),
      );
      return reply.code(204).send(null);
    },
  );
};
