import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseEgressAllow, type EgressRules } from './egress/egress-policy.js';
import type { MasterKey } from './services/vault.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Every setting plugboard reads, parsed once at start. Nothing else reads `process.env`. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** Where the store lives: a SQLite file under `dataDir`, or PostgreSQL when DATABASE_URL is set. */
  readonly database:
    | { readonly engine: 'sqlite'; readonly file: string }
    | { readonly engine: 'postgres'; readonly url: string; readonly poolSize: number };
  /** Master keys from PLUGBOARD_MASTER_KEYS, active first; undefined means "use the key file in dataDir". */
  readonly masterKeys: readonly MasterKey[] | undefined;
  readonly masterKeyFile: string;
  readonly adminKey: string | undefined;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly bodyLimit: number;
  readonly requireIfMatch: boolean;
  readonly connectionTestTimeoutMs: number;
  /** How long a stopping server keeps serving while /readyz already says not-ready. */
  readonly shutdownDrainMs: number;
  /** The base URL clients reach this server at, for the MCP URLs in toolset status. */
  readonly publicUrl: string;
  /** Whether PUBLIC_URL was set; if not, `publicUrl` is this node's own address and MCP URLs follow the caller's Host. */
  readonly isPublicUrlSet: boolean;
  /** How often each node looks for toolset generations nobody has reconciled. */
  readonly reconcileIntervalMs: number;
  /**
   * This node's name in the X-Plugboard-Node header of every answer (which node served a request): NODE_ID, or
   * a random id per start, so that the header never tells a client the host name or the process id.
   */
  readonly nodeId: string;
  /** How many sockets one node holds open, and how long a slow or idle client may keep one (docs/configuration.md). */
  readonly connections: {
    readonly max: number;
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
  };
  /** When set, GET /metrics needs `Authorization: Bearer <this>`. */
  readonly metricsToken: string | undefined;
  /** Shared state for several nodes (rate limits); memory of this process when unset. */
  readonly redisUrl: string | undefined;
  /** A Huawei DataArts Fabric call still unanswered after this long gets 408 `common.00000408`. */
  readonly huaweiFabricTimeoutMs: number;
  /** The MCP gateway: upstream timeout and answer size, session lifetime, default per-client rate limit. */
  readonly gateway: {
    readonly upstreamTimeoutMs: number;
    readonly maxResponseBytes: number;
    readonly sessionTtlSeconds: number;
    readonly rateLimit: { readonly perSecond: number; readonly burst: number } | undefined;
    /** Items of one JSON-RPC batch (protocol versions before 2025-06-18; later ones refuse batches). */
    readonly maxBatchItems: number;
    /** Bytes of the results in one HTTP answer of the gateway (legacy SSE: the messages answering one POST). */
    readonly maxAnswerBytes: number;
    /** Open SSE streams per access client on one node. */
    readonly maxStreamsPerClient: number;
    /** Origins a browser may call the gateway from: PUBLIC_URL's and ALLOWED_ORIGINS, each as `scheme://host[:port]`. */
    readonly allowedOrigins: readonly string[];
  };
  /** Model Studio (Bailian) dialect calls per principal and operation; undefined turns the limit off. */
  readonly bailianRateLimit: { readonly perSecond: number; readonly burst: number } | undefined;
  /** Per principal and operation class; undefined turns that class's limit off. */
  readonly rateLimits: {
    readonly read: { readonly perSecond: number; readonly burst: number } | undefined;
    readonly write: { readonly perSecond: number; readonly burst: number } | undefined;
  };
  /** The egress policy of every outbound connection a user can aim: EGRESS_DENY_PRIVATE, EGRESS_ALLOW. */
  readonly egress: EgressRules;
  /** The built-in OAuth authorization server of the MCP gateway (docs/mcp-gateway.md). */
  readonly oauth: {
    readonly accessTokenTtlSeconds: number;
    readonly refreshTokenTtlSeconds: number;
    /** Pre-registered clients: RFC 7591 client metadata, each with its client_id. */
    readonly clients: readonly Record<string, unknown>[];
    /** Largest Client ID Metadata Document fetched, in bytes. */
    readonly metadataDocumentMaxBytes: number;
  };
  /** People: sessions, lockout, sign-in budgets, invitations (docs/people.md). */
  readonly people: {
    readonly sessionTtlSeconds: number;
    readonly sessionIdleSeconds: number;
    readonly lockoutAttempts: number;
    readonly lockoutSeconds: number;
    /** Password sign-in attempts per minute, per account and per client address (each a budget of its own). */
    readonly signInPerMinute: number;
    readonly invitationTtlSeconds: number;
  };
  /** Managed OAuth to upstream APIs: connect flows and the refresh engine (docs/mcp-gateway.md). */
  readonly upstreamOAuth: {
    /** Tokens are refreshed this long before they expire. */
    readonly refreshMarginSeconds: number;
    /** How long a started connect flow (its state) may take to come back. */
    readonly connectTtlSeconds: number;
    /** How long a connect link handed to another person works (once). */
    readonly connectLinkTtlSeconds: number;
    /** The longest a token request to the provider may take. */
    readonly tokenTimeoutMs: number;
    /** Tries of a token request that fails on the network or with a 5xx, the first included. */
    readonly refreshAttempts: number;
  };
  /** Outgoing webhooks: how their deliveries are attempted, retried and kept (docs/webhooks.md). */
  readonly webhooks: {
    readonly timeoutMs: number;
    readonly maxAttempts: number;
    readonly retryBaseMs: number;
    readonly retryMaxDelayMs: number;
    readonly pollIntervalMs: number;
    readonly concurrency: number;
    readonly keepPerWebhook: number;
    readonly retentionDays: number;
  };
  /** Sign-in with an external OpenID Connect provider; undefined when OIDC_ISSUER is unset. */
  readonly oidc: { readonly issuer: string; readonly clientId: string; readonly clientSecret: string } | undefined;
  /** Bounds on turning a toolset's spec into tools, so that no upload or upstream can stall or exhaust a node. */
  readonly toolsets: {
    /** OpenAPI conversion, on worker threads: its deadline, memory and threads, and how much it may produce. */
    readonly conversion: {
      readonly timeoutMs: number;
      readonly memoryMb: number;
      readonly threads: number;
      readonly maxOperations: number;
      /** JSON bytes of one tool's own input schema as stored (shared schemas are definitions, counted once). */
      readonly maxToolSchemaBytes: number;
      /** What a toolset stores: its tools' own schemas and the shared definitions once. */
      readonly maxToolsetSchemaBytes: number;
    };
    /** The largest OpenAPI document a toolset spec may hold (TOOLSET_MAX_DOCUMENT_BYTES). */
    readonly maxDocumentBytes: number;
    /** How the gateway serves catalogues (docs/mcp-gateway.md). */
    readonly serving: {
      /** Each served inputSchema is compacted to at most this many bytes (TOOL_SCHEMA_BUDGET_BYTES). */
      readonly maxSchemaBytes: number;
      /** describe_tool's `full: true` gives at most this many bytes (TOOL_SCHEMA_FULL_MAX_BYTES). */
      readonly maxFullSchemaBytes: number;
      /** Tools per `tools/list` page in static mode (GATEWAY_TOOLS_PAGE_SIZE). */
      readonly pageSize: number;
    };
    /** Listing an upstream MCP server's tools (tools/list, page after page). */
    readonly mcpListing: {
      readonly maxPages: number;
      readonly maxTools: number;
      readonly maxBytes: number;
      readonly timeoutMs: number;
    };
  };
}

