import { cutText } from '../domain/cut-text.js';
import { isRecord } from './json-pointer.js';
import type { JsonSchema } from './merge-all-of.js';

/** A tool's input schema as stored: its shared parts are `{"$ref": "#/$defs/Name"}` into the toolset's definitions. */
export type StoredSchema = Readonly<Record<string, unknown>>;
export type Definitions = Readonly<Record<string, JsonSchema>>;

const DEFS_PREFIX = '#/$defs/';

/** The definitions a schema refers to directly, in the order met. */
function directRefs(schema: unknown, into: Set<string>): Set<string> {
  const stack: unknown[] = [schema];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (const item of node) if (typeof item === 'object' && item !== null) stack.push(item);
    } else if (isRecord(node)) {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string' && value.startsWith(DEFS_PREFIX))
          into.add(value.slice(DEFS_PREFIX.length));
        else if (key === 'enum' || key === 'const' || key === 'default' || key === 'examples') continue;
        else if (typeof value === 'object' && value !== null) stack.push(value);
      }
    }
  }
  return into;
}

/** What each definition refers to directly, worked out once per definitions object. */
const refsOfDefinitions = new WeakMap<object, Map<string, ReadonlySet<string>>>();

function refsOf(definitions: Definitions, name: string): ReadonlySet<string> {
  let known = refsOfDefinitions.get(definitions);
  if (!known) refsOfDefinitions.set(definitions, (known = new Map<string, ReadonlySet<string>>()));
  let refs = known.get(name);
  if (!refs) known.set(name, (refs = directRefs(definitions[name], new Set())));
  return refs;
}

/** The names of the definitions a stored schema needs, those they need in turn included; sorted. */
export function neededDefinitions(schema: StoredSchema, definitions: Definitions): string[] {
  const needed = new Set<string>();
  const queue = [...directRefs(schema, new Set())];
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
    if (needed.has(name) || !Object.hasOwn(definitions, name)) continue;
    needed.add(name);
    queue.push(...refsOf(definitions, name));
  }
  return [...needed].sort();
}

/**
 * A stored tool schema made self-contained: the definitions it needs (and only those) under its own `$defs`.
 * This is the full schema: what a call is validated against, and what `describe_tool` gives on `full: true`.
 */
export function assembleInputSchema(schema: StoredSchema, definitions: Definitions): Record<string, unknown> {
  const names = neededDefinitions(schema, definitions);
  if (names.length === 0) return { ...schema };
  return { ...schema, $defs: Object.fromEntries(names.map((name) => [name, definitions[name]])) };
}

export interface CompactionOptions {
  /** The most bytes (UTF-8 JSON) the served schema may have. */
  readonly maxBytes: number;
  /** The description a collapsed level gets: what the client can do to see it in full. */
  readonly collapsedNote: string;
}

/** Descriptions longer than this are cut once a schema is over its budget. */
export const MAX_COMPACT_DESCRIPTION = 160;
/** The deepest level compaction tries to keep before it collapses what lies below. */
const DEEPEST_KEPT = 6;
/** Keywords whose values are subschemas one level further down (a property, an item). */
const DEEPER = ['properties', 'patternProperties', 'items', 'prefixItems', 'additionalProperties', 'contains'];
/** Keywords whose values are subschemas at the same level (alternatives of one value). */
const SAME_LEVEL = ['anyOf', 'oneOf', 'allOf', 'not', 'if', 'then', 'else'];
/** Annotations that only inform; dropping them changes no verdict. */
const DROPPED_ANNOTATIONS = new Set(['examples', 'example', '$comment', 'title']);

const sizeOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/**
 * Duplicate items of every `required` list removed, everywhere in the schema (strict validators refuse them).
 * Returns the same object when nothing changed.
 */
export function withoutDuplicateRequired(schema: JsonSchema): JsonSchema {
  const seen = new WeakMap<object, unknown>();
  function walk(node: unknown): unknown {
    if (typeof node !== 'object' || node === null) return node;
    if (seen.has(node)) return seen.get(node);
    seen.set(node, node);
    let changed = false;
    let out: unknown;
    if (Array.isArray(node)) {
      const items = node.map((item) => {
        const next = walk(item);
        if (next !== item) changed = true;
        return next;
      });
      out = changed ? items : node;
    } else {
      const entries = Object.entries(node).map(([key, value]): [string, unknown] => {
        if (key === 'enum' || key === 'const' || key === 'default' || key === 'examples') return [key, value];
        const next = key === 'required' && Array.isArray(value) ? dedupe(value) : walk(value);
        if (next !== value) changed = true;
        return [key, next];
      });
      out = changed ? Object.fromEntries(entries) : node;
    }
    seen.set(node, out);
    return out;
  }
  return walk(schema) as JsonSchema;
}

