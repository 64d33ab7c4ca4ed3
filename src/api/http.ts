import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { etagOf, ifNoneMatchHits, parseEtagList, type Versioned } from '../domain/etag.js';
import { DEFAULT_PAGE_SIZE, type Page, type PageRequest } from '../domain/page.js';

export function pageRequestOf(query: { limit?: number; cursor?: string }): PageRequest {
  return { limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor };
}

/** Sends one resource with its strong ETag; a GET whose If-None-Match matches gets 304 without a body. */
export function sendVersioned(
  request: FastifyRequest,
  reply: FastifyReply,
  state: Versioned,
  body: unknown,
  status = 200,
) {
  const etag = etagOf(state);
  reply.header('etag', etag);
  const ifNoneMatch = parseEtagList(request.headers['if-none-match']);
  if (request.method === 'GET' && ifNoneMatch && ifNoneMatchHits(etag, ifNoneMatch)) return reply.code(304).send();
  return reply.code(status).send(body);
}

/** Sends a list page; its ETag is a digest of the page, so a poller can ask with If-None-Match. */
export function sendPage<T>(request: FastifyRequest, reply: FastifyReply, page: Page<T>) {
  const etag = `"${createHash('sha256').update(JSON.stringify(page)).digest('base64url').slice(0, 27)}"`;
  reply.header('etag', etag);
  const ifNoneMatch = parseEtagList(request.headers['if-none-match']);
  if (ifNoneMatch && ifNoneMatchHits(etag, ifNoneMatch)) return reply.code(304).send();
  return reply.send(page);
}

/** A PUT body without the server-managed fields the schema allowed the client to echo back. */
export function withoutFields(body: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const copy = { ...body };
  for (const name of names) delete copy[name];
  return copy;
}

export const errorResponses = {
  400: { $ref: 'Problem#' },
  401: { $ref: 'Problem#' },
  403: { $ref: 'Problem#' },
  404: { $ref: 'Problem#' },
} as const;

export const writeErrorResponses = {
  ...errorResponses,
  409: { $ref: 'Problem#' },
  412: { $ref: 'Problem#' },
  428: { $ref: 'Problem#' },
} as const;
