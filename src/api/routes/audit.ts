import { Type } from '@sinclair/typebox';
import { WebhookId } from '../../domain/webhook.js';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AccessClientId } from '../../domain/access-client.js';
import { Slug } from '../../domain/common.js';
import { TOOLSET_NAME_PATTERN } from '../../domain/toolset.js';
import type { AuditService } from '../../services/audit-service.js';
import { errorResponses, pageRequestOf, sendPage } from '../http.js';
import { AuditEventView, PageQuery, pageOf } from '../schemas.js';

const WorkspaceParams = Type.Object({ workspaceId: Slug });
const Timestamp = Type.String({ format: 'date-time' });
const AuditQuery = Type.Object(
  {
    ...PageQuery.properties,
    resourceType: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'workspace, connector, connection, access-client, member, api-key or webhook',
      }),
    ),
    resourceId: Type.Optional(Type.String({ maxLength: 64 })),
    principalId: Type.Optional(Type.String({ maxLength: 64 })),
    clientId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2048,
        description: 'Only events made through this OAuth client (its client_id: an id, or a metadata document URL).',
      }),
    ),
    since: Type.Optional({ ...Timestamp, description: 'Events at or after this time.' }),
    until: Type.Optional({ ...Timestamp, description: 'Events before this time.' }),
  },
  { additionalProperties: false },
);
const tags = ['audit'];

/** The audit log of a workspace, and the history of one resource: newest first, names of fields only. */
export const auditRoutes: FastifyPluginAsyncTypebox<{ audit: AuditService }> = async (app, { audit }) => {
  app.get(
    '/workspaces/:workspaceId/audit',
    {
      schema: {
        tags,
        summary: 'List audit events, newest first',
        params: WorkspaceParams,
        querystring: AuditQuery,
        response: { 200: pageOf(AuditEventView), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { limit: _l, cursor: _c, since, until, ...filters } = request.query;
      // Stored times are ISO strings in UTC; normalise the bounds so that they compare as text.
      const iso = (value: string | undefined) => (value === undefined ? undefined : new Date(value).toISOString());
      const page = await audit.list(request.actor, request.params.workspaceId, {
        ...pageRequestOf(request.query),
        ...filters,
        since: iso(since),
        until: iso(until),
      });
      return sendPage(request, reply, page);
    },
  );

  for (const [resourceType, collection, idPattern] of [
    ['connector', 'connectors', Slug],
    ['connection', 'connections', Type.String({ pattern: '^[1-9][0-9]{0,15}$' })],
    ['access-client', 'access-clients', AccessClientId],
    ['toolset', 'toolsets', Type.String({ pattern: TOOLSET_NAME_PATTERN })],
    ['webhook', 'webhooks', WebhookId],
  ] as const) {
    app.get(
      `/workspaces/:workspaceId/${collection}/:id/history`,
      {
        schema: {
          tags,
          summary: `The audit events of one ${resourceType}, newest first (kept after it is deleted)`,
          params: Type.Object({ workspaceId: Slug, id: idPattern }),
          querystring: PageQuery,
          response: { 200: pageOf(AuditEventView), ...errorResponses },
        },
      },
      async (request, reply) => {
        const { workspaceId, id } = request.params;
        return sendPage(
          request,
          reply,
          await audit.history(request.actor, workspaceId, resourceType, id, pageRequestOf(request.query)),
        );
      },
    );
  }
};
