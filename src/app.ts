import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { createMetrics } from './api/metrics.js';
import { createEgressPolicy, type EgressPolicy } from './egress/egress-policy.js';
import { ownListeners } from './egress/own-listeners.js';
import { createMemoryRateLimiter } from './rate-limit/memory-rate-limiter.js';
import { createRedisRateLimiter } from './rate-limit/redis-rate-limiter.js';
import type { RateLimiter } from './rate-limit/rate-limiter.js';
import { buildServer } from './api/server.js';
import { isReachable, migrateToLatest, openDb, type Db } from './storage/database.js';
import { createWriter, type Writer } from './storage/writer.js';
import { createToolsetService, type GatewayUrls } from './services/toolset-service.js';
import { createToolsetReconciler, type ToolsetReconciler } from './services/toolset-reconciler.js';
import { createAccessClientService } from './services/access-client-service.js';
import { createGatewayService, type GatewayOptions } from './services/gateway-service.js';
import { createAccessKeyService } from './services/access-key-service.js';
import { createAccessService } from './services/access-service.js';
import { createAuditService } from './services/audit-service.js';
import { createIdempotencyService } from './services/idempotency-service.js';
import { bootstrapEmptyStore } from './services/bootstrap.js';
import { createConnectionService } from './services/connection-service.js';
import { createConnectionTester, type ConnectionTester } from './services/connection-tester.js';
import { createConnectorPartsService } from './services/connector-parts-service.js';
import { createConnectorService } from './services/connector-service.js';
import { createNonceService, type NonceService } from './services/nonce-service.js';
import { systemClock, type Clock } from './services/context.js';
import { loadOrCreateKeyFile } from './services/master-keys.js';
import { createVault, type Vault } from './services/vault.js';
import { createTokenService } from './services/token-service.js';
import { createWorkspaceService } from './services/workspace-service.js';
import { VERSION_INFO } from './services/version-info.js';

/** Every service, built once; the edges receive this and nothing else. */
export interface Services {
  readonly workspaces: ReturnType<typeof createWorkspaceService>;
  readonly connectors: ReturnType<typeof createConnectorService>;
  readonly connectorParts: ReturnType<typeof createConnectorPartsService>;
  readonly connections: ReturnType<typeof createConnectionService>;
  readonly access: ReturnType<typeof createAccessService>;
  readonly accessKeys: ReturnType<typeof createAccessKeyService>;
  readonly accessClients: ReturnType<typeof createAccessClientService>;
  readonly tokens: ReturnType<typeof createTokenService>;
  readonly audit: ReturnType<typeof createAuditService>;
  readonly toolsets: ReturnType<typeof createToolsetService>;
  readonly idempotency: ReturnType<typeof createIdempotencyService>;
  readonly gateway: ReturnType<typeof createGatewayService>;
  /** Nonces of signed requests (vendor dialects), shared by every node. */
  readonly nonces: NonceService;
}

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
    redact: { paths: ['req.headers.authorization', 'req.headers["x-auth-token"]', 'headers.authorization'], censor: '[redacted]' },
  });
}

