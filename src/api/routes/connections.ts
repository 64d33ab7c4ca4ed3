import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConnectionInput, HEALTH_STATES, MAX_CONNECTION_ID } from '../../domain/connection.js';
import { notFound } from '../../domain/errors.js';
import { Slug } from '../../domain/common.js';
import type { Connection } from '../../domain/connection.js';
import type { ConnectionService } from '../../services/connection-service.js';
import type { UpstreamOAuthService } from '../../services/upstream-oauth-service.js';
import { errorResponses, pageRequestOf, sendPage, sendVersioned, withoutFields, writeErrorResponses } from '../http.js';
import { preconditionOf, type RouteOptions } from '../../http/precondition.js';
import { ConnectionPutBody, ConnectionView, MergePatchBody, PageQuery, pageOf } from '../schemas.js';

const WorkspaceParams = Type.Object({ workspaceId: Slug });
/** Connection ids are positive integers below 2^53, so they survive every JSON parser. */
const Params = Type.Object({
  workspaceId: Slug,
  connectionId: Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'A positive integer.' }),
});
const ListQuery = Type.Object(
  {
    ...PageQuery.properties,
    connectorId: Type.Optional(Slug),
    q: Type.Optional(Type.String({ maxLength: 128, description: 'Name contains (case-insensitive).' })),
    health: Type.Optional(
      Type.Union(
        HEALTH_STATES.map((s) => Type.Literal(s)),
        { description: 'Only connections whose health (last test) is in this state.' },
      ),
    ),
  },
  { additionalProperties: false },
);
const TestQuery = Type.Object(
  {
    test: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Try the settings against the real system first; save only if that works (422 otherwise).',
      }),
    ),
  },
  { additionalProperties: false },
);
const TestResult = Type.Object({
  health: ConnectionView.properties.health,
  latencyMs: Type.Number({ description: 'How long the test took.' }),
});
const tags = ['connections'];
const secretsNote =
  'Secret keys in content and credential secrets are write-only: reads show "******"; writing "******" back keeps the stored value; null clears it.';

const ConnectBody = Type.Object(
  {
    handOff: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'false: an authorization URL for you, to open in a browser signed in to plugboard as you. true: a connect link to hand to another person, who opens it once (no plugboard account needed) before it expires.',
      }),
    ),
  },
  { additionalProperties: false },
);
const ConnectResult = Type.Object({
  authorizationUrl: Type.Union([Type.String(), Type.Null()], {
    description: "The provider's authorization URL (state and PKCE S256 included); null with handOff.",
  }),
  connectUrl: Type.Union([Type.String(), Type.Null()], {
    description: 'The connect link (handOff only): works once, until expiresAt.',
  }),
  expiresAt: Type.String({ format: 'date-time' }),
});

export const connectionRoutes: FastifyPluginAsyncTypebox<
  RouteOptions & { connections: ConnectionService; upstreamOAuth: UpstreamOAuthService }
