import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccessClientService } from '../../services/access-client-service.js';
import type { Actor } from '../../services/actor.js';
import {
  ClientIdParams,
  CreateBody,
  DEFAULT_LIMIT,
  ListQuery,
  UpdateBody,
  toCreatedClient,
  toFabricClient,
  toFabricList,
} from './wire.js';

/** The authenticated caller of a request and the workspace its credential points at. */
export interface FabricContext {
  readonly actor: Actor;
  readonly workspaceId: string;
}

export interface FabricRouteOptions {
  readonly accessClients: Pick<AccessClientService, 'search' | 'get' | 'create' | 'patch' | 'remove'>;
  readonly contextOf: (request: FastifyRequest) => FabricContext;
}

/**
 * Sends what `work` produced unless the request was already answered (the server's timeout answers 408 on
 * its own); a late failure of a request that was answered is dropped the same way.
 */
async function answer(reply: FastifyReply, work: () => Promise<unknown>, status = 200): Promise<FastifyReply> {
  try {
    const body = await work();
    return reply.sent ? reply : reply.code(status).send(body);
  } catch (error) {
    if (reply.sent) return reply;
    throw error;
  }
}

/** The access-client operations of DataArts Fabric on plugboard's access clients, relative to /v1/access-clients. */
export const fabricRoutes: FastifyPluginAsyncTypebox<FabricRouteOptions> = async (app, options) => {
  const { accessClients, contextOf } = options;

  app.get('/', { schema: { querystring: ListQuery } }, async (request, reply) =>
    answer(reply, async () => {
      const { actor, workspaceId } = contextOf(request);
      const { offset = 0, limit = DEFAULT_LIMIT, name, id } = request.query;
      return toFabricList(await accessClients.search(actor, workspaceId, { offset, limit, nameContains: name, id }));
    }),
  );

  app.post('/', { schema: { body: CreateBody } }, async (request, reply) =>
    answer(reply, async () => {
      const { actor, workspaceId } = contextOf(request);
      const issued = await accessClients.create(actor, workspaceId, { name: request.body.name });
      // The body holds the client's gateway token, shown this once.
      reply.header('cache-control', 'no-store');
      return toCreatedClient(issued.client, request.body, issued.secret);
    }),
  );

  app.get('/:client_id', { schema: { params: ClientIdParams } }, async (request, reply) =>
    answer(reply, async () => {
      const { actor, workspaceId } = contextOf(request);
      return toFabricClient(await accessClients.get(actor, workspaceId, request.params.client_id));
    }),
  );

  // Fabric's update changes the name alone and leaves it as it is when the body has none: a merge patch of `name`.
  app.put('/:client_id', { schema: { params: ClientIdParams, body: UpdateBody } }, async (request, reply) =>
    answer(reply, async () => {
      const { actor, workspaceId } = contextOf(request);
      const patch = request.body.name === undefined ? {} : { name: request.body.name };
      return toFabricClient(await accessClients.patch(actor, workspaceId, request.params.client_id, patch));
    }),
  );

  // A sibling Huawei service answers a delete with 200; the body is an empty JSON object so every answer is JSON.
  app.delete('/:client_id', { schema: { params: ClientIdParams } }, async (request, reply) =>
    answer(reply, async () => {
      const { actor, workspaceId } = contextOf(request);
      await accessClients.remove(actor, workspaceId, request.params.client_id);
      return {};
    }),
  );
};
