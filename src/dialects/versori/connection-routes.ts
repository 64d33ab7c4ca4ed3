import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Services } from '../../services/services.js';
import { preconditionOf } from '../../http/precondition.js';
import { Slug } from '../../domain/common.js';
import { MAX_CONNECTION_ID, type Connection } from '../../domain/connection.js';
import { etagOf } from '../../domain/etag.js';
import { DomainError, conflict, fieldError, notFound, validationFailed } from '../../domain/errors.js';
import type { Actor } from '../../services/actor.js';
import { WindowQuery, windowRequestOf, type Reader } from './reader.js';
import {
  connectionInputOf,
  connectionOut,
  connectionSummaryOut,
  credentialPathsOf,
  decodeConnectionCreate,
  decodeConnectionUpdate,
  reorderedCredentials,
} from './connection-wire.js';

const ConnectorParams = Type.Object({ organisationId: Slug, connectorId: Slug });
const ConnectionParams = Type.Object({
  organisationId: Slug,
  connectorId: Slug,
  connectionId: Type.String({ maxLength: 64 }),
});

/** Core field paths of a created connection's credentials, re-rooted where the Versori body had them. */
function withVersoriPaths(error: unknown, paths: readonly string[]): unknown {
  if (!(error instanceof DomainError) || error.errors.length === 0) return error;
  const errors = error.errors.map((e) => {
    const match = /^\/credentials\/(\d+)(\/.*)?$/.exec(e.path);
    const at = match ? paths[Number(match[1])] : undefined;
    if (!at) return e;
    const rest =
      match![2] === '/authSchemeConfigId'
        ? '/authSchemeConfig/id'
        : match![2] === '/secret'
          ? '/credential/data'
          : (match![2] ?? '');
    return { path: `${at}${rest}`, message: e.message };
  });
  return new DomainError(error.code, error.message, errors);
}

/** Connections under a connector, as Versori addresses them. */
export const connectionRoutes: FastifyPluginAsyncTypebox<{
  services: Pick<Services, 'connections'>;
  reader: Reader;
}> = async (app, { services, reader }) => {
  const { connections } = services;
  const base = '/:organisationId/connectors/:connectorId/connections';

  /** A connection of this connector; any other id (or one of another connector) is not found. */
  async function connectionOf(
    actor: Actor,
    workspaceId: string,
    connectorId: string,
    raw: string,
  ): Promise<Connection> {
    const id = /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : NaN;
    if (!(id <= MAX_CONNECTION_ID)) throw notFound(`Connection "${raw}" of connector "${connectorId}"`);
    const connection = await connections.get(actor, workspaceId, id);
    if (connection.connectorId !== connectorId) throw notFound(`Connection "${raw}" of connector "${connectorId}"`);
    return connection;
  }

  app.get(base, { schema: { params: ConnectorParams, querystring: Type.Object(WindowQuery) } }, async (request) => {
    const { organisationId, connectorId } = request.params;
    await reader.connectorOf(request.actor, organisationId, connectorId);
    const window = await connections.windowOfConnector(
      request.actor,
      organisationId,
      connectorId,
      windowRequestOf(request.query),
    );
    return {
      totalCount: window.totalCount,
      ...(window.next ? { next: window.next } : {}),
      ...(window.prev ? { prev: window.prev } : {}),
      items: window.items.map(connectionSummaryOut),
    };
  });

  app.post(base, { schema: { params: ConnectorParams } }, async (request, reply) => {
    const { organisationId, connectorId } = request.params;
    const body = decodeConnectionCreate(request.body);
    const connector = await reader.connectorOf(request.actor, organisationId, connectorId);
    let created: Connection;
    try {
      created = await connections.create(request.actor, organisationId, connectionInputOf(connector, body));
    } catch (error) {
      throw withVersoriPaths(error, credentialPathsOf(body));
    }
    reply.header('etag', etagOf(created));
    // Versori's document answers CreateConnectorConnection with 200.
    return reply.code(200).send(connectionOut(created, connector));
  });

  app.get(`${base}/:connectionId`, { schema: { params: ConnectionParams } }, async (request, reply) => {
    const { organisationId, connectorId, connectionId } = request.params;
    const connector = await reader.connectorOf(request.actor, organisationId, connectorId);
    const connection = await connectionOf(request.actor, organisationId, connectorId, connectionId);
    reply.header('etag', etagOf(connection));
    return connectionOut(connection, connector);
  });

  app.put(`${base}/:connectionId`, { schema: { params: ConnectionParams } }, async (request, reply) => {
    const { organisationId, connectorId, connectionId } = request.params;
    const body = decodeConnectionUpdate(request.body);
    if (body.id !== connectionId) throw fieldError('/id', 'must be the id of the connection in the path');
    const connector = await reader.connectorOf(request.actor, organisationId, connectorId);
    const current = await connectionOf(request.actor, organisationId, connectorId, connectionId);
    const patch: Record<string, unknown> = {
      name: body.name,
      credentials: reorderedCredentials(current.credentials, body.credentials),
    };
    // Omitted variables stay as they are (ConnectionUpdate.variables).
    if (body.variables !== undefined) patch.variables = body.variables;
    // Built from the state read above, so it may only land on that state.
    const given = preconditionOf(request, { requireIfMatch: false });
    const precondition = given.ifMatch ? given : { ifMatch: [etagOf(current)] };
    try {
      const updated = await connections.patch(request.actor, organisationId, current.id, patch, precondition);
      reply.header('etag', etagOf(updated));
      return connectionOut(updated, connector);
    } catch (error) {
      if (
        error instanceof DomainError &&
        error.code === 'validation-failed' &&
        error.errors.some((e) => e.path.startsWith('/credentials/'))
      ) {
        throw validationFailed([{ path: '/credentials', message: error.message }]);
      }
      if (error instanceof DomainError && error.code === 'precondition-failed' && !given.ifMatch) {
        throw conflict('The connection changed while this update was applied; read it again and retry.');
      }
      throw error;
    }
  });

  app.delete(
    `${base}/:connectionId`,
    { schema: { params: ConnectionParams, querystring: Type.Object({ force: Type.Optional(Type.Boolean()) }) } },
    async (request, reply) => {
      const { organisationId, connectorId, connectionId } = request.params;
      await reader.connectorOf(request.actor, organisationId, connectorId);
      const current = await connectionOf(request.actor, organisationId, connectorId, connectionId);
      await connections.remove(
        request.actor,
        organisationId,
        current.id,
        preconditionOf(request, { requireIfMatch: false }),
      );
      return reply.code(204).send();
    },
  );
};