> = async (app, options) => {
  const { connections, upstreamOAuth } = options;
  /** Connections as the API shows them: with where their OAuth tokens stand, read at the same time. */
  async function withOAuth<T extends Connection>(list: readonly T[]): Promise<(T & { oauth: unknown })[]> {
    const status = await upstreamOAuth.statusOf(list);
    return list.map((c) => ({ ...c, oauth: status.get(c.id) ?? null }));
  }
  /**
   * One connection with its OAuth status, and an ETag that moves with that status too (a refresh changes no
   * revision): a conditional GET answers 304 only when neither changed; If-Match still compares the revision.
   */
  async function sendConnection(
    request: FastifyRequest,
    reply: FastifyReply,
    connection: Connection,
    status?: number,
  ): Promise<FastifyReply> {
    const [view] = await withOAuth([connection]);
    const shownState = view!.oauth
      ? createHash('sha256').update(JSON.stringify(view!.oauth)).digest('base64url').slice(0, 16)
      : undefined;
    const state = { revision: connection.revision, createdAt: connection.createdAt, shownState };
    return sendVersioned(request, reply, state, view, status);
  }
  const base = '/workspaces/:workspaceId/connections';
  // Above 2^53 a JSON number cannot name a connection exactly, so no connection has such an id.
  const idOf = (raw: string) => {
    const id = Number(raw);
    if (id > MAX_CONNECTION_ID) throw notFound(`Connection ${raw}`);
    return id;
  };

  app.get(
    base,
    {
      schema: {
        tags,
        summary: 'List connections',
        params: WorkspaceParams,
        querystring: ListQuery,
        response: { 200: pageOf(ConnectionView), ...errorResponses },
      },
    },
    async (request, reply) => {
      const page = await connections.list(request.actor, request.params.workspaceId, {
        ...pageRequestOf(request.query),
        connectorId: request.query.connectorId,
        nameContains: request.query.q,
        health: request.query.health,
      });
      return sendPage(request, reply, { ...page, items: await withOAuth(page.items) });
    },
  );

  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'Create a connection',
        description: `The store assigns the id. Variables start from the connector's connectionVariables. ${secretsNote}`,
        params: WorkspaceParams,
        querystring: TestQuery,
        body: ConnectionInput,
        response: { 201: ConnectionView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const connection = await connections.create(request.actor, request.params.workspaceId, request.body, {
        test: request.query.test,
      });
      reply.header('location', `/api/v1/workspaces/${connection.workspaceId}/connections/${connection.id}`);
      return sendConnection(request, reply, connection, 201);
    },
  );

  app.get(
    `${base}/:connectionId`,
    {
      schema: {
        tags,
        summary: 'Get a connection',
        params: Params,
        response: { 200: ConnectionView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const connection = await connections.get(
        request.actor,
        request.params.workspaceId,
        idOf(request.params.connectionId),
      );
      return sendConnection(request, reply, connection);
    },
  );

  app.put(
    `${base}/:connectionId`,
    {
      schema: {
        tags,
        summary: 'Replace a connection',
        description: `Full replacement: omitted optional fields are unset; connectorId cannot change. ${secretsNote}`,
        params: Params,
        querystring: TestQuery,
        body: ConnectionPutBody,
        response: { 200: ConnectionView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const body = withoutFields(request.body, [
        'id',
        'uid',
        'workspaceId',
        'health',
        'oauth',
        'createdAt',
        'updatedAt',
        'revision',
      ]);
      const { workspaceId, connectionId } = request.params;
      const connection = await connections.replace(
        request.actor,
        workspaceId,
        idOf(connectionId),
        body,
        preconditionOf(request, options),
        { test: request.query.test },
      );
      return sendConnection(request, reply, connection);
    },
  );

  app.patch(
    `${base}/:connectionId`,
    {
      schema: {
        tags,
        summary: 'Change some fields of a connection (JSON merge patch)',
        description: secretsNote,
        params: Params,
        querystring: TestQuery,
        body: MergePatchBody,
        response: { 200: ConnectionView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectionId } = request.params;
      const connection = await connections.patch(
        request.actor,
        workspaceId,
        idOf(connectionId),
        request.body,
        preconditionOf(request, options),
        { test: request.query.test },
      );
      return sendConnection(request, reply, connection);
    },
  );

  app.delete(
    `${base}/:connectionId`,
    {
      schema: {
        tags,
        summary: 'Delete a connection',
        params: Params,
        response: { 204: Type.Null(), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectionId } = request.params;
      await connections.remove(request.actor, workspaceId, idOf(connectionId), preconditionOf(request, options));
      return reply.code(204).send(null);
    },
  );

  app.post(
    `${base}/:connectionId/connect`,
    {
      schema: {
        tags,
        summary: 'Connect a connection of an OAuth (authorization code) connector to its provider',
        description:
          "Starts the authorization code flow with PKCE S256, a random single-use state (valid OAUTH_CONNECT_TTL_SECONDS) and the connector's scopes. The provider sends the browser back to /oauth/callback, which stores the tokens sealed; they are never returned by any API. Without handOff the flow is bound to you: finish it in a browser signed in to plugboard as you. With handOff you get a connect link for another person instead.",
        params: Params,
        body: Type.Optional(ConnectBody),
        response: { 200: ConnectResult, ...writeErrorResponses },
      },
    },
    async (request) => {
      const { workspaceId, connectionId } = request.params;
      return upstreamOAuth.connect(request.actor, workspaceId, idOf(connectionId), request.body ?? {});
    },
  );

  app.post(
    `${base}/:connectionId/test`,
    {
      schema: {
        tags,
        summary: 'Test a connection against the real system and record the result in its health',
        description:
          'Connects with the stored settings (mysql, postgresql, http, redis), with a timeout. The result is recorded unless the connection changed meanwhile.',
        params: Params,
        response: { 200: TestResult, ...errorResponses },
      },
    },
    async (request) => {
      const { workspaceId, connectionId } = request.params;
      const { health, latencyMs } = await connections.test(request.actor, workspaceId, idOf(connectionId));
      return { health, latencyMs };
    },
  );
};