function dedupe(items: readonly unknown[]): readonly unknown[] {
  const unique = [...new Set(items)];
  return unique.length === items.length ? items : unique;
}

/**
 * A self-contained input schema within `maxBytes`, by these steps in order, each taken only while the schema is
 * still over the budget (the rules in docs/mcp-gateway.md):
 * 1. duplicate `required` items are removed (always);
 * 2. annotations that only inform (`examples`, `title`, `$comment`) are dropped and descriptions cut to
 *    {@link MAX_COMPACT_DESCRIPTION} characters;
 * 3. levels below depth 6, then 5, … then 0 are collapsed (references followed, so no `$defs` remain; the top-level
 *    properties are depth 1, and at depth 0 only the optional ones collapse): a collapsed schema keeps only its
 *    `type` (and an `enum` of at most 200 bytes) and says in its description how to see the rest (`collapsedNote`);
 * 4. optional top-level properties lose their descriptions, then are left out (the root then allows other
 *    properties, and says so).
 * The root's `required` list and each top-level property's `type`, `enum` and `const` are never changed, so
 * a client that fills the required arguments by this schema sends what the full schema asks for. Deterministic:
 * the same schema and options give the same result.
 */
export function compactInputSchema(
  schema: Readonly<Record<string, unknown>>,
  options: CompactionOptions,
): Record<string, unknown> {
  const deduped = withoutDuplicateRequired(schema) as Record<string, unknown>;
  if (sizeOf(deduped) <= options.maxBytes) return deduped;
  const trimmed = trimAnnotations(deduped) as Record<string, unknown>;
  if (sizeOf(trimmed) <= options.maxBytes) return trimmed;
  const defs = isRecord(trimmed.$defs) ? (trimmed.$defs as Definitions) : {};
  let smallest: Record<string, unknown> | null = null;
  for (let depth = DEEPEST_KEPT; depth >= 0; depth--) {
    const collapsed = collapseBelow(trimmed, defs, depth, options);
    if (collapsed === null) continue;
    if (sizeOf(collapsed) <= options.maxBytes) return collapsed;
    smallest = collapsed;
  }
  smallest ??= collapseBelow(trimmed, defs, 0, { ...options, maxBytes: Number.POSITIVE_INFINITY })!;
  return withoutOptionalProperties(smallest, options.maxBytes);
}

function trimAnnotations(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(trimAnnotations);
  if (!isRecord(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED_ANNOTATIONS.has(key)) continue;
    if (key === 'enum' || key === 'const' || key === 'default' || key === 'required') out[key] = value;
    else if (key === 'description' && typeof value === 'string') out[key] = cutText(value, MAX_COMPACT_DESCRIPTION);
    else if (key === 'properties' || key === 'patternProperties' || key === '$defs' || key === 'dependentSchemas')
      out[key] = isRecord(value)
        ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, trimAnnotations(sub)]))
        : value;
    else out[key] = typeof value === 'object' && value !== null ? trimAnnotations(value) : value;
  }
  return out;
}

/**
 * The schema with references followed (inlined) down to `depth` and every level below it collapsed; null when
 * the result would grow past the budget on the way (a wide tree several levels deep), so the next depth is tried.
 */
