import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Slug } from '../../domain/common.js';
import { DELIVERY_STATUSES, WEBHOOK_EVENT_TYPES, WebhookCreateInput, WebhookId } from '../../domain/webhook.js';
import type { WebhookService } from '../../services/webhook-service.js';
import { preconditionOf, type RouteOptions } from '../../http/precondition.js';
import { errorResponses, pageRequestOf, sendPage, sendVersioned, writeErrorResponses } from '../http.js';
import { MergePatchBody, PageQuery, pageOf } from '../schemas.js';

const Timestamp = Type.String({ format: 'date-time' });
const NullableString = Type.Union([Type.String(), Type.Null()]);
const EventType = Type.Union(WEBHOOK_EVENT_TYPES.map((t) => Type.Literal(t)));
const Status = Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s)));

const WebhookView = Type.Object({
  id: WebhookId,
  workspaceId: Slug,
  url: Type.String(),
  description: NullableString,
  eventTypes: Type.Array(EventType),
  enabled: Type.Boolean(),
  secret: Type.Literal('******', { description: 'Write-only: always the mask.' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  revision: Type.Integer({ minimum: 1 }),
});
const CreatedView = Type.Object({
  ...WebhookView.properties,
  secret: Type.String({
    description: 'The secret the server generated when the request gave none, shown this once; else the mask "******".',
  }),
});
const DeliveryView = Type.Object({
  id: Type.String(),
  webhookId: WebhookId,
  eventId: Type.String({ description: 'Also sent as Plugboard-Event-Id: the same for every attempt.' }),
  eventType: EventType,
  status: Status,
  attempts: Type.Integer({ minimum: 0, description: 'Attempts started so far.' }),
  lastStatus: Type.Union([Type.Integer(), Type.Null()], { description: 'The HTTP status of the last answer.' }),
  lastError: Type.Union([Type.String(), Type.Null()], {
    description: 'Why the last attempt failed: the answer, a timeout, a network error or the egress policy.',
  }),
  lastAttemptAt: Type.Union([Timestamp, Type.Null()]),
  nextAttemptAt: Type.Union([Timestamp, Type.Null()], { description: 'When it is tried (again); null once finished.' }),
  createdAt: Timestamp,
  payload: Type.Unknown({ description: 'The JSON body sent (docs/webhooks.md).' }),
});

const WorkspaceParams = Type.Object({ workspaceId: Slug });
const Params = Type.Object({ workspaceId: Slug, webhookId: WebhookId });
const DeliveryQuery = Type.Object(
  { ...PageQuery.properties, status: Type.Optional(Status) },
  { additionalProperties: false },
);
const tags = ['webhooks'];

/** Outgoing webhooks: where plugboard tells a workspace's own systems what happened to its connections. */
export const webhookRoutes: FastifyPluginAsyncTypebox<RouteOptions & { webhooks: WebhookService }> = async (
  app,
  options,
) => {
  const { webhooks } = options;
  const base = '/workspaces/:workspaceId/webhooks';

  app.get(
    base,
    {
      schema: {
        tags,
        summary: 'List webhooks',
        params: WorkspaceParams,
        querystring: PageQuery,
        response: { 200: pageOf(WebhookView), ...errorResponses },
      },
    },
    async (request, reply) =>
      sendPage(
        request,
        reply,
        await webhooks.list(request.actor, request.params.workspaceId, pageRequestOf(request.query)),
      ),
  );

  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'Create a webhook',
        description:
          'The URL must be http(s) without credentials, and the egress policy must allow every address its host resolves to (400 otherwise). Without `secret` the server generates one and returns it in this answer only.',
        params: WorkspaceParams,
        body: WebhookCreateInput,
        response: { 201: CreatedView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const created = await webhooks.create(request.actor, request.params.workspaceId, request.body);
      const { webhook } = created;
      reply.header('location', `/api/v1/workspaces/${webhook.workspaceId}/webhooks/${webhook.id}`);
      reply.header('cache-control', 'no-store');
      return sendVersioned(
        request,
        reply,
        webhook,
        { ...webhook, secret: created.generatedSecret ?? webhook.secret },
        201,
      );
    },
  );

  app.get(
    `${base}/:webhookId`,
    {
      schema: { tags, summary: 'Get a webhook', params: Params, response: { 200: WebhookView, ...errorResponses } },
    },
    async (request, reply) => {
      const webhook = await webhooks.get(request.actor, request.params.workspaceId, request.params.webhookId);
      return sendVersioned(request, reply, webhook, webhook);
    },
  );

  app.patch(
    `${base}/:webhookId`,
    {
      schema: {
        tags,
        summary: 'Change some fields of a webhook (JSON merge patch)',
        description:
          'A new `secret` replaces the stored one; the mask "******" or no `secret` keeps it. A new URL is checked like at creation.',
        params: Params,
        body: MergePatchBody,
        response: { 200: WebhookView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, webhookId } = request.params;
      const webhook = await webhooks.patch(
        request.actor,
        workspaceId,
        webhookId,
        request.body,
        preconditionOf(request, options),
      );
      return sendVersioned(request, reply, webhook, webhook);
    },
  );

  app.delete(
    `${base}/:webhookId`,
    {
      schema: {
        tags,
        summary: 'Delete a webhook and its deliveries',
        params: Params,
        response: { 204: Type.Null(), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, webhookId } = request.params;
      await webhooks.remove(request.actor, workspaceId, webhookId, preconditionOf(request, options));
      return reply.code(204).send(null);
    },
  );

  app.get(
    `${base}/:webhookId/deliveries`,
    {
      schema: {
        tags,
        summary: "List a webhook's deliveries, newest first",
        params: Params,
        querystring: DeliveryQuery,
        response: { 200: pageOf(DeliveryView), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, webhookId } = request.params;
      const page = await webhooks.deliveries(request.actor, workspaceId, webhookId, {
        ...pageRequestOf(request.query),
        status: request.query.status,
      });
      return sendPage(request, reply, page);
    },
  );
};
