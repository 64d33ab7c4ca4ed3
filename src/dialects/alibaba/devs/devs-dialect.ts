import type { FastifyInstance } from 'fastify';
import type { RateLimit, RateLimiter } from '../../../rate-limit/rate-limiter.js';
import type { ToolsetService } from '../../../services/toolset-service.js';
import { AlibabaError } from '../errors.js';
import { registerAlibabaAuth, type SigningDeps } from '../signed-requests.js';
import { registerPrincipalRateLimit } from '../../../http/rate-limit.js';
import { throttled } from '../throttle.js';
import { sendDevsError } from './errors.js';
import { devsRoutes } from './routes.js';
import { DEVS_VERSION } from './wire.js';

export interface DevsOptions extends SigningDeps {
  readonly toolsets: ToolsetService;
  readonly rateLimiter: RateLimiter;
  readonly rateLimits: { read: RateLimit | undefined; write: RateLimit | undefined };
  /** The body limit of CreateToolset and UpdateToolset, which carry an OpenAPI document. */
  readonly documentBodyLimit: number;
}

/** Alibaba Cloud DevS toolsets under `/2023-07-14`, as `@alicloud/devs20230714` calls them, signed with ACS3. */
export async function devsDialect(app: FastifyInstance, options: DevsOptions): Promise<void> {
  app.setErrorHandler(sendDevsError);
  app.setNotFoundHandler(async () => {
    throw new AlibabaError(
      404,
      'InvalidApi.NotFound',
      `Specified api is not found, please check your url and method (DevS ${DEVS_VERSION}).`,
    );
  });
  registerAlibabaAuth(app, options, { acceptRpcSignature: false });
  registerPrincipalRateLimit(app, options.rateLimiter, options.rateLimits, throttled);
  await devsRoutes(app, options);
}
