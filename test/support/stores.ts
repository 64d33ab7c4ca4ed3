import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config.js';
import { createApp, type App } from '../../src/app.js';
import type { Clock } from '../../src/services/clock.js';
import type { RateLimiter } from '../../src/rate-limit/rate-limiter.js';
import type { Logger } from 'pino';

export const ENGINES = ['sqlite', 'postgres'] as const;
export type Engine = (typeof ENGINES)[number];

/** The PostgreSQL every storage test also runs against (CI on this machine has it running). */
export const TEST_DATABASE_URL = process.env.PLUGBOARD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const OWNER_KEY = 'pbk_test_owner_key_0123456789abcdef';
export const TEST_MASTER_KEYS = `test:${Buffer.alloc(32, 7).toString('base64')}`;

/** A fresh, empty store of the given engine: a temp dir for SQLite, a new schema for PostgreSQL. */
export interface TestStore {
  readonly engine: Engine;
  readonly env: Record<string, string>;
  drop(): Promise<void>;
}

export async function createTestStore(engine: Engine): Promise<TestStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'plugboard-test-'));
  const base = { DATA_DIR: dataDir, PLUGBOARD_MASTER_KEYS: TEST_MASTER_KEYS, LOG_LEVEL: 'silent' };
  if (engine === 'sqlite') {
    return { engine, env: base, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${TEST_DATABASE_URL} (${(error as Error).message}). The suite runs every storage test on it too: ` +
        'start PostgreSQL or point PLUGBOARD_TEST_DATABASE_URL at one.',
      { cause: error },
    );
  }
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = `${TEST_DATABASE_URL}${TEST_DATABASE_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    engine,
    env: { ...base, DATABASE_URL: url },
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface InjectOptions {
  readonly body?: unknown;
  readonly key?: string | null;
  readonly headers?: Record<string, string>;
  readonly contentType?: string;
}

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly body: any;
  readonly text: string;
}

/** A running app on a fresh store, with a `call` helper that speaks JSON with the owner key by default. */
export interface TestApp extends App {
  readonly store: TestStore;
  call(method: string, url: string, options?: InjectOptions): Promise<Reply>;
  stop(): Promise<void>;
}

export async function startTestApp(
  engine: Engine,
  options: {
    env?: Record<string, string>;
    clock?: Clock;
    trustedCaCertificates?: readonly string[];
    rateLimiter?: RateLimiter;
    store?: TestStore;
    /** Where the app logs, for a test that reads its log lines (silent otherwise). */
    logger?: Logger;
  } = {},
): Promise<TestApp> {
  // A given store is reused (a test that runs the CLI on it between two starts); `stop` still drops it.
  const store = options.store ?? (await createTestStore(engine));
  // Rate limits are off unless a test turns them on: most tests drive one key far faster than a person would.
  const limitsOff = {
    RATE_LIMIT_READ_PER_SECOND: '0',
    RATE_LIMIT_WRITE_PER_SECOND: '0',
    RATE_LIMIT_GATEWAY_PER_SECOND: '0',
  };
  const config: Config = loadConfig({ ...store.env, ...limitsOff, PLUGBOARD_ADMIN_KEY: OWNER_KEY, ...options.env });
  const app = await createApp(config, {
    clock: options.clock,
    trustedCaCertificates: options.trustedCaCertificates,
    rateLimiter: options.rateLimiter,
    logger: options.logger,
  });
  return {
    ...app,
    store,
    async call(method, url, { body, key = OWNER_KEY, headers = {}, contentType } = {}) {
      const response = await app.server.inject({
        method: method as 'GET',
        url,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body !== undefined
            ? {
                'content-type':
                  contentType ?? (method === 'PATCH' ? 'application/merge-patch+json' : 'application/json'),
              }
            : {}),
          ...headers,
        },
        payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      let parsed: unknown;
      try {
        parsed = response.body === '' ? undefined : JSON.parse(response.body);
      } catch {
        parsed = undefined;
      }
      return { status: response.statusCode, headers: response.headers, body: parsed, text: response.body };
    },
    async stop() {
      await app.close();
      await store.drop();
    },
  };
}

/** Config for a test store without starting anything (for CLI and storage-level tests). */
export function configFor(store: TestStore, env: Record<string, string> = {}): Config {
  return loadConfig({ ...store.env, ...env });
}

/** A secret with its last character changed: never the secret itself, whatever that character was. */
export const wrongSecretOf = (secret: string) => `${secret.slice(0, -1)}${secret.endsWith('x') ? 'y' : 'x'}`;

/** The owner key's principal as the actor of a service call on the default workspace, as if authenticated now. */
export async function ownerActor(app: TestApp, requestId: string) {
  return {
    principal: {
      id: (await app.call('GET', '/api/v1/me')).body.principalId as string,
      name: 'owner',
      status: 'active' as const,
      roles: new Map([['default', 'owner' as const]]),
    },
    requestId,
  };
}
