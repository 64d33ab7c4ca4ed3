import { isRecord } from './json-pointer.js';
import { annotationKeywords } from './schema-keywords.js';

export type JsonSchema = boolean | Readonly<Record<string, unknown>>;

/**
 * Folds allOf parts into one schema where that keeps the meaning: properties and required are united,
 * types intersected, descriptions taken from the last part that has one. Parts that are references
 * (cycles kept in $defs) or nested allOf stay in an `allOf` beside the merged keywords; on any real
 * conflict (two different patterns, disjoint types) every part stays in `allOf` unmerged.
 */
export function mergeAllOf(parts: readonly JsonSchema[]): JsonSchema {
  const plain: Readonly<Record<string, unknown>>[] = [];
  const kept: JsonSchema[] = [];
  for (const part of parts) {
    if (part === true || (isRecord(part) && Object.keys(part).length === 0)) continue;
    if (isRecord(part) && !('$ref' in part) && !('allOf' in part)) plain.push(part);
    else kept.push(part);
  }
  const merged = plain.reduce<Record<string, unknown> | null>((into, part) => into && mergeInto(into, part), {});
  if (merged === null) return Object.freeze({ allOf: parts });
  if (kept.length === 0) return Object.freeze(merged);
  if (kept.length === 1 && Object.keys(merged).length === 0) return kept[0] as JsonSchema;
  return Object.freeze({ ...merged, allOf: kept });
}

/** Merges `part` into a fresh copy of `into`, or returns null when the two constrain the same keyword differently. */
function mergeInto(
  into: Readonly<Record<string, unknown>>,
  part: Readonly<Record<string, unknown>>,
): Record<string, unknown> | null {
  const out: Record<string, unknown> = { ...into };
  for (const [keyword, value] of Object.entries(part)) {
    const current = out[keyword];
    if (current === undefined || annotationKeywords.has(keyword)) {
      out[keyword] = value;
    } else if (keyword === 'properties') {
      out[keyword] = mergeProperties(current as Record<string, JsonSchema>, value as Record<string, JsonSchema>);
    } else if (keyword === 'required') {
      out[keyword] = [...new Set([...(current as string[]), ...(value as string[])])];
    } else if (keyword === 'type') {
      const type = intersectTypes(current, value);
      if (type === null) return null;
      out[keyword] = type;
    } else if (!isSameValue(current, value)) {
      return null;
    }
  }
  return out;
}

function mergeProperties(
  a: Readonly<Record<string, JsonSchema>>,
  b: Readonly<Record<string, JsonSchema>>,
): Record<string, JsonSchema> {
  const entries = Object.entries(a).map(([name, schema]): [string, JsonSchema] => {
    const other = Object.hasOwn(b, name) ? b[name] : undefined;
    return [name, other === undefined || isSameValue(schema, other) ? schema : mergeAllOf([schema, other])];
  });
  const added = Object.entries(b).filter(([name]) => !Object.hasOwn(a, name));
  // fromEntries defines own properties, so a property named "__proto__" stays a property.
  return Object.fromEntries([...entries, ...added]);
}

function intersectTypes(a: unknown, b: unknown): unknown {
  const left = new Set(Array.isArray(a) ? (a as string[]) : [a as string]);
  const right = new Set(Array.isArray(b) ? (b as string[]) : [b as string]);
  // An integer is a number, so {number} ∩ {integer} is {integer}.
  if (left.has('number')) left.add('integer');
  if (right.has('number')) right.add('integer');
  const both = [...left].filter((type) => right.has(type));
  const kept = both.includes('number') ? both.filter((type) => type !== 'integer') : both;
  if (kept.length === 0) return null;
  return kept.length === 1 ? kept[0] : kept;
}

function isSameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
