// Test support: the real Redis the rate-limit tests run against, with a fresh key prefix per run.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

const HOST = '127.0.0.1';
const PORT = 6379;

/** A connection to the test Redis plus a key prefix of its own; `close` deletes the keys it made. */
export interface TestRedis {
  readonly url: string;
  readonly prefix: string;
  readonly redis: Redis;
  close(): Promise<void>;
}

/** Connects to the test Redis, failing with a message naming Redis and its address when it is not there. */
export async function openTestRedis(): Promise<TestRedis> {
  const url = `redis://${HOST}:${PORT}`;
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Error(
      `Redis is not reachable at ${HOST}:${PORT}; the rate-limit tests need a real Redis there: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const prefix = `plugboard-test:rate-limit:${randomUUID()}:`;

  async function close(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
  }

  return { url, prefix, redis, close };
}
