import { childPointer, isRecord, refPointer, valueAt } from './json-pointer.js';
import { OpenApiError } from './openapi-error.js';

/** An OpenAPI object with its `$ref` chain followed, and the pointer where it really lives (for error messages). */
export interface Located {
  readonly value: Readonly<Record<string, unknown>>;
  readonly pointer: string;
}

/** Follows `$ref`s (parameters, request bodies, path items) until a real object; `what` names it in errors. */
export function derefObject(root: unknown, value: unknown, pointer: string, what: string): Located {
  const seen = new Set<string>();
  let current = value;
  let at = pointer;
  while (isRecord(current) && '$ref' in current) {
    const refAt = childPointer(at, '$ref');
    if (typeof current.$ref !== 'string') throw new OpenApiError('$ref must be a string', refAt);
    const target = refPointer(current.$ref, refAt);
    if (seen.has(target)) throw new OpenApiError(`$ref "${current.$ref}" refers to itself`, refAt);
    seen.add(target);
    const next = valueAt(root, target);
    if (next === undefined) throw new OpenApiError(`$ref "${current.$ref}" points to nothing`, refAt);
    current = next;
    at = target;
  }
  if (!isRecord(current)) throw new OpenApiError(`${what} must be an object`, at);
  return { value: current, pointer: at };
}
