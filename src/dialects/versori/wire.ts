import { Type } from '@sinclair/typebox';
import { Nullable } from '../../domain/common.js';
import { fieldError, validationFailed } from '../../domain/errors.js';

// What the wire modules of Versori's resources (connector-, auth-scheme-config-, connection-, version-wire.ts) share.

/** Versori's connector protocols: the only connectors this dialect shows. */
export const VERSORI_PROTOCOLS = ['http', 'bigquery'] as const;
export type VersoriProtocol = (typeof VERSORI_PROTOCOLS)[number];

/** Core field names whose Versori names differ; used for bodies and for error field paths. */
const VERSORI_NAMES: Readonly<Record<string, string>> = {
  documentationUrl: 'documentationURL',
  iconUrl: 'imageURL',
  isPublic: 'public',
  protocolType: 'protocol',
};

/** A JSON Pointer into a request as Versori names a field: `field1.field2[0].field3` (Error.fields[].field). */
export function versoriFieldOf(pointer: string): string {
  const parts = pointer
    .split('/')
    .filter((p) => p !== '')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  // Query, path and header parameters are named by themselves.
  if (['query', 'path', 'header'].includes(parts[0] ?? '')) parts.shift();
  let field = '';
  for (const part of parts) {
    if (/^\d+$/.test(part)) field += `[${part}]`;
    else field += `${field === '' ? '' : '.'}${VERSORI_NAMES[part] ?? part}`;
  }
  return field === '' ? 'body' : field;
}

/** A field of a resource as GET returns it, accepted (and ignored) in a body that sends the resource back. */
export const ReadOnly = Type.Optional(Type.Unknown({ description: 'Read-only; ignored when sent back.' }));
/** A string Versori may leave out or send as null. */
export const OptionalText = Nullable(Type.String());

/** The body as an object; anything else is refused at the body's root. */
export const checkBodyObject = (body: unknown): Record<string, unknown> => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw fieldError('', 'must be a JSON object');
  return body as Record<string, unknown>;
};

/** Picks the variant of a body discriminated by one field, as Versori's `discriminator` does. */
export function discriminated<T>(
  body: unknown,
  field: string,
  checks: Readonly<Record<string, (value: unknown) => unknown>>,
): T {
  const object = checkBodyObject(body);
  const tag = object[field];
  if (tag === undefined) throw fieldError(`/${field}`, 'is required');
  const check = typeof tag === 'string' && Object.hasOwn(checks, tag) ? checks[tag] : undefined;
  if (!check)
    throw fieldError(
      `/${field}`,
      `must be one of: ${Object.keys(checks)
        .map((k) => JSON.stringify(k))
        .join(', ')}`,
    );
  return check(object) as T;
}

/** Re-roots the field paths of a validation error under `prefix` (a body nested in a bigger one). */
export function prefixed(error: unknown, prefix: string): unknown {
  if (prefix === '' || !(error instanceof Error) || !('errors' in error)) return error;
  const errors = (error as { errors: readonly { path: string; message: string }[] }).errors.map((e) => ({
    path: `${prefix}${e.path}`,
    message: e.message,
  }));
  return validationFailed(errors);
}