/** Settings given on the command line; they win over the environment. */
export interface ConfigFlags {
  readonly port?: string;
  readonly host?: string;
  readonly dataDir?: string;
  readonly databaseUrl?: string;
  readonly logLevel?: string;
  readonly requireIfMatch?: boolean;
}

/** A configuration that cannot start: lists every problem at once. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export const ADMIN_KEY_PATTERN = /^pbk_[A-Za-z0-9_-]{16,200}$/;

function parseMasterKeys(value: string, problems: string[]): MasterKey[] | undefined {
  const keys: MasterKey[] = [];
  for (const [index, entry] of value
    .split(',')
    .map((e) => e.trim())
    .entries()) {
    const separator = entry.indexOf(':');
    const id = separator > 0 ? entry.slice(0, separator) : '';
    const material = separator > 0 ? entry.slice(separator + 1) : '';
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) {
      problems.push(
        `PLUGBOARD_MASTER_KEYS entry ${index + 1}: expected "id:base64key" with an id of 1–32 letters, digits, "_" or "-".`,
      );
      continue;
    }
    const key = Buffer.from(material, 'base64');
    if (key.length !== 32 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(material)) {
      problems.push(
        `PLUGBOARD_MASTER_KEYS key "${id}": must be 32 bytes, base64-encoded (try: openssl rand -base64 32).`,
      );
      continue;
    }
    if (keys.some((k) => k.id === id)) {
      problems.push(`PLUGBOARD_MASTER_KEYS: key id "${id}" appears twice.`);
      continue;
    }
    keys.push({ id, key });
  }
  return keys.length > 0 ? keys : undefined;
}

function parseBoolean(name: string, value: string | undefined, problems: string[]): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (['1', 'true', 'yes', 'on'].includes(value.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(value.toLowerCase())) return false;
  problems.push(`${name}: expected true or false, got "${value}".`);
  return undefined;
}

function parseInteger(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name}: expected a whole number from ${min} to ${max}, got "${value}".`);
    return fallback;
  }
  return n;
}

/** RATE_LIMIT_<CLASS>_PER_SECOND (0 turns the limit off) and RATE_LIMIT_<CLASS>_BURST; GATEWAY is per access client. */
function parseRateLimit(
  env: NodeJS.ProcessEnv,
  kind: 'READ' | 'WRITE' | 'GATEWAY',
  fallback: { perSecond: number; burst: number },
  problems: string[],
) {
  const perSecond = parseInteger(
    `RATE_LIMIT_${kind}_PER_SECOND`,
    env[`RATE_LIMIT_${kind}_PER_SECOND`],
    fallback.perSecond,
    0,
    1_000_000,
    problems,
  );
  const burst = parseInteger(
    `RATE_LIMIT_${kind}_BURST`,
    env[`RATE_LIMIT_${kind}_BURST`],
    fallback.burst,
    0,
    1_000_000,
    problems,
  );
  return perSecond === 0 ? undefined : { perSecond, burst };
}

