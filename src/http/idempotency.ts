import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { conflict, validationFailed } from '../domain/errors.js';
import type { IdempotencyService } from '../services/idempotency-service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set while this request holds an Idempotency-Key claim that its response completes. */
    idempotencyScope?: string;
  }
}

const KEY = /^[\x21-\x7e]{1,255}$/;
/** Response headers that are part of what a replay must reproduce. */
const KEPT_HEADERS = ['content-type', 'etag', 'location', 'plugboard-connections-updated', 'cache-control'];
/** Marks a kept response whose body held a one-time secret: it was not stored, so it cannot be replayed. */
const WITHHELD = 'x-plugboard-withheld';

/**
 * Idempotency-Key on POST, PUT and PATCH: a retry with the same key and body gets the first response again
 * (marked `Idempotent-Replayed: true`) without a second write; a different body gets 422.
 */
export function registerIdempotency(api: FastifyInstance, idempotency: IdempotencyService): void {
  api.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const key = request.headers['idempotency-key'];
    if (key === undefined || !['POST', 'PUT', 'PATCH'].includes(request.method)) return;
    if (typeof key !== 'string' || !KEY.test(key)) {
      throw validationFailed([{ path: 'header/idempotency-key', message: 'must be 1–255 visible ASCII characters' }]);
    }
    const outcome = await idempotency.begin({
      principalId: request.actor.principal.id,
      method: request.method,
      path: request.url,
      key,
      body: request.body === undefined ? '' : JSON.stringify(request.body),
    });
    if (outcome.kind === 'proceed') {
      request.idempotencyScope = outcome.scopeKey;
      return;
    }
    const { status, headers, body } = outcome.response;
    if (headers[WITHHELD]) {
      throw conflict(
        'This Idempotency-Key was used already; its response held a secret shown only once, so it is not replayed.',
      );
    }
    return reply
      .code(status)
      .headers({ ...headers, 'idempotent-replayed': 'true' })
      .send(body === '' ? undefined : body);
  });

  api.addHook('onSend', async (request, reply, payload) => {
    const scope = request.idempotencyScope;
    if (scope === undefined) return payload;
    request.idempotencyScope = undefined;
    if (reply.statusCode >= 500) {
      await idempotency.release(scope);
      return payload;
    }
    const headers: Record<string, string> = {};
    for (const name of KEPT_HEADERS) {
      const value = reply.getHeader(name);
      if (value !== undefined) headers[name] = String(value);
    }
    // A response the client must not keep (a new API key) is not kept here either.
    const withhold = headers['cache-control']?.includes('no-store') === true;
    if (withhold) headers[WITHHELD] = '1';
    await idempotency.complete(scope, {
      status: reply.statusCode,
      headers,
      body: withhold || typeof payload !== 'string' ? '' : payload,
    });
    return payload;
  });
}
