import { childPointer, isRecord, pointerTokens, refPointer, valueAt } from './json-pointer.js';
import { mergeAllOf, type JsonSchema } from './merge-all-of.js';
import { OpenApiError } from './openapi-error.js';
import { plainKeywordValue, schemaKeywords } from './schema-keywords.js';

/** What a converted schema uses: the $defs it refers to, and its size in schema nodes once every inlined $ref is expanded. */
export interface SchemaUses {
  readonly defs: Set<string>;
  size: number;
}

/** Converts OpenAPI schemas to JSON Schema 2020-12, adding what each result uses to `uses`. */
export interface SchemaConverter {
  convert(node: unknown, pointer: string, uses: SchemaUses): JsonSchema;
  /** The $defs a tool needs for the named ones, including the ones those defs need in turn; sorted by name. */
  defsFor(names: Iterable<string>): Readonly<Record<string, JsonSchema>> | null;
  /** The $defs the named one refers to directly. */
  defsUsedBy(name: string): ReadonlySet<string>;
}

type Converted =
  | { readonly schema: JsonSchema; readonly defs: ReadonlySet<string>; readonly size: number }
  | { readonly defName: string };

// Inlining shared schemas can grow a document exponentially (ten properties referring to ten properties…); a target
// that would expand past this many nodes goes to $defs instead, which bounds every tool's size.
const maxInlineSize = 32;

/**
 * One converter per document. A `$ref` is inlined, except when its target is met again while it is still
 * being expanded (a cycle) or is very large: then the target becomes a `$defs` entry and every use of it a
 * `{"$ref": "#/$defs/Name"}`. Each target is converted once, so shared schemas cost nothing per extra use.
 */
