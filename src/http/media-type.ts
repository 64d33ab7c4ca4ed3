import type { IncomingHttpHeaders } from 'node:http';

/** The JSON media types the server parses: plain JSON, and merge patches (RFC 7396) for PATCH. */
export const JSON_TYPES: readonly string[] = ['application/json', 'application/merge-patch+json'];

/**
 * The media type of a request body without its parameters, lower-cased (`application/json; charset=utf-8` →
 * `application/json`); '' when the request names none. Type and subtype are case-insensitive.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-8.3.1
 *
 * @example
 * mediaTypeOf({ 'content-type': 'Application/JSON; charset=utf-8' }); // 'application/json'
 */
export function mediaTypeOf(headers: IncomingHttpHeaders): string {
  return (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}
