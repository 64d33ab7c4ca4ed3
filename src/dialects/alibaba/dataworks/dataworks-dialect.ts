import type { FastifyInstance } from 'fastify';
import { registerAlibabaAuth, type SigningDeps } from '../signed-requests.js';
import { sendDataWorksError } from './errors.js';
import { dataworksRoutes, type DataWorksRouteOptions } from './routes.js';

export interface DataWorksOptions extends SigningDeps, DataWorksRouteOptions {}

/**
 * Alibaba Cloud DataWorks connections (RPC, 2020-05-18) at `/`, as the generic `@alicloud/openapi-client`
 * calls them: signed with ACS3 (its default) or the legacy HMAC-SHA1 `Signature` parameter.
 */
export async function dataworksDialect(app: FastifyInstance, options: DataWorksOptions): Promise<void> {
  app.setErrorHandler(sendDataWorksError);
  registerAlibabaAuth(app, options, { acceptRpcSignature: true });
  await dataworksRoutes(app, options);
}
