import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors.js';
import type { RateLimit, RateLimiter } from '../rate-limit/rate-limiter.js';

/** Limits per principal for each operation class; reads are GET and HEAD, everything else writes. */
export interface RateLimits {
  readonly read: RateLimit | undefined;
  readonly write: RateLimit | undefined;
}

const classOf = (request: FastifyRequest) => (request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write');

/**
 * Spends one unit of the caller's budget for the request's class before anything else is done with it.
 * Over budget: 429 with Retry-After. When the shared limiter (Redis) cannot answer, the request is refused
 * with 503 rather than let through unlimited.
 */
export function registerRateLimit(api: FastifyInstance, limiter: RateLimiter, limits: RateLimits): void {
  api.addHook('onRequest', async (request, reply) => {
    const kind = classOf(request);
    const limit = limits[kind];
    if (!limit || !request.actor) return;
    let decision;
    try {
      decision = await limiter.take(`${request.actor.principal.id}:${kind}`, limit, kind);
    } catch (error) {
      request.log.error({ err: error }, 'rate limiter unavailable');
      throw new DomainError('service-unavailable', 'The rate limiter is unavailable; retry shortly.');
    }
    reply.header('ratelimit-remaining', String(decision.remaining));
    if (!decision.allowed) {
      reply.header('retry-after', String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))));
      throw new DomainError('rate-limited', `Too many ${kind} requests for this principal: at most ${limit.perSecond} per second (burst ${limit.burst}).`);
    }
  });
}
