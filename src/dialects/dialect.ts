import type { FastifyInstance } from 'fastify';

/**
 * A vendor's API served over plugboard's services. A dialect only translates: the vendor's request → a
 * service call → the vendor's answer; validation, masking, audit and ETags happen in the core.
 *
 * @example
 * // Deps names only what the dialect uses: `{ services: Pick<Services, 'connectors'>; rateLimiter: RateLimiter }`.
 * export const acme: Dialect<AcmeDeps> = {
 *   name: 'acme',
 *   register: async (app, deps) => {
 *     await app.register(acmeRoutes, { ...deps, prefix: '/acme' });
 *   },
 * };
 */
export interface Dialect<Deps> {
  /** The vendor API's name, for logs and docs. */
  readonly name: string;
  /** Adds the dialect's routes, hooks and error body to `app` in scopes of its own; `deps` holds just what it uses. */
  register(app: FastifyInstance, deps: Deps): Promise<void>;
}