/** BAILIAN_RATE_LIMIT_PER_SECOND (default 5, as Model Studio documents; 0 turns it off): that many calls at once, then that many a second. */
function parseBailianRateLimit(env: NodeJS.ProcessEnv, problems: string[]) {
  const perSecond = parseInteger(
    'BAILIAN_RATE_LIMIT_PER_SECOND',
    env.BAILIAN_RATE_LIMIT_PER_SECOND,
    5,
    0,
    1_000_000,
    problems,
  );
  return perSecond === 0 ? undefined : { perSecond, burst: perSecond - 1 };
}

/**
 * PUBLIC_URL's origin plus ALLOWED_ORIGINS (comma-separated `scheme://host[:port]`), each as the URL parser
 * serialises an origin, which is how browsers send the Origin header (RFC 6454 §6.1).
 */
function parseAllowedOrigins(publicUrl: string, value: string | undefined, problems: string[]): string[] {
  const origins = new Set<string>();
  try {
    origins.add(new URL(publicUrl).origin);
  } catch {
    // PUBLIC_URL's own check names the problem.
  }
  for (const entry of (value ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    let url: URL | undefined;
    try {
      url = /^https?:\/\/[^/?#@\s]+\/?$/i.test(entry) ? new URL(entry) : undefined;
    } catch {
      url = undefined;
    }
    if (!url) {
      problems.push(
        `ALLOWED_ORIGINS: "${entry}" is not an origin; expected scheme://host[:port] such as https://agents.example.com, without a path.`,
      );
      continue;
    }
    origins.add(url.origin);
  }
  return [...origins];
}

const MB = 1024 * 1024;

/**
 * TOOLSET_* and MCP_LIST_*. The defaults leave room for large real APIs (thousands of operations, tools of tens
 * of kB) and stop what is built to stall a node: a shared schema copied into 1,800 tools, an upstream that pages
 * forever. The byte budgets also bound what the main thread later parses and writes for the toolset (every read
 * of it, the gateway's tools/list): a few MB of JSON is tens of milliseconds.
 */
function parseToolsetLimits(env: NodeJS.ProcessEnv, problems: string[]): Config['toolsets'] {
  return {
    conversion: {
      timeoutMs: parseInteger(
        'TOOLSET_CONVERSION_TIMEOUT_MS',
        env.TOOLSET_CONVERSION_TIMEOUT_MS,
        60_000,
        100,
        600_000,
        problems,
      ),
      memoryMb: parseInteger(
        'TOOLSET_CONVERSION_MEMORY_MB',
        env.TOOLSET_CONVERSION_MEMORY_MB,
        512,
        32,
        16_384,
        problems,
      ),
      threads: parseInteger('TOOLSET_CONVERSION_THREADS', env.TOOLSET_CONVERSION_THREADS, 1, 1, 64, problems),
      maxOperations: parseInteger('TOOLSET_MAX_OPERATIONS', env.TOOLSET_MAX_OPERATIONS, 20_000, 1, 1_000_000, problems),
      maxToolSchemaBytes: parseInteger(
        'TOOLSET_MAX_TOOL_SCHEMA_BYTES',
        env.TOOLSET_MAX_TOOL_SCHEMA_BYTES,
        128 * 1024,
        1024,
        1024 * MB,
        problems,
      ),
      maxToolsetSchemaBytes: parseInteger(
        'TOOLSET_MAX_SCHEMA_BYTES',
        env.TOOLSET_MAX_SCHEMA_BYTES,
        32 * MB,
        1024,
        1024 * MB,
        problems,
      ),
    },
    maxDocumentBytes: parseInteger(
      'TOOLSET_MAX_DOCUMENT_BYTES',
      env.TOOLSET_MAX_DOCUMENT_BYTES,
      64 * MB,
      1024,
      1024 * MB,
      problems,
    ),
    serving: {
      maxSchemaBytes: parseInteger(
        'TOOL_SCHEMA_BUDGET_BYTES',
        env.TOOL_SCHEMA_BUDGET_BYTES,
        16 * 1024,
        1024,
        16 * MB,
        problems,
      ),
      maxFullSchemaBytes: parseInteger(
        'TOOL_SCHEMA_FULL_MAX_BYTES',
        env.TOOL_SCHEMA_FULL_MAX_BYTES,
        MB,
        1024,
        256 * MB,
        problems,
      ),
      pageSize: parseInteger('GATEWAY_TOOLS_PAGE_SIZE', env.GATEWAY_TOOLS_PAGE_SIZE, 100, 1, 10_000, problems),
    },
    mcpListing: {
      maxPages: parseInteger('MCP_LIST_MAX_PAGES', env.MCP_LIST_MAX_PAGES, 100, 1, 100_000, problems),
      maxTools: parseInteger('MCP_LIST_MAX_TOOLS', env.MCP_LIST_MAX_TOOLS, 5000, 1, 1_000_000, problems),
      maxBytes: parseInteger('MCP_LIST_MAX_BYTES', env.MCP_LIST_MAX_BYTES, 4 * MB, 1024, 1024 * MB, problems),
      timeoutMs: parseInteger('MCP_LIST_TIMEOUT_MS', env.MCP_LIST_TIMEOUT_MS, 30_000, 100, 600_000, problems),
    },
  };
}

/** OIDC_ISSUER (an https URL, or http on a loopback address for tests), OIDC_CLIENT_ID and OIDC_CLIENT_SECRET: all or none. */
function parseOidc(env: NodeJS.ProcessEnv, problems: string[]): Config['oidc'] {
  const [issuer, clientId, clientSecret] = [env.OIDC_ISSUER, env.OIDC_CLIENT_ID, env.OIDC_CLIENT_SECRET];
  if (!issuer && !clientId && !clientSecret) return undefined;
  if (!issuer || !clientId || !clientSecret) {
    problems.push('OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET: set all three, or none.');
    return undefined;
  }
  let url: URL | undefined;
  try {
    url = new URL(issuer);
  } catch {
    url = undefined;
  }
  const isLoopback = url !== undefined && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback))) {
    problems.push(
      'OIDC_ISSUER: expected an https URL (http only on a loopback address), such as https://accounts.example.com.',
    );
    return undefined;
  }
  return { issuer, clientId, clientSecret };
}

