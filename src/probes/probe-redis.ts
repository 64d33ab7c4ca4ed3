import { Redis } from 'ioredis';
import { describeNetworkError, messageOf } from './describe-network-error.js';
import { serverNameOf } from '../egress/egress-connect.js';
import type { ProbeOptions, ProbeResult, ProbeTarget } from './probe.js';
import { readSettings } from './read-settings.js';
import { runProbe } from './run-probe.js';

/** Connects to Redis, authenticates and selects the database when the settings say so, sends PING and quits. */
export async function probeRedis(target: ProbeTarget, { timeoutMs, egress }: ProbeOptions): Promise<ProbeResult> {
  const read = readSettings(target.content);
  const endpoint = read.endpoint(6379);
  const username = read.text('username', 'user');
  const password = read.text('password', 'auth');
  const db = read.wholeNumber('db', { min: 0, max: 2 ** 31 - 1 });
  const tls = read.tls();
  const rejection = read.rejection();
  if (rejection !== undefined) return rejection;
  const who = username ?? 'default';

  return runProbe({
    timeoutMs,
    egress,
    endpoint,
    address: endpoint.address,
    open: (to) => {
      const redis = new Redis({
        host: to.address,
        port: endpoint.port,
        tls: tls ? { servername: serverNameOf(endpoint.host) } : undefined,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        enableOfflineQueue: false,
        // AUTH and SELECT are sent by hand below, not through ioredis' options: it only warns on the console
        // when a server without a password refuses AUTH, and its ready check hides NOAUTH behind a generic
        // error. By hand, the probe reports the server's own answer.
        enableReadyCheck: false,
      });
      // ioredis rejects connect() with "Connection is closed." and emits the real cause as an event.
      let cause: unknown;
      redis.on('error', (error: unknown) => {
        cause ??= error;
      });
      return {
        check: async () => {
          try {
            await redis.connect();
          } catch (error) {
            throw cause ?? error;
          }
          if (password !== undefined && password !== '') {
            await (username === undefined ? redis.auth(password) : redis.auth(username, password));
          }
          if (db !== undefined) await redis.select(db);
          await redis.ping();
          return { ok: true };
        },
        close: () => redis.quit(),
        destroy: () => {
          redis.disconnect();
          // disconnect() only half-closes, which keeps the socket open against a server that never answers.
          redis.stream?.destroy();
        },
      };
    },
    describe: (error) => {
      const message = messageOf(error);
      if (message.startsWith('WRONGPASS') || message === 'ERR invalid password')
        return `authentication failed for user ${who}`;
      if (message.includes('without any password configured') || message.includes('no password is set')) {
        return `authentication failed for user ${who}: the server at ${endpoint.address} has no password set, but the settings give one`;
      }
      if (message.startsWith('NOAUTH'))
        return `authentication required: the server at ${endpoint.address} needs a password`;
      if (message.includes('DB index is out of range'))
        return `database ${db} does not exist on the server at ${endpoint.address}`;
      return describeNetworkError(error, endpoint) ?? `the Redis server at ${endpoint.address} refused: ${message}`;
    },
  });
}
