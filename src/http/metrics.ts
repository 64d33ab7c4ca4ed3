import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { unauthenticated } from '../domain/errors.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';

/** The Prometheus metrics of one server. A registry per instance, so that several apps in one process stay apart. */
export interface Metrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route' | 'status'>;
  readonly connectionTests: Counter<'type' | 'result'>;
  readonly rateLimitRejections: Counter<'class'>;
  /** Refreshes (and first fetches) of upstream OAuth tokens, by outcome: ok, degraded, reconnect-required. */
  readonly oauthRefreshes: Counter<'outcome'>;
  /** Webhook delivery attempts, by outcome: delivered, retry, failed (the last attempt failed). */
  readonly webhookAttempts: Counter<'outcome'>;
}

export interface MetricsSources {
  /** Whether this node follows the changes other processes commit (see ChangeStamps); read at each scrape. */
  readonly followsChanges?: () => boolean;
  /** How many connections are in each upstream OAuth state, read from the store at each scrape. */
  readonly oauthStates?: () => Promise<readonly { state: string; count: number }[]>;
}

export function createMetrics(sources: MetricsSources = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'plugboard_' });
  const { followsChanges } = sources;
  if (followsChanges) {
    new Gauge({
      name: 'plugboard_change_listener_up',
      help: '1 while this node follows the changes other nodes commit (always on SQLite); 0 while its PostgreSQL LISTEN connection is down and its caches are bypassed.',
      registers: [registry],
      collect() {
        this.set(followsChanges() ? 1 : 0);
      },
    });
  }
  const { oauthStates } = sources;
  if (oauthStates) {
    new Gauge({
      name: 'plugboard_upstream_oauth_connections',
      help: 'Connections with upstream OAuth tokens, by state (connected, degraded, reconnect-required), across all nodes.',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const state of ['connected', 'degraded', 'reconnect-required']) this.set({ state }, 0);
        try {
          for (const { state, count } of await oauthStates()) this.set({ state }, count);
        } catch {
          // The store is unreachable: the scrape still answers, with zeros; /readyz says why.
        }
      },
    });
  }
  return {
    registry,
    requests: new Counter({
      name: 'plugboard_http_requests_total',
      help: 'HTTP requests answered, by method, route template and status.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'plugboard_http_request_duration_seconds',
      help: 'Time from request to response, by method, route template and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    connectionTests: new Counter({
      name: 'plugboard_connection_tests_total',
      help: 'Connection tests run, by connection type and result (ok or failing).',
      labelNames: ['type', 'result'],
      registers: [registry],
    }),
    oauthRefreshes: new Counter({
      name: 'plugboard_upstream_oauth_refreshes_total',
      help: 'Upstream OAuth token requests made by the refresh engine (refreshes and client-credentials fetches), by outcome: ok, degraded (network or 5xx, retried), reconnect-required (invalid_grant).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhookAttempts: new Counter({
      name: 'plugboard_webhook_attempts_total',
      help: 'Webhook delivery attempts, by outcome: delivered (2xx), retry (failed, tried again later), failed (the last attempt failed).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    rateLimitRejections: new Counter({
      name: 'plugboard_rate_limit_rejections_total',
      help: 'Requests refused with 429 (on every API edge and the MCP gateway), by budget: read, write, gateway, bailian.',
      labelNames: ['class'],
      registers: [registry],
    }),
  };
}

/**
 * The limiter every edge is given: the same limiter, counting each refusal in `rejections` under the budget
 * the caller names. One place, so that no edge (native, dialect, gateway) can forget to count its 429s.
 */
export function countingRejections(limiter: RateLimiter, rejections: Metrics['rateLimitRejections']): RateLimiter {
  return {
    async take(key, limit, budget = 'other') {
      const decision = await limiter.take(key, limit, budget);
      if (!decision.allowed) rejections.inc({ class: budget });
      return decision;
    },
    close: () => limiter.close(),
  };
}

/** Whether `authorization` is `Bearer <token>`, compared in constant time (digests, so lengths do not show either). */
function isBearer(authorization: string | undefined, token: string): boolean {
  const given = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1] ?? '';
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(token).digest());
}

/**
 * Counts every response by its route template (never the raw URL, so ids do not explode the label space) and
 * serves GET /metrics; with a `token`, only to a scraper that sends it as a bearer token.
 */
export function registerMetrics(app: FastifyInstance, metrics: Metrics, token?: string): void {
  app.addHook('onResponse', (request, reply, done) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
    done();
  });
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (token !== undefined && !isBearer(request.headers.authorization, token))
      throw unauthenticated('/metrics needs "Authorization: Bearer <METRICS_TOKEN>".');
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