/** Every environment variable `loadConfig` reads; deployment files may set no other (test/deploy.test.ts). */
export const CONFIG_ENV_NAMES = [
  'PORT',
  'HOST',
  'DATA_DIR',
  'DATABASE_URL',
  'DATABASE_POOL_SIZE',
  'PLUGBOARD_MASTER_KEYS',
  'PLUGBOARD_ADMIN_KEY',
  'LOG_LEVEL',
  'BODY_LIMIT',
  'REQUIRE_IF_MATCH',
  'PUBLIC_URL',
  'RECONCILE_INTERVAL_MS',
  'SHUTDOWN_DRAIN_MS',
  'CONNECTION_TEST_TIMEOUT_MS',
  'REDIS_URL',
  'NODE_ID',
  'MAX_CONNECTIONS',
  'HEADERS_TIMEOUT_MS',
  'REQUEST_TIMEOUT_MS',
  'KEEP_ALIVE_TIMEOUT_MS',
  'METRICS_TOKEN',
  'HUAWEI_FABRIC_TIMEOUT_MS',
  'BAILIAN_RATE_LIMIT_PER_SECOND',
  'GATEWAY_UPSTREAM_TIMEOUT_MS',
  'GATEWAY_MAX_RESPONSE_BYTES',
  'MCP_SESSION_TTL_SECONDS',
  'RATE_LIMIT_READ_PER_SECOND',
  'RATE_LIMIT_READ_BURST',
  'RATE_LIMIT_WRITE_PER_SECOND',
  'RATE_LIMIT_WRITE_BURST',
  'RATE_LIMIT_GATEWAY_PER_SECOND',
  'RATE_LIMIT_GATEWAY_BURST',
  'GATEWAY_MAX_BATCH_ITEMS',
  'GATEWAY_MAX_ANSWER_BYTES',
  'GATEWAY_MAX_STREAMS_PER_CLIENT',
  'ALLOWED_ORIGINS',
  'EGRESS_DENY_PRIVATE',
  'EGRESS_ALLOW',
  'TOOLSET_CONVERSION_TIMEOUT_MS',
  'TOOLSET_CONVERSION_MEMORY_MB',
  'TOOLSET_CONVERSION_THREADS',
  'TOOLSET_MAX_OPERATIONS',
  'TOOLSET_MAX_TOOL_SCHEMA_BYTES',
  'TOOLSET_MAX_SCHEMA_BYTES',
  'TOOLSET_MAX_DOCUMENT_BYTES',
  'TOOL_SCHEMA_BUDGET_BYTES',
  'TOOL_SCHEMA_FULL_MAX_BYTES',
  'GATEWAY_TOOLS_PAGE_SIZE',
  'MCP_LIST_MAX_PAGES',
  'MCP_LIST_MAX_TOOLS',
  'MCP_LIST_MAX_BYTES',
  'MCP_LIST_TIMEOUT_MS',
  'OAUTH_ACCESS_TOKEN_TTL_SECONDS',
  'OAUTH_REFRESH_TOKEN_TTL_SECONDS',
  'OAUTH_CLIENTS',
  'OAUTH_METADATA_DOCUMENT_MAX_BYTES',
  'SESSION_TTL_SECONDS',
  'SESSION_IDLE_SECONDS',
  'SIGN_IN_LOCKOUT_ATTEMPTS',
  'SIGN_IN_LOCKOUT_SECONDS',
  'SIGN_IN_PER_MINUTE',
  'INVITATION_TTL_SECONDS',
  'OIDC_ISSUER',
  'OIDC_CLIENT_ID',
  'OIDC_CLIENT_SECRET',
  'OAUTH_REFRESH_MARGIN_SECONDS',
  'OAUTH_CONNECT_TTL_SECONDS',
  'OAUTH_CONNECT_LINK_TTL_SECONDS',
  'OAUTH_TOKEN_TIMEOUT_MS',
  'OAUTH_REFRESH_ATTEMPTS',
  'WEBHOOK_TIMEOUT_MS',
  'WEBHOOK_MAX_ATTEMPTS',
  'WEBHOOK_RETRY_BASE_MS',
  'WEBHOOK_RETRY_MAX_DELAY_MS',
  'WEBHOOK_POLL_INTERVAL_MS',
  'WEBHOOK_CONCURRENCY',
  'WEBHOOK_DELIVERIES_KEPT',
  'WEBHOOK_DELIVERY_RETENTION_DAYS',
] as const;

