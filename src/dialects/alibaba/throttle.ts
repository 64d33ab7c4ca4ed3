import type { FastifyInstance, FastifyRequest } from 'fastify';
import { takeOrRefuse, type RateLimit, type RateLimiter } from '../../rate-limit/rate-limiter.js';
import { AlibabaError } from './errors.js';

/**
 * Spends one unit of `key`'s budget. Over budget: Alibaba's `Throttling.User`, which the SDKs raise as their
 * ThrottlingError, with `x-acs-retry-after` (milliseconds, what their retry policy waits). A limiter that
 * cannot answer refuses the request (503) rather than let it through unmetered.
 */
export async function takeOrThrottle(request: FastifyRequest, limiter: RateLimiter, key: string, limit: RateLimit, what: string, budget: string): Promise<void> {
  const decision = await takeOrRefuse(limiter, key, limit, budget, request.log);
  if (decision.allowed) return;
  throw new AlibabaError(429, 'Throttling.User', `Request was denied due to user flow control: at most ${limit.perSecond} ${what} per second.`, {
    'x-acs-retry-after': String(Math.max(1, decision.retryAfterMs)),
    'retry-after': String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))),
  });
}

/** The native API's per-principal read and write budgets, shared with it (same keys), for a dialect's routes. */
export function registerPrincipalRateLimit(app: FastifyInstance, limiter: RateLimiter, limits: { read: RateLimit | undefined; write: RateLimit | undefined }): void {
  app.addHook('preHandler', async (request) => {
    const kind = request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write';
    const limit = limits[kind];
    if (limit) await takeOrThrottle(request, limiter, `${request.actor.principal.id}:${kind}`, limit, `${kind} requests`, kind);
  });
}
