import { OpenApiError } from './openapi-error.js';

/** Appends one reference token to a JSON Pointer, escaped per RFC 6901. */
export function childPointer(pointer: string, token: string | number): string {
  const text = String(token);
  // Most tokens need no escaping, and this runs for every schema node.
  if (!text.includes('~') && !text.includes('/')) return `${pointer}/${text}`;
  return `${pointer}/${text.replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

/** Splits a JSON Pointer into its unescaped reference tokens. */
export function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** True for a non-null, non-array object: the only shape OpenAPI objects and schemas take. */
export function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns a local `$ref` ("#/components/schemas/Pet") into a JSON Pointer; `at` is where the `$ref` sits.
 * Only same-document references are in scope: fetching other files would be I/O.
 */
export function refPointer(ref: string, at: string): string {
  if (!ref.startsWith('#'))
    throw new OpenApiError(`external $ref "${ref}" is not supported: only local "#/…" references are`, at);
  let fragment: string;
  try {
    // The fragment is URI-encoded (RFC 3986 §3.5) before it is a JSON Pointer.
    fragment = decodeURIComponent(ref.slice(1));
  } catch {
    throw new OpenApiError(`$ref "${ref}" is not a valid URI fragment`, at);
  }
  if (fragment !== '' && !fragment.startsWith('/')) throw new OpenApiError(`$ref "${ref}" is not a JSON Pointer`, at);
  return fragment;
}

/** The value a JSON Pointer names, or undefined. Own properties only, so "constructor" never finds Object's. */
export function valueAt(root: unknown, pointer: string): unknown {
  let node = root;
  for (const token of pointerTokens(pointer)) {
    if (Array.isArray(node)) {
      node = /^(0|[1-9]\d*)$/.test(token) ? node[Number(token)] : undefined;
    } else if (isRecord(node) && Object.hasOwn(node, token)) {
      node = node[token];
    } else {
      return undefined;
    }
  }
  return node;
}