/** OAUTH_CLIENTS: a JSON array of client metadata objects, each with a client_id (checked again at start). */
function parseOAuthClients(value: string | undefined, problems: string[]): Record<string, unknown>[] {
  if (value === undefined || value.trim() === '') return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    if (
      Array.isArray(parsed) &&
      parsed.every(
        (c): c is Record<string, unknown> =>
          typeof c === 'object' &&
          c !== null &&
          !Array.isArray(c) &&
          typeof (c as { client_id?: unknown }).client_id === 'string',
      )
    )
      return parsed;
  } catch {
    // named below
  }
  problems.push('OAUTH_CLIENTS: expected a JSON array of client metadata objects, each with a "client_id".');
  return [];
}

/** Parses and checks the whole configuration; throws a ConfigError naming every problem. */
export function loadConfig(env: NodeJS.ProcessEnv, flags: ConfigFlags = {}): Config {
  const problems: string[] = [];
  const dataDir = resolve(flags.dataDir ?? env.DATA_DIR ?? './data');
  const databaseUrl = flags.databaseUrl ?? env.DATABASE_URL;
  if (databaseUrl !== undefined && databaseUrl !== '' && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL: expected a postgres:// or postgresql:// connection string.');
  }
  const usesPostgres = databaseUrl !== undefined && databaseUrl !== '';

  const keysValue = env.PLUGBOARD_MASTER_KEYS;
  const masterKeys = keysValue ? parseMasterKeys(keysValue, problems) : undefined;
  if (usesPostgres && !keysValue) {
    problems.push(
      "PLUGBOARD_MASTER_KEYS is required with DATABASE_URL: every node must share the same master keys (a key file in one node's data dir would lock the others out).",
    );
  }

  const adminKey = env.PLUGBOARD_ADMIN_KEY || undefined;
  if (adminKey !== undefined && !ADMIN_KEY_PATTERN.test(adminKey)) {
    problems.push('PLUGBOARD_ADMIN_KEY: expected "pbk_" followed by 16–200 letters, digits, "_" or "-".');
  }

  const logLevel = (flags.logLevel ?? env.LOG_LEVEL ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel))
    problems.push(`LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}, got "${logLevel}".`);

  const egressAllow = parseEgressAllow(env.EGRESS_ALLOW);
  problems.push(...egressAllow.problems);

  const host = flags.host ?? env.HOST ?? '127.0.0.1';
  if (host.trim() === '') problems.push('HOST: must not be empty.');

  const publicUrl = (
    env.PUBLIC_URL ||
    `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${flags.port ?? env.PORT ?? 8080}`
  ).replace(/\/+$/, '');
  const config: Config = {
    port: parseInteger('PORT', flags.port ?? env.PORT, 8080, 0, 65535, problems),
    host,
    dataDir,
    database: usesPostgres
      ? {
          engine: 'postgres',
          url: databaseUrl,
          poolSize: parseInteger('DATABASE_POOL_SIZE', env.DATABASE_POOL_SIZE, 16, 1, 1000, problems),
        }
      : { engine: 'sqlite', file: resolve(dataDir, 'plugboard.db') },
    masterKeys,
    masterKeyFile: resolve(dataDir, 'master.key'),
    adminKey,
    logLevel,
    bodyLimit: parseInteger('BODY_LIMIT', env.BODY_LIMIT, 1024 * 1024, 1024, 64 * 1024 * 1024, problems),
    requireIfMatch: flags.requireIfMatch ?? parseBoolean('REQUIRE_IF_MATCH', env.REQUIRE_IF_MATCH, problems) ?? false,
    publicUrl,
    isPublicUrlSet: Boolean(env.PUBLIC_URL),
    reconcileIntervalMs: parseInteger(
      'RECONCILE_INTERVAL_MS',
      env.RECONCILE_INTERVAL_MS,
      5000,
      100,
      3_600_000,
      problems,
    ),
    shutdownDrainMs: parseInteger('SHUTDOWN_DRAIN_MS', env.SHUTDOWN_DRAIN_MS, 0, 0, 600_000, problems),
    connectionTestTimeoutMs: parseInteger(
      'CONNECTION_TEST_TIMEOUT_MS',
      env.CONNECTION_TEST_TIMEOUT_MS,
      5000,
      100,
      120_000,
      problems,
    ),
    redisUrl: env.REDIS_URL || undefined,
    nodeId: env.NODE_ID || `node-${randomBytes(6).toString('hex')}`,
    connections: {
      max: parseInteger('MAX_CONNECTIONS', env.MAX_CONNECTIONS, 10_000, 1, 1_000_000, problems),
      headersTimeoutMs: parseInteger('HEADERS_TIMEOUT_MS', env.HEADERS_TIMEOUT_MS, 10_000, 100, 600_000, problems),
      requestTimeoutMs: parseInteger('REQUEST_TIMEOUT_MS', env.REQUEST_TIMEOUT_MS, 60_000, 100, 3_600_000, problems),
      keepAliveTimeoutMs: parseInteger(
        'KEEP_ALIVE_TIMEOUT_MS',
        env.KEEP_ALIVE_TIMEOUT_MS,
        72_000,
        100,
        600_000,
        problems,
      ),
    },
    metricsToken: env.METRICS_TOKEN || undefined,
    huaweiFabricTimeoutMs: parseInteger(
      'HUAWEI_FABRIC_TIMEOUT_MS',
      env.HUAWEI_FABRIC_TIMEOUT_MS,
      30_000,
      10,
      600_000,
      problems,
    ),
    gateway: {
      upstreamTimeoutMs: parseInteger(
        'GATEWAY_UPSTREAM_TIMEOUT_MS',
        env.GATEWAY_UPSTREAM_TIMEOUT_MS,
        30_000,
        100,
        600_000,
        problems,
      ),
      maxResponseBytes: parseInteger(
        'GATEWAY_MAX_RESPONSE_BYTES',
        env.GATEWAY_MAX_RESPONSE_BYTES,
        10 * 1024 * 1024,
        1024,
        256 * 1024 * 1024,
        problems,
      ),
      sessionTtlSeconds: parseInteger(
        'MCP_SESSION_TTL_SECONDS',
        env.MCP_SESSION_TTL_SECONDS,
        24 * 3600,
        60,
        30 * 24 * 3600,
        problems,
      ),
      rateLimit: parseRateLimit(env, 'GATEWAY', { perSecond: 50, burst: 50 }, problems),
      maxBatchItems: parseInteger('GATEWAY_MAX_BATCH_ITEMS', env.GATEWAY_MAX_BATCH_ITEMS, 20, 1, 1000, problems),
      maxAnswerBytes: parseInteger(
        'GATEWAY_MAX_ANSWER_BYTES',
        env.GATEWAY_MAX_ANSWER_BYTES,
        32 * 1024 * 1024,
        1024,
        1024 * 1024 * 1024,
        problems,
      ),
      maxStreamsPerClient: parseInteger(
        'GATEWAY_MAX_STREAMS_PER_CLIENT',
        env.GATEWAY_MAX_STREAMS_PER_CLIENT,
        10,
        1,
        10_000,
        problems,
      ),
      allowedOrigins: parseAllowedOrigins(publicUrl, env.ALLOWED_ORIGINS, problems),
    },
    bailianRateLimit: parseBailianRateLimit(env, problems),
    rateLimits: {
      read: parseRateLimit(env, 'READ', { perSecond: 100, burst: 200 }, problems),
      write: parseRateLimit(env, 'WRITE', { perSecond: 50, burst: 100 }, problems),
    },
    egress: {
      denyPrivate: parseBoolean('EGRESS_DENY_PRIVATE', env.EGRESS_DENY_PRIVATE, problems) ?? false,
      allow: egressAllow.allow,
    },
    toolsets: parseToolsetLimits(env, problems),
    oauth: {
      accessTokenTtlSeconds: parseInteger(
        'OAUTH_ACCESS_TOKEN_TTL_SECONDS',
        env.OAUTH_ACCESS_TOKEN_TTL_SECONDS,
        600,
        30,
        3600,
        problems,
      ),
      refreshTokenTtlSeconds: parseInteger(
        'OAUTH_REFRESH_TOKEN_TTL_SECONDS',
        env.OAUTH_REFRESH_TOKEN_TTL_SECONDS,
        30 * 24 * 3600,
        300,
        365 * 24 * 3600,
        problems,
      ),
      clients: parseOAuthClients(env.OAUTH_CLIENTS, problems),
      metadataDocumentMaxBytes: parseInteger(
        'OAUTH_METADATA_DOCUMENT_MAX_BYTES',
        env.OAUTH_METADATA_DOCUMENT_MAX_BYTES,
        5 * 1024,
        512,
        64 * 1024,
        problems,
      ),
    },
    people: {
      sessionTtlSeconds: parseInteger(
        'SESSION_TTL_SECONDS',
        env.SESSION_TTL_SECONDS,
        12 * 3600,
        60,
        90 * 24 * 3600,
        problems,
      ),
      sessionIdleSeconds: parseInteger(
        'SESSION_IDLE_SECONDS',
        env.SESSION_IDLE_SECONDS,
        2 * 3600,
        60,
        90 * 24 * 3600,
        problems,
      ),
      lockoutAttempts: parseInteger('SIGN_IN_LOCKOUT_ATTEMPTS', env.SIGN_IN_LOCKOUT_ATTEMPTS, 5, 1, 1000, problems),
      lockoutSeconds: parseInteger(
        'SIGN_IN_LOCKOUT_SECONDS',
        env.SIGN_IN_LOCKOUT_SECONDS,
        900,
        1,
        30 * 24 * 3600,
        problems,
      ),
      signInPerMinute: parseInteger('SIGN_IN_PER_MINUTE', env.SIGN_IN_PER_MINUTE, 10, 0, 100_000, problems),
      invitationTtlSeconds: parseInteger(
        'INVITATION_TTL_SECONDS',
        env.INVITATION_TTL_SECONDS,
        7 * 24 * 3600,
        60,
        90 * 24 * 3600,
        problems,
      ),
    },
    upstreamOAuth: {
      refreshMarginSeconds: parseInteger(
        'OAUTH_REFRESH_MARGIN_SECONDS',
        env.OAUTH_REFRESH_MARGIN_SECONDS,
        60,
        0,
        24 * 3600,
        problems,
      ),
      connectTtlSeconds: parseInteger(
        'OAUTH_CONNECT_TTL_SECONDS',
        env.OAUTH_CONNECT_TTL_SECONDS,
        600,
        30,
        3600,
        problems,
      ),
      connectLinkTtlSeconds: parseInteger(
        'OAUTH_CONNECT_LINK_TTL_SECONDS',
        env.OAUTH_CONNECT_LINK_TTL_SECONDS,
        7 * 24 * 3600,
        60,
        30 * 24 * 3600,
        problems,
      ),
      tokenTimeoutMs: parseInteger(
        'OAUTH_TOKEN_TIMEOUT_MS',
        env.OAUTH_TOKEN_TIMEOUT_MS,
        10_000,
        100,
        120_000,
        problems,
      ),
      refreshAttempts: parseInteger('OAUTH_REFRESH_ATTEMPTS', env.OAUTH_REFRESH_ATTEMPTS, 3, 1, 10, problems),
    },
    webhooks: {
      timeoutMs: parseInteger('WEBHOOK_TIMEOUT_MS', env.WEBHOOK_TIMEOUT_MS, 10_000, 100, 120_000, problems),
      maxAttempts: parseInteger('WEBHOOK_MAX_ATTEMPTS', env.WEBHOOK_MAX_ATTEMPTS, 8, 1, 50, problems),
      retryBaseMs: parseInteger('WEBHOOK_RETRY_BASE_MS', env.WEBHOOK_RETRY_BASE_MS, 30_000, 10, 3600_000, problems),
      retryMaxDelayMs: parseInteger(
        'WEBHOOK_RETRY_MAX_DELAY_MS',
        env.WEBHOOK_RETRY_MAX_DELAY_MS,
        3600_000,
        10,
        24 * 3600_000,
        problems,
      ),
      pollIntervalMs: parseInteger(
        'WEBHOOK_POLL_INTERVAL_MS',
        env.WEBHOOK_POLL_INTERVAL_MS,
        1000,
        10,
        60_000,
        problems,
      ),
      concurrency: parseInteger('WEBHOOK_CONCURRENCY', env.WEBHOOK_CONCURRENCY, 8, 1, 256, problems),
      keepPerWebhook: parseInteger(
        'WEBHOOK_DELIVERIES_KEPT',
        env.WEBHOOK_DELIVERIES_KEPT,
        1000,
        1,
        1_000_000,
        problems,
      ),
      retentionDays: parseInteger(
        'WEBHOOK_DELIVERY_RETENTION_DAYS',
        env.WEBHOOK_DELIVERY_RETENTION_DAYS,
        30,
        1,
        3650,
        problems,
      ),
    },
    oidc: parseOidc(env, problems),
  };
  if (!/^https?:\/\/[^/]+/.test(config.publicUrl))
    problems.push('PUBLIC_URL: expected an absolute http(s) URL such as https://plugboard.example.com.');
  // A path prefix is fine (behind a proxy that strips it); a query or fragment would end up inside every URL.
  else if (/[?#]/.test(config.publicUrl))
    problems.push(
      'PUBLIC_URL: expected no query or fragment (a path prefix such as https://hub.example.com/plugboard is fine).',
    );
  if (!/^[\x21-\x7e]{1,128}$/.test(config.nodeId)) problems.push('NODE_ID: expected 1–128 visible ASCII characters.');
  // Node refuses a server whose header timeout is longer than its request timeout.
  if (config.connections.headersTimeoutMs > config.connections.requestTimeoutMs)
    problems.push('HEADERS_TIMEOUT_MS: must not be longer than REQUEST_TIMEOUT_MS.');
  if (config.metricsToken !== undefined && !/^[\x21-\x7e]{16,512}$/.test(config.metricsToken)) {
    problems.push('METRICS_TOKEN: expected 16–512 visible ASCII characters (try: openssl rand -hex 32).');
  }
  if (config.redisUrl !== undefined && !/^rediss?:\/\//.test(config.redisUrl)) {
    problems.push('REDIS_URL: expected a redis:// or rediss:// URL.');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
