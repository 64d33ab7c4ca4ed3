import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { createMetrics } from './http/metrics.js';
import { createEgressPolicy } from './egress/egress-policy.js';
import { ownListeners } from './egress/own-listeners.js';
import { createMemoryRateLimiter } from './rate-limit/memory-rate-limiter.js';
import { createRedisRateLimiter } from './rate-limit/redis-rate-limiter.js';
import type { RateLimiter } from './rate-limit/rate-limiter.js';
import { buildServer } from './build-server.js';
import { isReachable, migrateToLatest, openDb, type Db } from './storage/database.js';
import { createWriter } from './storage/writer.js';
import type { GatewayUrls } from './services/toolset-service.js';
import { createServices, type Services } from './services/services.js';
import { createToolsetReconciler, type ToolsetReconciler } from './services/toolset-reconciler.js';
import { createWebhookDispatcher, type WebhookDispatcher } from './services/webhook-dispatcher.js';
import { bootstrapEmptyStore } from './services/bootstrap.js';
import { createConnectionTester } from './services/connection-tester.js';
import { systemClock, type Clock } from './services/clock.js';
import { loadOrCreateKeyFile } from './services/master-keys.js';
import { oauthCookieKeys } from './services/oauth-signing-keys.js';
import { egressFetch } from './egress/egress-connect.js';
import { createVault, type Vault } from './services/vault.js';
import { VERSION_INFO } from './services/version-info.js';

export interface App {
  readonly config: Config;
  readonly db: Db;
  readonly vault: Vault;
  readonly services: Services;
  readonly server: FastifyInstance;
  readonly logger: Logger;
  /** Turns toolset specs into status; `sweep` and `reconcile` are there for tests and tools. */
  readonly reconciler: ToolsetReconciler;
  /** From now on /readyz answers 503, so that load balancers stop sending new work. */
  beginDrain(): void;
  close(): Promise<void>;
}

export const VERSION: string = VERSION_INFO.version;

/** Redaction for every log line: credentials in headers never reach the log. */
export function createLogger(level: Config['logLevel']): Logger {
  return pino({
    level,
    base: { service: 'plugboard' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-auth-token"]',
        'req.headers.cookie',
        'req.headers["x-csrf-token"]',
        'headers.authorization',
        'headers.cookie',
      ],
      censor: '[redacted]',
    },
  });
}

/** The store the configuration names, opened with {@link openDb}; `logger` hears of PostgreSQL listener outages. */
export function openConfiguredDb(config: Config, logger?: Logger): Db {
  if (config.database.engine === 'sqlite') return openDb({ engine: 'sqlite', location: config.database.file });
  return openDb({
    engine: 'postgres',
    location: config.database.url,
    poolSize: config.database.poolSize,
    listenerEvents: logger && {
      lost: (error) =>
        logger.warn(
          { err: { message: error.message, code: (error as { code?: unknown }).code } },
          'not following changes made by other nodes (PostgreSQL LISTEN failed): caches are bypassed, every lookup reads the store, until it listens again',
        ),
      restored: () => logger.info('following changes made by other nodes again (PostgreSQL LISTEN)'),
    },
  });
}

/** The master keys from the environment, or from the key file of the embedded default (created on first start). */
export function loadMasterKeys(config: Config, logger?: Logger) {
  if (config.masterKeys) return config.masterKeys;
  const { keys, created } = loadOrCreateKeyFile(config.masterKeyFile);
  if (created)
    logger?.warn(
      { file: config.masterKeyFile },
      'generated a new master key file; back it up: without it no stored secret can be read',
    );
  return keys;
}

/**
 * Where the gateway serves each toolset, as its status outputs tell clients: on PUBLIC_URL when the operator set
 * it, else on the origin the caller addressed, else on this node's own address (HOST and PORT).
 */
