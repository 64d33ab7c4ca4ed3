import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Db } from '../storage/database.js';
import * as nonces from '../storage/nonce-repo.js';
import type { Writer } from '../storage/writer.js';
import type { Clock } from './clock.js';

/**
 * Replay protection for signed requests: a nonce may be used once while its request could still pass the
 * timestamp check. Shared by every node: the store's `request_nonces` table, or Redis when configured.
 */
export interface NonceService {
  /** True the first time `scope` + `nonce` is seen within `ttlMs`; false for a replay. */
  claim(scope: string, nonce: string, ttlMs: number): Promise<boolean>;
  /** Drops nonces that no longer need remembering (Redis expires them by itself). */
  purgeExpired(): Promise<void>;
  close(): Promise<void>;
}

// Hashing bounds the key's length and keeps a client-chosen nonce from naming any other data.
const keyOf = (scope: string, nonce: string) => createHash('sha256').update(`${scope}\n${nonce}`).digest('base64url');

export function createNonceService(deps: { db: Db; writer: Writer; clock: Clock; redisUrl?: string }): NonceService {
  return deps.redisUrl ? createRedisNonces(deps.redisUrl) : createStoredNonces(deps.db, deps.writer, deps.clock);
}

function createStoredNonces(db: Db, writer: Writer, clock: Clock): NonceService {
  const claim = nonces.createNonceClaims(db, writer, () => clock.now());
  return {
    claim: (scope, nonce, ttlMs) =>
      claim({ key: keyOf(scope, nonce), expiresAt: new Date(Date.parse(clock.now()) + ttlMs).toISOString() }),
    purgeExpired: () => writer.write((tx) => nonces.deleteExpiredNonces(tx, clock.now())),
    close: async () => undefined,
  };
}

const TIMEOUT_MS = 1000;

function createRedisNonces(url: string): NonceService {
  const redis = new Redis(url, {
    connectTimeout: TIMEOUT_MS,
    commandTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 100, TIMEOUT_MS),
  });
  // Failures surface through the rejected claims (the caller answers 503); this keeps ioredis quiet.
  redis.on('error', () => undefined);
  return {
    async claim(scope, nonce, ttlMs) {
      // SET NX is atomic: of two nodes seeing the same nonce at once, exactly one gets OK.
      const result = await redis.set(`plugboard:nonce:${keyOf(scope, nonce)}`, '1', 'PX', ttlMs, 'NX');
      return result === 'OK';
    },
    purgeExpired: async () => undefined,
    async close() {
      if (redis.status === 'ready') await redis.quit();
      else redis.disconnect();
    },
  };
}