function collapseBelow(
  root: Readonly<Record<string, unknown>>,
  defs: Definitions,
  depth: number,
  options: CompactionOptions,
): Record<string, unknown> | null {
  // Every node written costs at least this many bytes: the walk stops once the output is certainly too large.
  let nodes = 0;
  const maxNodes = Number.isFinite(options.maxBytes) ? Math.ceil(options.maxBytes / 8) : Number.POSITIVE_INFINITY;
  const resolve = (node: JsonSchema, hops: number): JsonSchema => {
    let current = node;
    for (let i = 0; i < 16 && isRecord(current) && typeof current.$ref === 'string'; i++) {
      const ref = current.$ref;
      if (!ref.startsWith(DEFS_PREFIX)) return current;
      const target = defs[ref.slice(DEFS_PREFIX.length)];
      if (target === undefined) return current;
      // A reference with siblings (3.1): the siblings stay beside the target's keywords.
      const siblings: Record<string, unknown> = { ...current };
      delete siblings.$ref;
      current = Object.keys(siblings).length === 0 ? target : isRecord(target) ? { ...target, ...siblings } : target;
      if (hops + i > 4 * DEEPEST_KEPT) break;
    }
    return current;
  };

  const required = new Set(Array.isArray(root.required) ? (root.required as unknown[]) : []);

  /** `keep`: a required top-level property, never collapsed itself (its type and enum stay exact). */
  function walk(node: JsonSchema, level: number, hops: number, keep = false): JsonSchema | null {
    if (++nodes > maxNodes) return null;
    const schema = resolve(node, hops);
    if (!isRecord(schema)) return schema;
    if ((level > depth && !keep) || hops > 4 * DEEPEST_KEPT) return collapsed(schema, options.collapsedNote);
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(schema)) {
      if (key === '$defs' || key === '$ref') continue;
      if (key === 'properties' || key === 'patternProperties') {
        if (!isRecord(value)) continue;
        const properties: Record<string, unknown> = {};
        for (const [name, sub] of Object.entries(value)) {
          const keep = level === 0 && key === 'properties' && required.has(name);
          const next = walk(sub as JsonSchema, level + 1, hops + 1, keep);
          if (next === null) return null;
          properties[name] = next;
        }
        out[key] = properties;
      } else if (DEEPER.includes(key) || SAME_LEVEL.includes(key)) {
        const nextLevel = DEEPER.includes(key) ? level + 1 : level;
        if (Array.isArray(value)) {
          const items: JsonSchema[] = [];
          for (const item of value) {
            const next = walk(item as JsonSchema, nextLevel, hops + 1);
            if (next === null) return null;
            items.push(next);
          }
          out[key] = items;
        } else if (typeof value === 'boolean' || isRecord(value)) {
          const next = walk(value, nextLevel, hops + 1);
          if (next === null) return null;
          out[key] = next;
        } else out[key] = value;
      } else if (key === 'dependentSchemas' || key === 'propertyNames' || key === 'unevaluatedProperties') {
        // Rarely used: left out below the root rather than followed (leaving them out only loosens the schema).
        if (level === 0) out[key] = value;
      } else out[key] = value;
    }
    // Collapsed parts may refer to nothing now; what is kept never needs $defs, since every reference was followed.
    return out;
  }

  const result = walk(root, 0, 0);
  return result === null ? null : (result as Record<string, unknown>);
}

/** A collapsed level keeps its `enum` when the list is at most this many bytes of JSON. */
const MAX_KEPT_ENUM = 200;

/** A collapsed level: its type (so a value of the right kind is still asked for), a short enum, and the note. */
function collapsed(schema: Readonly<Record<string, unknown>>, note: string): JsonSchema {
  const out: Record<string, unknown> = {};
  if (typeof schema.type === 'string' || Array.isArray(schema.type)) out.type = schema.type;
  else if (isRecord(schema.properties)) out.type = 'object';
  else if (schema.items !== undefined) out.type = 'array';
  // A short list of allowed values costs little and spares the client a describe_tool.
  if (Array.isArray(schema.enum) && JSON.stringify(schema.enum).length <= MAX_KEPT_ENUM) out.enum = schema.enum;
  out.description = note;
  return out;
}

/** The last step: optional top-level properties lose their descriptions, then are left out. */
function withoutOptionalProperties(schema: Record<string, unknown>, maxBytes: number): Record<string, unknown> {
  if (!isRecord(schema.properties)) return schema;
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  const properties = { ...(schema.properties as Record<string, JsonSchema>) };
  for (const [name, sub] of Object.entries(properties)) {
    if (required.has(name) || !isRecord(sub) || sub.description === undefined) continue;
    const rest: Record<string, unknown> = { ...sub };
    delete rest.description;
    properties[name] = rest;
  }
  let out: Record<string, unknown> = { ...schema, properties };
  if (sizeOf(out) <= maxBytes) return out;
  const optional = Object.keys(properties).filter((name) => !required.has(name));
  const kept = Object.fromEntries(Object.entries(properties).filter(([name]) => required.has(name)));
  const rest: Record<string, unknown> = { ...out };
  delete rest.additionalProperties;
  const left = `${optional.length} optional arguments are not listed here to keep this schema short (${optional.slice(0, 20).join(', ')}${optional.length > 20 ? ', …' : ''}); they are still accepted.`;
  out = {
    ...rest,
    properties: kept,
    description: typeof rest.description === 'string' ? `${cutText(rest.description, 200)} ${left}` : left,
  };
  return out;
}