export function openStore(config: Config, logger?: Logger): Db {
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
  if (created) logger?.warn({ file: config.masterKeyFile }, 'generated a new master key file; back it up: without it no stored secret can be read');
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

export function createServices(deps: {
  db: Db;
  writer: Writer;
  vault: Vault;
  clock: Clock;
  tester: ConnectionTester;
  reconciler: Pick<ToolsetReconciler, 'trigger'>;
  urls: GatewayUrls;
  gateway: GatewayOptions;
  egress: EgressPolicy;
  /** Keeps request nonces in Redis instead of the store. */
  redisUrl?: string;
}): Services {
  const { db, writer, vault, clock, tester, reconciler, urls } = deps;
  const connectors = createConnectorService({ db, writer, vault, clock });
  return {
    workspaces: createWorkspaceService({ db, writer, clock }),
    connectors,
    connectorParts: createConnectorPartsService({ connectors, vault, clock }),
    connections: createConnectionService({ db, writer, vault, clock, tester }),
    access: createAccessService({ db, writer, clock }),
    accessKeys: createAccessKeyService({ db, writer, vault, clock }),
    accessClients: createAccessClientService({ db, writer, clock }),
    tokens: createTokenService({ db, writer, clock }),
    audit: createAuditService({ db }),
    idempotency: createIdempotencyService({ writer, clock }),
    toolsets: createToolsetService({ db, writer, vault, clock, urls, onSpecChange: reconciler.trigger }),
    gateway: createGatewayService({ db, writer, vault, clock, options: deps.gateway, egress: deps.egress }),
    nonces: createNonceService({ writer, clock, redisUrl: deps.redisUrl }),
  };
}

/**
 * Composition root: opens the store, migrates it, builds the services and the server. On an empty store it
 * creates the `default` workspace and an owner key, returned once in `bootstrapKey`.
 */
export async function createApp(config: Config, options: { logger?: Logger; clock?: Clock } = {}): Promise<App & { bootstrapKey?: { key: string; generated: boolean } }> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const db = openStore(config, logger);
  let rateLimiter: RateLimiter | undefined;
  let reconciler: ToolsetReconciler | undefined;
  let opened: Services | undefined;
  let draining = false;
  try {
    const { applied } = await migrateToLatest(db);
    if (applied.length > 0) logger.info({ applied }, 'migrated the store');
    const vault = createVault(loadMasterKeys(config, logger));
    // A server reads through its caches from the first request on: start following other nodes' changes now.
    db.changes.current();
    const metrics = createMetrics({ followsChanges: () => db.changes.current() !== undefined });
    // One budget per principal across every node when Redis is configured; per process otherwise.
    rateLimiter = config.redisUrl ? createRedisRateLimiter({ url: config.redisUrl }) : createMemoryRateLimiter();
    // Every outbound connection a user can aim is checked against it, and against this node's own listeners.
    let listening: FastifyInstance | undefined;
    const egress = createEgressPolicy({
      rules: config.egress,
      listeners: () => ownListeners({ address: config.host, port: config.port }, listening?.server.listening ? listening.addresses() : []),
    });
    const tester = createConnectionTester({
      vault,
      egress,
      timeoutMs: config.connectionTestTimeoutMs,
      onResult: (type, ok) => metrics.connectionTests.inc({ type, result: ok ? 'ok' : 'failing' }),
    });
    const writer = createWriter(db);
    reconciler = createToolsetReconciler({ db, writer, clock, logger, mcpTimeoutMs: config.connectionTestTimeoutMs, egress, ...config.toolsets });
    const services = createServices({ db, writer, vault, clock, tester, reconciler, urls: gatewayUrls(config), gateway: config.gateway, egress, redisUrl: config.redisUrl });
    opened = services;
    const bootstrapKey = await bootstrapEmptyStore(writer, clock, config.adminKey);
    // Picks up toolset generations that no node has reconciled (one written just before a crash, say).
    reconciler.start(config.reconcileIntervalMs);
    const server = await buildServer(services, {
      logger,
      bodyLimit: config.bodyLimit,
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
    });
    listening = server;
    // Idempotency records expire after 24 h; clear them out now and then so the table stays small.
    const housekeeping = setInterval(() => {
      services.idempotency.purgeExpired().catch((error: unknown) => logger.warn({ err: error }, 'could not purge idempotency records'));
      services.gateway.sessions.purgeEnded().catch((error: unknown) => logger.warn({ err: error }, 'could not purge ended gateway sessions'));
      services.nonces.purgeExpired().catch((error: unknown) => logger.warn({ err: error }, 'could not purge expired request nonces'));
    }, 10 * 60 * 1000);
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
        await services.gateway.close();
        await services.nonces.close();
        await reconciler?.stop();
        await rateLimiter?.close();
        await db.close();
      },
    };
  } catch (error) {
    // Whatever was opened before the failure: its connections would otherwise keep the process alive.
    await opened?.gateway.close().catch(() => undefined);
    await opened?.nonces.close().catch(() => undefined);
    await reconciler?.stop().catch(() => undefined);
    await rateLimiter?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw error;
  }
}
