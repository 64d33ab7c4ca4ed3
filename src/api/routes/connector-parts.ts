import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Slug } from '../../domain/common.js';
import type { ConnectorPartsService } from '../../services/connector-parts-service.js';
import { errorResponses, pageRequestOf, sendPage, sendVersioned, withoutFields, writeErrorResponses } from '../http.js';
import { preconditionOf, type RouteOptions } from '../../http/precondition.js';
import {
  AuthSchemeConfigBody,
  AuthSchemeConfigView,
  MergePatchBody,
  PageQuery,
  VersionBody,
  VersionView,
  pageOf,
} from '../schemas.js';

const ConnectorParams = Type.Object({ workspaceId: Slug, connectorId: Slug });
const ConfigParams = Type.Object({ workspaceId: Slug, connectorId: Slug, configId: Slug });
const VersionParams = Type.Object({ workspaceId: Slug, connectorId: Slug, versionId: Slug });
const note = "Part of the connector: it shares the connector's ETag, and every change bumps the connector's revision.";

/** Auth-scheme configs and versions: sub-resources of a connector. */
export const connectorPartRoutes: FastifyPluginAsyncTypebox<RouteOptions & { parts: ConnectorPartsService }> = async (
  app,
  options,
) => {
  const { parts } = options;
  const configs = '/workspaces/:workspaceId/connectors/:connectorId/auth-scheme-configs';
  const versions = '/workspaces/:workspaceId/connectors/:connectorId/versions';
  let tags = ['auth-scheme-configs'];

  app.get(
    configs,
    {
      schema: {
        tags,
        summary: "List a connector's auth-scheme configs, in order",
        params: ConnectorParams,
        querystring: PageQuery,
        response: { 200: pageOf(AuthSchemeConfigView), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectorId } = request.params;
      return sendPage(
        request,
        reply,
        await parts.listConfigs(request.actor, workspaceId, connectorId, pageRequestOf(request.query)),
      );
    },
  );

  app.post(
    configs,
    {
      schema: {
        tags,
        summary: 'Add an auth-scheme config at the end of the list',
        description: note,
        params: ConnectorParams,
        body: AuthSchemeConfigBody,
        response: { 201: AuthSchemeConfigView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectorId } = request.params;
      const { item, connector } = await parts.createConfig(
        request.actor,
        workspaceId,
        connectorId,
        withoutFields(request.body, ['validationMessages']),
        preconditionOf(request, { requireIfMatch: false }),
      );
      reply.header(
        'location',
        `/api/v1/workspaces/${workspaceId}/connectors/${connectorId}/auth-scheme-configs/${item.id}`,
      );
      return sendVersioned(request, reply, connector, item, 201);
    },
  );

  app.get(
    `${configs}/:configId`,
    {
      schema: {
        tags,
        summary: 'Get an auth-scheme config',
        description: note,
        params: ConfigParams,
        response: { 200: AuthSchemeConfigView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectorId, configId } = request.params;
      const { item, connector } = await parts.getConfig(request.actor, workspaceId, connectorId, configId);
      return sendVersioned(request, reply, connector, item);
    },
  );

  app.put(
    `${configs}/:configId`,
    {
      schema: {
        tags,
        summary: 'Replace an auth-scheme config',
        description: note,
        params: ConfigParams,
        body: AuthSchemeConfigBody,
        response: { 200: AuthSchemeConfigView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectorId, configId } = request.params;
      const { item, connector } = await parts.replaceConfig(
        request.actor,
        workspaceId,
        connectorId,
        configId,
        withoutFields(request.body, ['validationMessages']),
        preconditionOf(request, options),
      );
      return sendVersioned(request, reply, connector, item);
    },
  );

  app.patch(
    `${configs}/:configId`,
    {
      schema: {
        tags,
        summary: 'Change some fields of an auth-scheme config (JSON merge patch)',
        description: note,
        params: ConfigParams,
        body: MergePatchBody,
        response: { 200: AuthSchemeConfigView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectorId, configId } = request.params;
      const { item, connector } = await parts.patchConfig(
        request.actor,
        workspaceId,
        connectorId,
        configId,
        request.body,
        preconditionOf(request, options),
      );
      return sendVersioned(request, reply, connector, item);
    },
  );

  app.delete(
    `${configs}/:configId`,
    {
      schema: {
        tags,
        summary: 'Delete an auth-scheme config',
        description: note,
        params: ConfigParams,
        response: { 204: Type.Null(), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectorId, configId } = request.params;
      await parts.deleteConfig(request.actor, workspaceId, connectorId, configId, preconditionOf(request, options));
      return reply.code(204).send(null);
    },
  );

  tags = ['versions'];

  app.get(
    versions,
    {
      schema: {
        tags,
        summary: "List a connector's versions",
        params: ConnectorParams,
        querystring: PageQuery,
        response: { 200: pageOf(VersionView), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectorId } = request.params;
      return sendPage(
        request,
        reply,
        await parts.listVersions(request.actor, workspaceId, connectorId, pageRequestOf(request.query)),
      );
    },
  );

  app.post(
    versions,
    {
      schema: {
        tags,
        summary: 'Create a version',
        description: `${note} A new version becomes the latest unless isLatest is false; isDefault true moves the default flag to it.`,
        params: ConnectorParams,
        body: VersionBody,
        response: { 201: VersionView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectorId } = request.params;
      const body = withoutFields(request.body, ['id', 'createdAt', 'updatedAt', 'publishedAt']);
      const { item, connector } = await parts.createVersion(
        request.actor,
        workspaceId,
        connectorId,
        body,
        preconditionOf(request, { requireIfMatch: false }),
      );
      reply.header('location', `/api/v1/workspaces/${workspaceId}/connectors/${connectorId}/versions/${item.id}`);
      return sendVersioned(request, reply, connector, item, 201);
    },
  );

  app.get(
    `${versions}/:versionId`,
    {
      schema: {
        tags,
        summary: 'Get a version',
        description: note,
        params: VersionParams,
        response: { 200: VersionView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectorId, versionId } = request.params;
      const { item, connector } = await parts.getVersion(request.actor, workspaceId, connectorId, versionId);
      return sendVersioned(request, reply, connector, item);
    },
  );

  app.put(
    `${versions}/:versionId`,
    {
      schema: {
        tags,
        summary: 'Replace a version (omitted isLatest/isDefault leave the flags as they are)',
        description: note,
        params: VersionParams,
        body: VersionBody,
        response: { 200: VersionView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectorId, versionId } = request.params;
      const body = withoutFields(request.body, ['id', 'createdAt', 'updatedAt', 'publishedAt']);
      const { item, connector } = await parts.replaceVersion(
        request.actor,
        workspaceId,
        connectorId,
        versionId,
        body,
        preconditionOf(request, options),
      );
      return sendVersioned(request, reply, connector, item);
    },
  );

  app.patch(
    `${versions}/:versionId`,
    {
      schema: {
        tags,
        summary: 'Change some fields of a version (JSON merge patch)',
        description: note,
        params: VersionParams,
        body: MergePatchBody,
        response: { 200: VersionView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectorId, versionId } = request.params;
      const { item, connector } = await parts.patchVersion(
        request.actor,
        workspaceId,
        connectorId,
        versionId,
        request.body,
        preconditionOf(request, options),
      );
      return sendVersioned(request, reply, connector, item);
    },
  );

  app.delete(
    `${versions}/:versionId`,
    {
      schema: {
        tags,
        summary: 'Delete a version (the newest remaining one becomes latest)',
        description: note,
        params: VersionParams,
        response: { 204: Type.Null(), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectorId, versionId } = request.params;
      await parts.deleteVersion(request.actor, workspaceId, connectorId, versionId, preconditionOf(request, options));
      return reply.code(204).send(null);
    },
  );
};
