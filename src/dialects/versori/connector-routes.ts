import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../services/services.js';
import { preconditionOf } from '../../http/precondition.js';
import { Slug } from '../../domain/common.js';
import { fieldError, validationFailed } from '../../domain/errors.js';
import { WindowQuery, windowRequestOf, type Reader } from './reader.js';
import { decodeAuthSchemeConfig } from './auth-scheme-config-wire.js';
import { connectionInputOf, decodeConnectionCreate } from './connection-wire.js';
import {
  connectorCreateOf,
  connectorInputOf,
  connectorOut,
  decodeConnectorCreate,
  decodeConnectorUpdate,
} from './connector-wire.js';
import { VERSORI_PROTOCOLS, prefixed, type VersoriProtocol } from './wire.js';

const OrgParams = Type.Object({ organisationId: Slug });
const ConnectorParams = Type.Object({ organisationId: Slug, connectorId: Slug });
const ConfigParams = Type.Object({ organisationId: Slug, connectorId: Slug, configId: Slug });
const ListQuery = Type.Object({
  ...WindowQuery,
  sort: Type.Optional(Type.String({ pattern: '^([^:,]+:[^:,]+)(,[^:,]+:[^:,]+)*$' })),
  tags: Type.Optional(Type.String()),
  categories: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
  name: Type.Optional(Type.String({ maxLength: 128 })),
  protocol: Type.Optional(Type.String({ maxLength: 32 })),
});
const ForceQuery = Type.Object({ force: Type.Optional(Type.Boolean()) });
const UPDATED_HEADER = 'plugboard-connections-updated';

