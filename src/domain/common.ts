import { Type, type TSchema } from '@sinclair/typebox';
import { SLUG_PATTERN } from './ids.js';

/** A field the caller may leave out or set to null; either way it ends up unset. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]));

export const Slug = Type.String({ pattern: SLUG_PATTERN, description: '1–64 letters, digits, "_" or "-".' });

export const HttpUrl = Type.String({
  format: 'uri',
  pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
  maxLength: 2048,
  description: 'An absolute http(s) URL.',
});

export const Variable = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$' }),
    value: Type.String({ maxLength: 8192 }),
  },
  { additionalProperties: false },
);

export const Variables = Type.Array(Variable, { maxItems: 200 });

/** Labels: each key (1–128 characters) holds a list of values. */
export const Tags = Type.Record(
  Type.String({ minLength: 1, maxLength: 128 }),
  Type.Array(Type.String({ maxLength: 256 }), { maxItems: 50 }),
  {
    maxProperties: 50,
  },
);

export interface Variable {
  readonly name: string;
  readonly value: string;
}

/** Fields every stored resource carries and the server alone manages. */
/** A resource that has a uid: minted at creation, never reused when its names are (see src/domain/ids.ts). */
export interface Identified {
  readonly uid: string;
}

export interface Stored {
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly revision: number;
}

/** Variables in canonical form (`{name, value}` in that key order), so stored JSON compares byte for byte. */
export function canonicalVariables(variables: readonly Variable[]): Variable[] {
  return variables.map((v) => ({ name: v.name, value: v.value }));
}

/** Names that appear twice in a list, for "must be unique" errors. */
export function duplicateIndexes<T>(items: readonly T[], keyOf: (item: T) => string): number[] {
  const seen = new Set<string>();
  const duplicates: number[] = [];
  items.forEach((item, index) => {
    const key = keyOf(item);
    if (seen.has(key)) duplicates.push(index);
    seen.add(key);
  });
  return duplicates;
}

/** Structural equality of JSON-like values, used to detect updates that change nothing. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => sameJson(item, b[index]));
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * `next` with each top-level field that did not change (not among `changed`, the names `changedFields` gave:
 * `content.password` counts as `content`) holding `current`'s own value, which is JSON-equal to it. A store writes a
 * JSON column only when its value is not the very object it read, so an unchanged part of a replaced resource is
 * neither serialised nor written again.
 */
export function sharingUnchanged<T extends object>(current: T, next: T, changed: readonly string[]): T {
  const names = new Set(changed.map((label) => label.split('.')[0]!));
  const shared = { ...next } as Record<string, unknown>;
  const before = current as Record<string, unknown>;
  for (const name of Object.keys(shared))
    if (!names.has(name) && Object.hasOwn(before, name)) shared[name] = before[name];
  return shared as T;
}
