import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors.js';
import { takeOrRefuse, type RateLimit, type RateLimiter } from '../rate-limit/rate-limiter.js';

/** Limits per principal for each operation class; reads are GET and HEAD, everything else writes. */
export interface RateLimits {
  readonly read: RateLimit | undefined;
  readonly write: RateLimit | undefined;
}

const classOf = (request: FastifyRequest) => (request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write');

/**
 * Spends one unit of the principal's budget for the request's class. Over budget: 429 with Retry-After (sent
 * through `header`). When the shared limiter (Redis) cannot answer, the request is refused with 503 rather than
 * let through unlimited.
 */
export async function takePrincipalBudget(
  request: FastifyRequest,
  header: (name: string, value: string) => unknown,
  principalId: string,
  limiter: RateLimiter,
  limits: RateLimits,
): Promise<void> {
  const kind = classOf(request);
  const limit = limits[kind];
  if (!limit) return;
  const decision = await takeOrRefuse(limiter, `${principalId}:${kind}`, limit, kind, request.log);
  header('ratelimit-remaining', String(decision.remaining));
  if (!decision.allowed) {
    header('retry-after', String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))));
    throw new DomainError('rate-limited', `Too many ${kind} requests for this principal: at most ${limit.perSecond} per second (burst ${limit.burst}).`);
  }
}

/** Spends the caller's budget (see {@link takePrincipalBudget}) before anything else is done with the request. */
export function registerRateLimit(api: FastifyInstance, limiter: RateLimiter, limits: RateLimits): void {
  // No hook at all when neither class is limited: it would cost every request a promise for nothing.
  if (!limits.read && !limits.write) return;
  api.addHook('onRequest', async (request, reply) => {
    if (request.actor) await takePrincipalBudget(request, (name, value) => reply.header(name, value), request.actor.principal.id, limiter, limits);
  });
}
