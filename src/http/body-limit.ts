import type { FastifyRequest, RouteShorthandOptions } from 'fastify';

/** The route config that names the setting behind a route's own body limit (Fastify's `bodyLimit` option). */
interface BodyLimitConfig {
  readonly bodyLimitSetting?: string;
}

/** The limit a request's body was held to: bytes and the setting that sets it, for the 413 to name. */
export interface BodyLimit {
  readonly bytes: number;
  readonly setting: string;
}

/**
 * The route options of a route that accepts an OpenAPI document (toolset create, replace, patch; DevS
 * CreateToolset and UpdateToolset): its own body limit, `bytes` (the larger of BODY_LIMIT and
 * TOOLSET_MAX_DOCUMENT_BYTES), named in its 413. Every other route keeps the server's BODY_LIMIT.
 *
 * @example
 * app.post('/toolsets', { ...documentBodyLimit(64 * 1024 * 1024), schema }, handler);
 */
export function documentBodyLimit(bytes: number): Pick<RouteShorthandOptions, 'bodyLimit' | 'config'> {
  const config: BodyLimitConfig = { bodyLimitSetting: 'TOOLSET_MAX_DOCUMENT_BYTES' };
  return { bodyLimit: bytes, config: config as RouteShorthandOptions['config'] };
}

/** The body limit `request`'s route held it to: its own, or the server's BODY_LIMIT. */
export function bodyLimitOf(request: FastifyRequest): BodyLimit {
  const config = request.routeOptions.config as BodyLimitConfig | undefined;
  return { bytes: request.routeOptions.bodyLimit, setting: config?.bodyLimitSetting ?? 'BODY_LIMIT' };
}

/** "The request body is over 1,048,576 bytes, the most this route accepts (BODY_LIMIT)." */
export function bodyTooLargeMessage({ bytes, setting }: BodyLimit): string {
  return `The request body is over ${bytes.toLocaleString('en')} bytes, the most this route accepts (${setting}).`;
}
