import type { FastifyRequest } from 'fastify';

/** A DNS name or IPv4 address, or a bracketed IPv6 address, then an optional port: RFC 9110 §7.2 uri-host [":" port]. */
const HOST =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/i;

/**
 * The origin the caller addressed this node at, from its Host header, for URLs shown back to that caller
 * (a toolset's MCP URL when no PUBLIC_URL is set). The client chooses the header, so anything that is not
 * plainly a host and port gives undefined, and the value is never stored.
 *
 * @example requestOriginOf(request) // 'http://plugboard.lan:8080' for "Host: plugboard.lan:8080"
 */
export function requestOriginOf(request: FastifyRequest): string | undefined {
  const host = request.headers.host;
  if (typeof host !== 'string' || host.length > 255) return undefined;
  const match = HOST.exec(host);
  if (!match || (match[1] !== undefined && Number(match[1]) > 65535)) return undefined;
  return `${request.protocol}://${host.toLowerCase()}`;
}
