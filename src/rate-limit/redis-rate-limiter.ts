import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { gcraTiming } from './gcra.js';
import type { Decision, RateLimit, RateLimiter } from './rate-limiter.js';

// The `gcra` step of gcra.ts in Lua, run atomically so concurrent nodes cannot both spend the last unit.
// It reads Redis's own TIME rather than taking the caller's clock, so nodes with skewed clocks agree
// (Redis 5+ replicates a script's effects, not the script, which is what allows TIME before a write).
// TATs are integer microseconds (about 2^51 today), exact in Lua's doubles; '%.0f' writes them without
// the exponent that tostring would use. The PX expiry ends when the TAT is reached, at which point the
// key would behave as fresh anyway, so idle keys simply vanish.
const GCRA_SCRIPT = `
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
if tat - now > tolerance then
  return {0, tat - tolerance - now, 0}
end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000))
return {1, 0, math.floor((tolerance + interval - (next_tat - now)) / interval)}
`;

const DEFAULT_PREFIX = 'plugboard:rate-limit:';
// Bounds every take, including one queued while the connection is (re)established.
const TIMEOUT_MS = 1000;

/** The client with the command that `defineCommand` adds at run time, which ioredis cannot type. */
type GcraClient = Redis & {
  gcraTake(key: string, intervalUs: number, toleranceUs: number): Promise<[number, number, number]>;
};

/**
 * A rate limiter whose buckets live in Redis, so every node behind a load balancer shares one budget.
 *
 * It fails closed: when Redis cannot be reached `take` rejects within about a second with an Error naming
 * Redis and the URL, and the caller answers 503 rather than letting traffic through unmetered.
 */
export function createRedisRateLimiter(options: { url: string; prefix?: string }): RateLimiter {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const where = redactUrl(options.url);
  const redis = new Redis(options.url, {
    connectTimeout: TIMEOUT_MS,
    commandTimeout: TIMEOUT_MS,
    // The offline queue stays on so a take issued while the first connection is opening waits for it;
    // once a reconnection attempt has failed, queued takes are rejected instead of waiting for the next.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 100, TIMEOUT_MS),
  }) as GcraClient;
  redis.defineCommand('gcraTake', { numberOfKeys: 1, lua: GCRA_SCRIPT });

  // Connection errors surface through the rejected takes; this keeps the latest one to name the cause
  // and stops ioredis from reporting every reconnection attempt as an unhandled error.
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    lastError = error;
  });
  redis.on('ready', () => {
    lastError = undefined;
  });

  async function take(key: string, limit: RateLimit): Promise<Decision> {
    const { intervalUs, toleranceUs } = gcraTiming(limit);
    try {
      const [allowed, retryAfterUs, remaining] = await redis.gcraTake(storageKey(key), intervalUs, toleranceUs);
      return { allowed: allowed === 1, retryAfterMs: Math.ceil(retryAfterUs / 1000), remaining };
    } catch (error) {
      const cause = lastError && lastError !== error ? ` (last connection error: ${lastError.message})` : '';
      throw new Error(`Redis at ${where} failed to check a rate limit: ${(error as Error).message}${cause}`, {
        cause: error,
      });
    }
  }

  // Hashing keeps a client-chosen key from naming, or colliding with, any other data in Redis.
  function storageKey(key: string): string {
    return prefix + createHash('sha256').update(key).digest('base64url');
  }

  async function close(): Promise<void> {
    if (redis.status === 'ready') await redis.quit();
    else redis.disconnect();
  }

  return { take, close };
}

// The URL is named in errors, which get logged; a password in it must not be.
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(an unparsable Redis URL)';
  }
}
