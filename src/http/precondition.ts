import type { FastifyRequest } from 'fastify';
import { parseEtagList, type Precondition } from '../domain/etag.js';
import { DomainError } from '../domain/errors.js';
import type { Actor } from '../services/actor.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set by the auth hook on every /api/v1 route. */
    actor: Actor;
  }
}

/** Options every route module that writes receives from the server (native API and dialects alike). */
export interface RouteOptions {
  readonly requireIfMatch: boolean;
}

/**
 * The caller's If-Match, for the service to check inside its write. With `requireIfMatch` on, a write
 * without one is refused (428) so that nobody overwrites a change they never saw.
 */
export function preconditionOf(request: FastifyRequest, options: RouteOptions): Precondition {
  const ifMatch = parseEtagList(request.headers['if-match']);
  if (ifMatch === undefined && options.requireIfMatch) {
    throw new DomainError(
      'precondition-required',
      'This server requires If-Match on updates and deletes: send the ETag you last read.',
    );
  }
  return ifMatch === undefined ? {} : { ifMatch };
}