export function createSchemaConverter(root: unknown): SchemaConverter {
  const done = new Map<string, Converted>();
  const expanding = new Set<string>();
  const cyclic = new Set<string>();
  const defs = new Map<string, { readonly schema: JsonSchema; readonly defs: ReadonlySet<string> }>();
  const defNames = new Map<string, string>();
  const taken = new Set<string>();
  const open = new Set<object>();

  function defName(target: string): string {
    const known = defNames.get(target);
    if (known !== undefined) return known;
    const base = (pointerTokens(target).at(-1) ?? 'root').replace(/[^A-Za-z0-9_.-]+/g, '_') || 'schema';
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
    defNames.set(target, name);
    taken.add(name);
    return name;
  }

  function refTo(name: string, uses: SchemaUses): JsonSchema {
    uses.defs.add(name);
    uses.size += 1;
    return Object.freeze({ $ref: `#/$defs/${name}` });
  }

  function convertRef(ref: unknown, at: string, uses: SchemaUses): JsonSchema {
    if (typeof ref !== 'string') throw new OpenApiError('$ref must be a string', at);
    const target = refPointer(ref, at);
    const known = done.get(target);
    if (known !== undefined) {
      if ('defName' in known) return refTo(known.defName, uses);
      for (const name of known.defs) uses.defs.add(name);
      uses.size += known.size;
      return known.schema;
    }
    if (expanding.has(target)) {
      cyclic.add(target);
      return refTo(defName(target), uses);
    }
    const value = valueAt(root, target);
    if (value === undefined) throw new OpenApiError(`$ref "${ref}" points to nothing`, at);
    const own: SchemaUses = { defs: new Set(), size: 0 };
    expanding.add(target);
    const schema = convert(value, target, own);
    expanding.delete(target);
    if (cyclic.has(target) || own.size > maxInlineSize) {
      const name = defName(target);
      defs.set(name, { schema, defs: own.defs });
      done.set(target, { defName: name });
      return refTo(name, uses);
    }
    done.set(target, { schema, defs: own.defs, size: own.size });
    for (const name of own.defs) uses.defs.add(name);
    uses.size += own.size;
    return schema;
  }

  function convert(node: unknown, pointer: string, uses: SchemaUses): JsonSchema {
    uses.size += 1;
    if (typeof node === 'boolean') return node;
    if (!isRecord(node)) throw new OpenApiError('a schema must be an object', pointer);
    // YAML anchors can build a schema that contains itself; without this the walk would never end.
    if (open.has(node)) throw new OpenApiError('the schema contains itself through a YAML alias', pointer);
    open.add(node);
    try {
      const parts: JsonSchema[] = [];
      if ('$ref' in node) parts.push(convertRef(node.$ref, childPointer(pointer, '$ref'), uses));
      if (Array.isArray(node.allOf)) {
        node.allOf.forEach((part, i) =>
          parts.push(convert(part, childPointer(childPointer(pointer, 'allOf'), i), uses)),
        );
      }
      const own = convertKeywords(node, pointer, uses);
      // OpenAPI 3.0 ignores $ref siblings and 3.1 applies them; merging them is right for 3.1 and harmless for 3.0's
      // usual sibling, a description.
      const schema = parts.length === 0 ? own : mergeAllOf([...parts, own]);
      return node.nullable === true || node['x-nullable'] === true ? nullable(schema) : schema;
    } finally {
      open.delete(node);
    }
  }

  function convertKeywords(node: Readonly<Record<string, unknown>>, pointer: string, uses: SchemaUses): JsonSchema {
    const out: Record<string, unknown> = {};
    for (const [keyword, value] of Object.entries(node)) {
      const kind = schemaKeywords.get(keyword);
      if (kind === undefined) continue;
      const at = childPointer(pointer, keyword);
      if (kind === 'schema') {
        // OpenAPI 3.0 and older drafts allow a list under items; 2020-12 calls that prefixItems.
        if (keyword === 'items' && Array.isArray(value))
          out.prefixItems = value.map((item, i) => convert(item, childPointer(at, i), uses));
        else out[keyword] = convert(value, at, uses);
      } else if (kind === 'schemaArray') {
        if (Array.isArray(value)) out[keyword] = value.map((item, i) => convert(item, childPointer(at, i), uses));
      } else if (kind === 'schemaMap') {
        if (isRecord(value)) out[keyword] = convertSchemaMap(keyword, value, at, uses);
      } else {
        const plain = plainKeywordValue(kind, keyword, value);
        if (plain !== undefined) out[keyword] = plain;
      }
    }
    if (node.type === 'file' && out.format === undefined) out.format = 'binary';
    if (node.example !== undefined && out.examples === undefined) out.examples = [node.example];
    exclusiveBound(node, out, 'exclusiveMinimum', 'minimum');
    exclusiveBound(node, out, 'exclusiveMaximum', 'maximum');
    if (isRecord(out.properties) && Array.isArray(out.required)) {
      const properties = out.properties;
      // Drop names whose property was dropped as readOnly; keep names of properties defined elsewhere (allOf).
      out.required = out.required.filter(
        (name: string) => Object.hasOwn(properties, name) || !declares(node.properties, name),
      );
    }
    // Some real documents list a required name twice, which strict validators refuse.
    if (Array.isArray(out.required)) out.required = [...new Set(out.required as unknown[])];
    return Object.freeze(out);
  }

  function convertSchemaMap(keyword: string, value: Readonly<Record<string, unknown>>, at: string, uses: SchemaUses) {
    const entries = Object.entries(value).map(([name, schema]): [string, JsonSchema] => [
      name,
      convert(schema, childPointer(at, name), uses),
    ]);
    // Every schema here describes a request, and a server sets readOnly properties itself.
    const kept =
      keyword === 'properties'
        ? entries.filter(([, schema]) => !(isRecord(schema) && schema.readOnly === true))
        : entries;
    return Object.freeze(Object.fromEntries(kept));
  }

  function defsFor(roots: Iterable<string>): Readonly<Record<string, JsonSchema>> | null {
    const needed = new Set<string>();
    const queue = [...roots];
    for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
      if (needed.has(name)) continue;
      needed.add(name);
      queue.push(...(defs.get(name)?.defs ?? []));
    }
    if (needed.size === 0) return null;
    const names = [...needed].sort();
    return Object.freeze(Object.fromEntries(names.map((name) => [name, defs.get(name)?.schema ?? true])));
  }

  return { convert, defsFor, defsUsedBy: (name) => defs.get(name)?.defs ?? new Set() };
}

function declares(properties: unknown, name: string): boolean {
  return isRecord(properties) && Object.hasOwn(properties, name);
}

/** OpenAPI 3.0 `nullable: true` (and Swagger's x-nullable) as a 2020-12 type union. */
function nullable(schema: JsonSchema): JsonSchema {
  if (!isRecord(schema) || Object.keys(schema).length === 0) return schema;
  if (schema.type === undefined) return Object.freeze({ anyOf: [schema, { type: 'null' }] });
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
  const out: Record<string, unknown> = { ...schema, type: types.includes('null') ? schema.type : [...types, 'null'] };
  // An enum lists every allowed value, so null must join it for the union to mean anything.
  if (Array.isArray(schema.enum) && !schema.enum.includes(null)) out.enum = [...(schema.enum as unknown[]), null];
  return Object.freeze(out);
}

/** Draft 4 (Swagger 2, OpenAPI 3.0) writes `exclusiveMinimum: true` beside `minimum`; 2020-12 wants the number. */
function exclusiveBound(
  node: Readonly<Record<string, unknown>>,
  out: Record<string, unknown>,
  exclusive: string,
  bound: string,
): void {
  if (node[exclusive] === true && typeof out[bound] === 'number') {
    out[exclusive] = out[bound];
    delete out[bound];
  }
}
