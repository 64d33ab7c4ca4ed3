import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Services } from '../../services/services.js';
import { preconditionOf } from '../../http/precondition.js';
import { Slug } from '../../domain/common.js';
import type { Connector, ConnectorVersion } from '../../domain/connector.js';
import { etagOf } from '../../domain/etag.js';
import { conflict, fieldError, notFound } from '../../domain/errors.js';
import { windowOf } from '../../domain/page.js';
import { WindowQuery, windowRequestOf, type Reader } from './reader.js';
import { checkVersionReadOnly, decodeVersionCreate, decodeVersionUpdate, versionOut } from './version-wire.js';

const ConnectorParams = Type.Object({ organisationId: Slug, connectorId: Slug });
const VersionParams = Type.Object({
  organisationId: Slug,
  connectorId: Slug,
  version: Type.String({ minLength: 1, maxLength: 128 }),
});

/** A version by name; "latest" and "default" name the version holding that flag (default falls back to latest). */
function versionNamed(connector: Connector, name: string): ConnectorVersion | undefined {
  if (name === 'latest') return connector.versions.find((v) => v.isLatest);
  if (name === 'default')
    return connector.versions.find((v) => v.isDefault) ?? connector.versions.find((v) => v.isLatest);
  return connector.versions.find((v) => v.name === name);
}

function findVersion(connector: Connector, name: string): ConnectorVersion {
  const version = versionNamed(connector, name);
  if (!version) throw notFound(`Version "${name}" of connector "${connector.id}"`);
  return version;
}

const sendVersion = (
  reply: FastifyReply,
  connector: Connector,
  version: ConnectorVersion,
  status = 200,
  wrap = false,
) => {
  reply.header('etag', etagOf(connector));
  return reply.code(status).send(wrap ? { version: versionOut(version) } : versionOut(version));
};

/** Versions of a connector, addressed by name as Versori does. */
export const versionRoutes: FastifyPluginAsyncTypebox<{
  services: Pick<Services, 'connectorParts'>;
  reader: Reader;
}> = async (app, { services, reader }) => {
  const { connectorParts: parts } = services;
  const base = '/:organisationId/connectors/:connectorId/versions';
  const noIfMatchRequired = { requireIfMatch: false };

  app.get(base, { schema: { params: ConnectorParams, querystring: Type.Object(WindowQuery) } }, async (request) => {
    const connector = await reader.connectorOf(
      request.actor,
      request.params.organisationId,
      request.params.connectorId,
    );
    const window = windowOf(connector.versions, (v) => v.id, windowRequestOf(request.query));
    return {
      totalCount: window.totalCount,
      ...(window.next ? { next: window.next } : {}),
      ...(window.prev ? { prev: window.prev } : {}),
      items: window.items.map(versionOut),
    };
  });

  app.post(base, { schema: { params: ConnectorParams } }, async (request, reply) => {
    const { organisationId, connectorId } = request.params;
    const body = decodeVersionCreate(request.body);
    const connector = await reader.connectorOf(request.actor, organisationId, connectorId);
    const from = body.fromVersion === undefined ? undefined : versionNamed(connector, body.fromVersion);
    if (body.fromVersion !== undefined && !from)
      throw fieldError('/fromVersion', `names no version of connector "${connectorId}"`);
    // A new version starts as a draft; plugboard versions hold no actions or definitions, so fromVersion copies the description.
    const input = { name: body.name, description: from?.description ?? null };
    const { item, connector: after } = await parts.createVersion(
      request.actor,
      organisationId,
      connectorId,
      input,
      preconditionOf(request, noIfMatchRequired),
    );
    return sendVersion(reply, after, item, 201);
  });

  app.get(`${base}/:version`, { schema: { params: VersionParams } }, async (request, reply) => {
    const connector = await reader.connectorOf(
      request.actor,
      request.params.organisationId,
      request.params.connectorId,
    );
    return sendVersion(reply, connector, findVersion(connector, request.params.version));
  });

  app.put(`${base}/:version`, { schema: { params: VersionParams } }, async (request, reply) => {
    const { organisationId, connectorId } = request.params;
    const body = decodeVersionUpdate(request.body);
    const connector = await reader.connectorOf(request.actor, organisationId, connectorId);
    const current = findVersion(connector, request.params.version);
    checkVersionReadOnly(current, body);
    const input = {
      name: body.name,
      description: body.description === '' ? null : (body.description ?? null),
      ...(body.isLatest !== undefined ? { isLatest: body.isLatest } : {}),
      ...(body.isDefault !== undefined ? { isDefault: body.isDefault } : {}),
    };
    const { item, connector: after } = await parts.replaceVersion(
      request.actor,
      organisationId,
      connectorId,
      current.id,
      input,
      preconditionOf(request, noIfMatchRequired),
    );
    return sendVersion(reply, after, item);
  });

  app.delete(
    `${base}/:version`,
    { schema: { params: VersionParams, querystring: Type.Object({ force: Type.Optional(Type.Boolean()) }) } },
    async (request, reply) => {
      const { organisationId, connectorId } = request.params;
      const connector = await reader.connectorOf(request.actor, organisationId, connectorId);
      const version = findVersion(connector, request.params.version);
      if (version.publishedAt !== null && request.query.force !== true) {
        throw conflict(`Version "${version.name}" is published: unpublish it first, or pass force=true.`);
      }
      await parts.deleteVersion(
        request.actor,
        organisationId,
        connectorId,
        version.id,
        preconditionOf(request, noIfMatchRequired),
      );
      return reply.code(204).send();
    },
  );

  for (const [action, published] of [
    ['publish', true],
    ['unpublish', false],
  ] as const) {
    app.post(`${base}/:version/${action}`, { schema: { params: VersionParams } }, async (request, reply) => {
      const { organisationId, connectorId } = request.params;
      const connector = await reader.connectorOf(request.actor, organisationId, connectorId);
      const version = findVersion(connector, request.params.version);
      const { item, connector: after } = await parts.setPublished(
        request.actor,
        organisationId,
        connectorId,
        version.id,
        published,
        preconditionOf(request, noIfMatchRequired),
      );
      return sendVersion(reply, after, item, 200, true);
    });
  }
};
