import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors.js';
import { takeOrRefuse, type RateLimit, type RateLimiter } from '../rate-limit/rate-limiter.js';

/** Limits per principal for each operation class; reads are GET and HEAD, everything else writes. */
export interface RateLimits {
  readonly read: RateLimit | undefined;
  readonly write: RateLimit | undefined;
}

/** A budget that ran out: the limit, how long until one unit is back, and what was counted ("read requests"). */
export interface OverBudget {
  readonly limit: RateLimit;
  readonly retryAfterMs: number;
  readonly what: string;
}

/**
 * How a wire format says "over budget": it returns the error its clients expect (the native API's 429 problem,
 * Alibaba's `Throttling.User`), setting any header it needs on the way.
 */
export type RefuseOverBudget = (spent: OverBudget) => Error;

/** One budget to spend from: its key in the limiter, its limit, its name in logs and what one unit is. */
export interface Budget {
  readonly key: string;
  readonly limit: RateLimit;
  readonly name: string;
  readonly what: string;
}

/** Whole seconds for Retry-After (RFC 9110 §10.2.3), never 0. */
export function retryAfterSeconds(retryAfterMs: number): string {
  return String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
}

/**
 * Spends one unit of `budget`; over budget, throws what `refuse` returns. `remaining`, when given, hears how many
 * units are left. When the shared limiter (Redis) cannot answer, the request is refused with 503 rather than let
 * through unmetered.
 */
export async function takeBudget(
  request: FastifyRequest,
  limiter: RateLimiter,
  budget: Budget,
  refuse: RefuseOverBudget,
  remaining?: (units: number) => void,
): Promise<void> {
  const decision = await takeOrRefuse(limiter, budget.key, budget.limit, budget.name, request.log);
  remaining?.(decision.remaining);
  if (!decision.allowed) throw refuse({ limit: budget.limit, retryAfterMs: decision.retryAfterMs, what: budget.what });
}

const classOf = (method: string) => (method === 'GET' || method === 'HEAD' ? 'read' : 'write');

/**
 * Spends one unit of the principal's budget for the request's class (or `kind` when the wire names it, as an
 * RPC action does). The native API and every dialect share these keys, so a principal has one budget.
 */
export async function takePrincipalBudget(
  request: FastifyRequest,
  principalId: string,
  limiter: RateLimiter,
  limits: RateLimits,
  refuse: RefuseOverBudget,
  options: { kind?: 'read' | 'write'; remaining?: (units: number) => void } = {},
): Promise<void> {
  const kind = options.kind ?? classOf(request.method);
  const limit = limits[kind];
  if (!limit) return;
  await takeBudget(
    request,
    limiter,
    { key: `${principalId}:${kind}`, limit, name: kind, what: `${kind} requests` },
    refuse,
    options.remaining,
  );
}

/**
 * The native refusal: 429 `rate-limited` with Retry-After, and RateLimit-Remaining on every answer (both sent
 * through `header`).
 */
export function problemOverBudget(header: (name: string, value: string) => unknown): {
  refuse: RefuseOverBudget;
  remaining: (units: number) => void;
} {
  return {
    remaining: (units) => header('ratelimit-remaining', String(units)),
    refuse: ({ limit, retryAfterMs, what }) => {
      header('retry-after', retryAfterSeconds(retryAfterMs));
      return new DomainError(
        'rate-limited',
        `Too many ${what} for this principal: at most ${limit.perSecond} per second (burst ${limit.burst}).`,
      );
    },
  };
}

/** Spends the caller's budget, answered the native way, before anything else is done with the request. */
export function registerRateLimit(api: FastifyInstance, limiter: RateLimiter, limits: RateLimits): void {
  // No hook at all when neither class is limited: it would cost every request a promise for nothing.
  if (!limits.read && !limits.write) return;
  api.addHook('onRequest', async (request, reply) => {
    if (!request.actor) return;
    const { refuse, remaining } = problemOverBudget((name, value) => reply.header(name, value));
    await takePrincipalBudget(request, request.actor.principal.id, limiter, limits, refuse, { remaining });
  });
}

/** The principal's budget for a dialect's routes, once its authentication has set `request.actor`; `refuse` words the 429. */
export function registerPrincipalRateLimit(
  app: FastifyInstance,
  limiter: RateLimiter,
  limits: RateLimits,
  refuse: RefuseOverBudget,
): void {
  app.addHook('preHandler', async (request) => {
    await takePrincipalBudget(request, request.actor.principal.id, limiter, limits, refuse);
  });
}
