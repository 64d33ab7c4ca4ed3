import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Slug } from '../../domain/common.js';
import { TokenInput, type TokenService } from '../../services/token-service.js';
import { writeErrorResponses } from '../http.js';
import { TokenView } from '../schemas.js';

const tags = ['access'];

/** Short-lived tokens, sent as `X-Auth-Token`, issued against an API key. */
export const tokenRoutes: FastifyPluginAsyncTypebox<{ tokens: TokenService }> = async (app, { tokens }) => {
  app.post(
    '/tokens',
    {
      schema: {
        tags,
        summary: 'Issue a short-lived token for your own principal (API keys only)',
        description:
          'The token acts as its principal, with the same roles, when sent as `X-Auth-Token`. It lives `ttlSeconds` ' +
          '(60–86400, default 3600), is in the response once, in `token`, and is stored as a digest only. Revoking the ' +
          'API key it was issued with revokes it too.',
        security: [{ apiKey: [] }],
        body: TokenInput,
        response: { 201: Type.Object({ ...TokenView.properties, token: Type.String() }), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const issued = await tokens.issue(request.actor, request.body);
      reply.header('cache-control', 'no-store');
      return reply.code(201).send({ ...issued.record, token: issued.token });
    },
  );

  app.delete(
    '/tokens/:tokenId',
    {
      schema: {
        tags,
        summary: 'Revoke one of your tokens',
        params: Type.Object({ tokenId: Slug }),
        response: { 204: Type.Null(), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      await tokens.revoke(request.actor, request.params.tokenId);
      return reply.code(204).send(null);
    },
  );
};
