import type { FastifyInstance } from 'fastify';
import type { ConnectorService } from '../../../services/connector-service.js';
import type { RateLimit, RateLimiter } from '../../../rate-limit/rate-limiter.js';
import { registerAlibabaAuth, type SigningDeps } from '../signed-requests.js';
import { registerPrincipalRateLimit } from '../../../http/rate-limit.js';
import { throttled } from '../throttle.js';
import { sendBailianError } from './errors.js';
import { bailianRoutes } from './routes.js';

export interface BailianOptions extends SigningDeps {
  readonly connectors: ConnectorService;
  readonly rateLimiter: RateLimiter;
  readonly rateLimit: RateLimit | undefined;
  readonly rateLimits: { read: RateLimit | undefined; write: RateLimit | undefined };
}

/** Alibaba Cloud Model Studio (Bailian) connectors, as `@alicloud/bailian20231229` calls them, signed with ACS3. */
export async function bailianDialect(app: FastifyInstance, options: BailianOptions): Promise<void> {
  app.setErrorHandler(sendBailianError);
  registerAlibabaAuth(app, options, { acceptRpcSignature: false });
  registerPrincipalRateLimit(app, options.rateLimiter, options.rateLimits, throttled);
  await bailianRoutes(app, options);
}