export function gatewayUrls(config: Pick<Config, 'publicUrl' | 'isPublicUrlSet'>): GatewayUrls {
  return {
    mcpUrlOf(workspaceId, name, requestOrigin) {
      const base = config.isPublicUrlSet ? config.publicUrl : (requestOrigin ?? config.publicUrl);
      return `${base}/mcp/${encodeURIComponent(workspaceId)}/${encodeURIComponent(name)}`;
    },
  };
}

/**
 * Composition root: opens the store, migrates it, builds the services and the server. On an empty store it
 * creates the `default` workspace and an owner key, returned once in `bootstrapKey`.
 */
export async function createApp(
  config: Config,
  options: {
    logger?: Logger;
    clock?: Clock;
    /**
     * CA certificates (PEM) trusted for outbound HTTPS to Client ID Metadata Documents, besides Node's own: for
     * a private PKI, and for tests that serve a document on loopback. Never a way around certificate checks.
     */
    trustedCaCertificates?: readonly string[];
    /**
     * The limiter every budget is spent from, in place of the memory one (or Redis's, with REDIS_URL): tests give
     * the memory one on a clock of their own, so that no budget refills while they count.
     */
    rateLimiter?: RateLimiter;
  } = {},
): Promise<App & { bootstrapKey?: { key: string; generated: boolean } }> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const db = openConfiguredDb(config, logger);
  let rateLimiter: RateLimiter | undefined;
  let reconciler: ToolsetReconciler | undefined;
  let dispatcher: WebhookDispatcher | undefined;
  let opened: Services | undefined;
  let draining = false;
  try {
    const { applied } = await migrateToLatest(db);
    if (applied.length > 0) logger.info({ applied }, 'migrated the store');
    const vault = createVault(loadMasterKeys(config, logger));
    // A server reads through its caches from the first request on: start following other nodes' changes now.
    db.changes.current();
    // Services are built after the metrics; the state gauge reads them through this at scrape time.
    let oauthStates: (() => Promise<readonly { state: string; count: number }[]>) | undefined;
    const metrics = createMetrics({
      followsChanges: () => db.changes.current() !== undefined,
      oauthStates: () => oauthStates?.() ?? Promise.resolve([]),
    });
    // One budget per principal across every node when Redis is configured; per process otherwise.
    rateLimiter =
      options.rateLimiter ??
      (config.redisUrl ? createRedisRateLimiter({ url: config.redisUrl }) : createMemoryRateLimiter());
    // Every outbound connection a user can aim is checked against it, and against this node's own listeners.
    let listening: FastifyInstance | undefined;
    const egress = createEgressPolicy({
      rules: config.egress,
      listeners: () =>
        ownListeners(
          { address: config.host, port: config.port },
          listening?.server.listening ? listening.addresses() : [],
        ),
    });
    const tester = createConnectionTester({
      vault,
      egress,
      timeoutMs: config.connectionTestTimeoutMs,
      onResult: (type, ok) => metrics.connectionTests.inc({ type, result: ok ? 'ok' : 'failing' }),
    });
    const writer = createWriter(db);
    reconciler = createToolsetReconciler({
      db,
      writer,
      clock,
      logger,
      mcpTimeoutMs: config.connectionTestTimeoutMs,
      egress,
      ...config.toolsets,
    });
    const services = createServices({
      db,
      writer,
      vault,
      clock,
      tester,
      reconciler,
      urls: gatewayUrls(config),
      gateway: config.gateway,
      catalog: { ...config.toolsets.serving, maxDocumentBytes: config.toolsets.maxDocumentBytes },
      egress,
      publicUrl: config.publicUrl,
      redisUrl: config.redisUrl,
      people: config.people,
      oidc: config.oidc,
      upstreamOAuth: config.upstreamOAuth,
      onRefresh: (outcome) => metrics.oauthRefreshes.inc({ outcome }),
      baseUrlOf: (requestOrigin) => (config.isPublicUrlSet ? config.publicUrl : (requestOrigin ?? config.publicUrl)),
    });
    opened = services;
    oauthStates = services.upstreamOAuth.countStates;
    const bootstrapKey = await bootstrapEmptyStore(writer, clock, config.adminKey);
    // Picks up toolset generations that no node has reconciled (one written just before a crash, say).
    reconciler.start(config.reconcileIntervalMs);
    // Every node delivers webhook events; a claim in the store keeps two from sending one at once.
    dispatcher = createWebhookDispatcher({
      db,
      writer,
      vault,
      clock,
      egress,
      options: config.webhooks,
      onError: (error, what) => logger.warn({ err: error }, what),
      onAttempt: (outcome) => metrics.webhookAttempts.inc({ outcome }),
    });
    dispatcher.start();
    const server = await buildServer(services, {
      logger,
      bodyLimit: config.bodyLimit,
      documentBodyLimit: Math.max(config.bodyLimit, config.toolsets.maxDocumentBytes),
      requireIfMatch: config.requireIfMatch,
      isDraining: () => draining,
      isReady: async () => (draining ? 'draining' : (await isReachable(db)) ? 'ready' : 'store unreachable'),
      metrics,
      rateLimiter,
      rateLimits: config.rateLimits,
      huaweiFabricTimeoutMs: config.huaweiFabricTimeoutMs,
      bailianRateLimit: config.bailianRateLimit,
      gatewayRateLimit: config.gateway.rateLimit,
      gatewayLimits: config.gateway,
      nodeId: config.nodeId,
      connections: config.connections,
      metricsToken: config.metricsToken,
      version: VERSION,
      publicUrl: config.publicUrl,
      people: config.people,
      oauth: config.oauth,
      oauthCookieKeys: oauthCookieKeys(vault),
      oauthCsrfKey: vault.deriveKey('oauth-consent-csrf')!,
      clientMetadataFetch: egressFetch(egress, { ca: options.trustedCaCertificates }),
      upstreamOAuth: config.upstreamOAuth,
    });
    listening = server;
    // Idempotency records expire after 24 h; clear them out now and then so the table stays small.
    const housekeeping = setInterval(
      () => {
        services.idempotency
          .purgeExpired()
          .catch((error: unknown) => logger.warn({ err: error }, 'could not purge idempotency records'));
        services.gateway.sessions
          .purgeEnded()
          .catch((error: unknown) => logger.warn({ err: error }, 'could not purge ended gateway sessions'));
        services.oauth
          .purgeExpired()
          .catch((error: unknown) => logger.warn({ err: error }, 'could not purge expired OAuth records'));
        services.nonces
          .purgeExpired()
          .catch((error: unknown) => logger.warn({ err: error }, 'could not purge expired request nonces'));
        services.upstreamOAuth
          .purgeExpired()
          .catch((error: unknown) => logger.warn({ err: error }, 'could not purge expired connect flows'));
        services.users
          .purgeStaleSessions()
          .catch((error: unknown) => logger.warn({ err: error }, 'could not purge stale sign-in sessions'));
      },
      10 * 60 * 1000,
    );
    housekeeping.unref();
    return {
      config,
      db,
      vault,
      services,
      server,
      logger,
      reconciler,
      bootstrapKey,
      beginDrain() {
        draining = true;
      },
      async close() {
        clearInterval(housekeeping);
        await server.close();
        await dispatcher?.stop();
        await services.gateway.close();
        await services.nonces.close();
        await reconciler?.stop();
        await rateLimiter?.close();
        await db.close();
      },
    };
  } catch (error) {
    // Whatever was opened before the failure: its connections would otherwise keep the process alive.
    await dispatcher?.stop().catch(() => undefined);
    await opened?.gateway.close().catch(() => undefined);
    await opened?.nonces.close().catch(() => undefined);
    await reconciler?.stop().catch(() => undefined);
    await rateLimiter?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw error;
  }
}
