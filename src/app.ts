import { readFileSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { createMetrics } from './api/metrics.js';
import { createMemoryRateLimiter } from './rate-limit/memory-rate-limiter.js';
import { createRedisRateLimiter } from './rate-limit/redis-rate-limiter.js';
import type { RateLimiter } from './rate-limit/rate-limiter.js';
import { buildServer } from './api/server.js';
import { isReachable, migrateToLatest, openDb, type Db } from './storage/database.js';
import { createWriter } from './storage/writer.js';
import { createAccessKeyService } from './services/access-key-service.js';
import { createAccessService } from './services/access-service.js';
import { createAuditService } from './services/audit-service.js';
import { createIdempotencyService } from './services/idempotency-service.js';
import { bootstrapEmptyStore } from './services/bootstrap.js';
import { createConnectionService } from './services/connection-service.js';
import { createConnectionTester, type ConnectionTester } from './services/connection-tester.js';
import { createConnectorPartsService } from './services/connector-parts-service.js';
import { createConnectorService } from './services/connector-service.js';
import { systemClock, type Clock } from './services/context.js';
import { loadOrCreateKeyFile } from './services/master-keys.js';
import { createVault, type Vault } from './services/vault.js';
import { createTokenService } from './services/token-service.js';
import { createWorkspaceService } from './services/workspace-service.js';

/** Every service, built once; the edges receive this and nothing else. */
export interface Services {
  readonly workspaces: ReturnType<typeof createWorkspaceService>;
  readonly connectors: ReturnType<typeof createConnectorService>;
  readonly connectorParts: ReturnType<typeof createConnectorPartsService>;
  readonly connections: ReturnType<typeof createConnectionService>;
  readonly access: ReturnType<typeof createAccessService>;
  readonly accessKeys: ReturnType<typeof createAccessKeyService>;
  readonly tokens: ReturnType<typeof createTokenService>;
  readonly audit: ReturnType<typeof createAuditService>;
  readonly idempotency: ReturnType<typeof createIdempotencyService>;
}

export interface App {
  readonly config: Config;
  readonly db: Db;
  readonly vault: Vault;
  readonly services: Services;
  readonly server: FastifyInstance;
  readonly logger: Logger;
  close(): Promise<void>;
}

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Redaction for every log line: credentials in headers never reach the log. */
export function createLogger(level: Config['logLevel']): Logger {
  return pino({
    level,
    base: { service: 'plugboard' },
    redact: { paths: ['req.headers.authorization', 'req.headers["x-auth-token"]', 'headers.authorization'], censor: '[redacted]' },
  });
}

export function openStore(config: Config): Db {
  return config.database.engine === 'sqlite'
    ? openDb({ engine: 'sqlite', location: config.database.file })
    : openDb({ engine: 'postgres', location: config.database.url, poolSize: config.database.poolSize });
}

/** The master keys from the environment, or from the key file of the embedded default (created on first start). */
export function loadMasterKeys(config: Config, logger?: Logger) {
  if (config.masterKeys) return config.masterKeys;
  const { keys, created } = loadOrCreateKeyFile(config.masterKeyFile);
  if (created) logger?.warn({ file: config.masterKeyFile }, 'generated a new master key file; back it up: without it no stored secret can be read');
  return keys;
}

export function createServices(db: Db, vault: Vault, clock: Clock, tester: ConnectionTester): Services {
  const writer = createWriter(db);
  const connectors = createConnectorService({ db, writer, vault, clock });
  return {
    workspaces: createWorkspaceService({ db, writer, clock }),
    connectors,
    connectorParts: createConnectorPartsService({ connectors, vault, clock }),
    connections: createConnectionService({ db, writer, vault, clock, tester }),
    access: createAccessService({ db, writer, clock }),
    accessKeys: createAccessKeyService({ db, writer, vault, clock }),
    tokens: createTokenService({ db, writer, clock }),
    audit: createAuditService({ db }),
    idempotency: createIdempotencyService({ writer, clock }),
  };
}

/**
 * Composition root: opens the store, migrates it, builds the services and the server. On an empty store it
 * creates the `default` workspace and an owner key, returned once in `bootstrapKey`.
 */
export async function createApp(config: Config, options: { logger?: Logger; clock?: Clock } = {}): Promise<App & { bootstrapKey?: { key: string; generated: boolean } }> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const db = openStore(config);
  let rateLimiter: RateLimiter | undefined;
  try {
    await migrateToLatest(db);
    const vault = createVault(loadMasterKeys(config, logger));
    const metrics = createMetrics();
    // One budget per principal across every node when Redis is configured; per process otherwise.
    rateLimiter = config.redisUrl ? createRedisRateLimiter({ url: config.redisUrl }) : createMemoryRateLimiter();
    const tester = createConnectionTester({
      vault,
      timeoutMs: config.connectionTestTimeoutMs,
      onResult: (type, ok) => metrics.connectionTests.inc({ type, result: ok ? 'ok' : 'failing' }),
    });
    const services = createServices(db, vault, clock, tester);
    const bootstrapKey = await bootstrapEmptyStore(createWriter(db), clock, config.adminKey);
    const server = await buildServer(services, {
      logger,
      bodyLimit: config.bodyLimit,
      requireIfMatch: config.requireIfMatch,
      isReady: () => isReachable(db),
      metrics,
      rateLimiter,
      rateLimits: config.rateLimits,
      version: VERSION,
    });
    // Idempotency records expire after 24 h; clear them out now and then so the table stays small.
    const housekeeping = setInterval(() => {
      services.idempotency.purgeExpired().catch((error: unknown) => logger.warn({ err: error }, 'could not purge idempotency records'));
    }, 10 * 60 * 1000);
    housekeeping.unref();
    return {
      config,
      db,
      vault,
      services,
      server,
      logger,
      bootstrapKey,
      async close() {
        clearInterval(housekeeping);
        await server.close();
        await rateLimiter?.close();
        await db.close();
      },
    };
  } catch (error) {
    await rateLimiter?.close();
    await db.close();
    throw error;
  }
}