/** Connectors and their auth-scheme configs, as Versori addresses them. */
export const connectorRoutes: FastifyPluginAsyncTypebox<{
  services: Pick<Services, 'connectors' | 'connectorParts' | 'connections'>;
  reader: Reader;
}> = async (app, { services, reader }) => {
  const { connectors, connectorParts: parts, connections } = services;
  const { connectorOf, sendConnector } = reader;
  const one = '/:organisationId/connectors/:connectorId';

  app.get('/:organisationId/connectors', { schema: { params: OrgParams, querystring: ListQuery } }, async (request) => {
    const { sort, tags, categories, name, protocol } = request.query;
    if (sort !== undefined && sort !== 'id:asc')
      throw fieldError('query/sort', 'plugboard lists connectors by id ascending only ("id:asc")');
    if (tags !== undefined) throw fieldError('query/tags', 'filtering by tags is not supported by plugboard');
    if (categories !== undefined) throw fieldError('query/categories', 'plugboard keeps no connector categories');
    const protocolTypes = VERSORI_PROTOCOLS.filter((p) => protocol === undefined || p.includes(protocol.toLowerCase()));
    const window = await connectors.window(request.actor, request.params.organisationId, {
      ...windowRequestOf(request.query),
      nameContains: name,
      protocolTypes,
    });
    const items = await Promise.all(
      window.items.map(async (c) => connectorOut(c, await reader.connectionsOf(request.actor, c.workspaceId, c.id))),
    );
    return {
      totalCount: window.totalCount,
      ...(window.next ? { next: window.next } : {}),
      ...(window.prev ? { prev: window.prev } : {}),
      connectors: items,
    };
  });

  for (const protocol of VERSORI_PROTOCOLS) {
    app.post(
      `/:organisationId/protocols/${protocol}/connectors`,
      { schema: { params: OrgParams } },
      async (request, reply) => {
        return createConnector(request, reply, request.params.organisationId, protocol);
      },
    );
  }

  /** Create, then the connections given with it; if one of those fails, the new connector goes too. */
  async function createConnector(
    request: FastifyRequest,
    reply: FastifyReply,
    organisationId: string,
    protocol: VersoriProtocol,
  ) {
    const body = decodeConnectorCreate(protocol, request.body);
    const configs = (body.authSchemeConfigs ?? []).map((c, i) => decodeAuthSchemeConfig(c, `/authSchemeConfigs/${i}`));
    const connectionBodies = (body.connections ?? []).map((c, i) => {
      try {
        return decodeConnectionCreate(c);
      } catch (error) {
        throw prefixed(error, `/connections/${i}`);
      }
    });
    const created = await connectors.create(request.actor, organisationId, connectorCreateOf(protocol, body, configs));
    try {
      for (const [i, connection] of connectionBodies.entries()) {
        try {
          await connections.create(request.actor, organisationId, connectionInputOf(created, connection));
        } catch (error) {
          throw prefixed(error, `/connections/${i}`);
        }
      }
    } catch (error) {
      await connectors.remove(request.actor, organisationId, created.id, { force: true });
      throw error;
    }
    reply.header('location', `/o/${organisationId}/connectors/${created.id}`);
    return sendConnector(request, reply, created, 201);
  }

  app.get(one, { schema: { params: ConnectorParams } }, async (request, reply) => {
    const { organisationId, connectorId } = request.params;
    return sendConnector(request, reply, await connectorOf(request.actor, organisationId, connectorId));
  });

  app.put(one, { schema: { params: ConnectorParams } }, async (request, reply) => {
    const { organisationId, connectorId } = request.params;
    const body = decodeConnectorUpdate(request.body);
    const errors = [];
    if (body.id !== connectorId) errors.push({ path: '/id', message: 'must be the id of the connector in the path' });
    if (body.organisationId !== organisationId)
      errors.push({ path: '/organisationId', message: 'must be the organisation in the path' });
    const current = await connectorOf(request.actor, organisationId, connectorId);
    if (body.protocol !== current.protocolType) {
      errors.push({
        path: '/protocol',
        message: `cannot change from ${current.protocolType}; create a new ${body.protocol} connector instead`,
      });
    }
    if (errors.length > 0) throw validationFailed(errors);
    // Versori has no description or status: its full replacement leaves them as they are.
    const { connector, connectionsUpdated } = await connectors.replace(
      request.actor,
      organisationId,
      connectorId,
      connectorInputOf(body),
      {},
      preconditionOf(request, { requireIfMatch: false }),
      ['description', 'status'],
    );
    reply.header(UPDATED_HEADER, String(connectionsUpdated));
    return sendConnector(request, reply, connector);
  });

  app.delete(one, { schema: { params: ConnectorParams, querystring: ForceQuery } }, async (request, reply) => {
    const { organisationId, connectorId } = request.params;
    await connectorOf(request.actor, organisationId, connectorId);
    await connectors.remove(
      request.actor,
      organisationId,
      connectorId,
      { force: request.query.force ?? false },
      preconditionOf(request, { requireIfMatch: false }),
    );
    return reply.code(204).send();
  });

  app.put(`${one}/auth-scheme-configs/:configId`, { schema: { params: ConfigParams } }, async (request, reply) => {
    const { organisationId, connectorId, configId } = request.params;
    const input = decodeAuthSchemeConfig(request.body);
    if (input.id !== configId) throw fieldError('/id', 'must be the auth-scheme config id in the path');
    const current = await connectorOf(request.actor, organisationId, connectorId);
    const precondition = preconditionOf(request, { requireIfMatch: false });
    const { connector } = current.authSchemeConfigs.some((c) => c.id === configId)
      ? await parts.replaceConfig(request.actor, organisationId, connectorId, configId, input, precondition)
      : await parts.createConfig(request.actor, organisationId, connectorId, input, precondition);
    return sendConnector(request, reply, connector);
  });

  app.delete(`${one}/auth-scheme-configs/:configId`, { schema: { params: ConfigParams } }, async (request, reply) => {
    const { organisationId, connectorId, configId } = request.params;
    await connectorOf(request.actor, organisationId, connectorId);
    await parts.deleteConfig(
      request.actor,
      organisationId,
      connectorId,
      configId,
      preconditionOf(request, { requireIfMatch: false }),
    );
    return sendConnector(request, reply, await connectorOf(request.actor, organisationId, connectorId));
  });
};
