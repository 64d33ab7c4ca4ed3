import type { FastifyInstance } from 'fastify';

/**
 * A vendor's API served over plugboard's services. A dialect only translates: the vendor's request → a
 * service call → the vendor's answer; validation, masking, audit and ETags happen in the core.
 *
 * @example
 * const versori: Dialect<{ services: Services }> = { name: 'versori', register: (app, deps) => app.register(versoriRoutes, deps) };
 */
export interface Dialect<Deps> {
  /** The vendor API's name, for logs and docs. */
  readonly name: string;
  /** Adds the dialect's routes, hooks and error body to `app` in scopes of its own; `deps` holds just what it uses. */
  register(app: FastifyInstance, deps: Deps): Promise<void>;
}
