import type { IncomingHttpHeaders } from 'node:http';

/** The JSON media types the server parses: plain JSON, and merge patches (RFC 7396) for PATCH. */
export const JSON_TYPES: readonly string[] = ['application/json', 'application/merge-patch+json'];

/** Plain JSON only: what POST and PUT bodies are everywhere. */
export const JSON_ONLY: readonly string[] = ['application/json'];

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

/**
 * The body's media type when it is not one of `accepted`, undefined when it is. A request that names none ('')
 * is accepted (its body is read as JSON) unless `required`.
 *
 * @example
 * unacceptedMediaType({ 'content-type': 'text/plain' }, ['application/json']); // 'text/plain'
 * unacceptedMediaType({}, ['application/json'], { required: true }); // ''
 */
export function unacceptedMediaType(
  headers: IncomingHttpHeaders,
  accepted: readonly string[],
  options: { readonly required?: boolean } = {},
): string | undefined {
  const type = mediaTypeOf(headers);
  if (type === '' ? options.required !== true : accepted.includes(type)) return undefined;
  return type;
}
