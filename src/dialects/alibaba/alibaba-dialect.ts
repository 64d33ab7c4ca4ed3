import type { FastifyInstance } from 'fastify';
import type { Dialect } from '../dialect.js';
import type { Services } from '../../services/services.js';
import type { RateLimit, RateLimiter } from '../../rate-limit/rate-limiter.js';
import { bailianDialect } from './bailian/bailian-dialect.js';
import { dataworksDialect } from './dataworks/dataworks-dialect.js';
import { devsDialect } from './devs/devs-dialect.js';
import { DEVS_VERSION } from './devs/wire.js';

export interface AlibabaDeps {
  readonly services: Pick<Services, 'accessKeys' | 'nonces' | 'connectors' | 'toolsets' | 'connections' | 'workspaces'>;
  readonly rateLimiter: RateLimiter;
  /** The native API's per-principal budgets, which the dialects spend from too. */
  readonly rateLimits: { read: RateLimit | undefined; write: RateLimit | undefined };
  /** Model Studio calls per principal and operation; undefined for none. */
  readonly bailianRateLimit: RateLimit | undefined;
  /** The body limit of CreateToolset and UpdateToolset, which carry an OpenAPI document. */
  readonly documentBodyLimit: number;
}

/**
 * Every Alibaba product plugboard speaks, each in its own encapsulated context with its own error body:
 * Model Studio connectors at `/{WorkspaceId}/datacenter/connector`, DevS toolsets under `/2023-07-14`,
 * DataWorks connections at `/` (RPC).
 */
async function register(app: FastifyInstance, options: AlibabaDeps): Promise<void> {
  const { services } = options;
  const signing = { accessKeys: services.accessKeys, nonces: services.nonces };
  const limits = { rateLimiter: options.rateLimiter, rateLimits: options.rateLimits };
  await app.register(bailianDialect, {
    ...signing,
    ...limits,
    connectors: services.connectors,
    rateLimit: options.bailianRateLimit,
  });
  await app.register(devsDialect, {
    ...signing,
    ...limits,
    toolsets: services.toolsets,
    documentBodyLimit: options.documentBodyLimit,
    prefix: `/${DEVS_VERSION}`,
  });
  await app.register(dataworksDialect, {
    ...signing,
    ...limits,
    connections: services.connections,
    workspaces: services.workspaces,
  });
}

export const alibabaDialect: Dialect<AlibabaDeps> = { name: 'alibaba', register };
