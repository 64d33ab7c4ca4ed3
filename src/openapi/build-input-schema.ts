import type { ToolOperation, ToolParameter } from './tool-operation.js';
import { isRecord } from './json-pointer.js';
import type { JsonSchema } from './merge-all-of.js';
import type { InputParameter } from './read-parameters.js';
import type { RequestBody } from './read-request-body.js';

interface ToolInput {
  /** Without $defs: its references point into the document's shared definitions. */
  readonly inputSchema: Readonly<Record<string, unknown>>;
  /** The definitions the schema needs (what it refers to, and what those refer to in turn). */
  readonly defs: readonly string[];
  readonly parameters: readonly ToolParameter[];
  readonly body: ToolOperation['body'];
}

// Keywords a body schema may have and still be spread into the top level without changing what it accepts.
const flatKeywords = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'title',
  'description',
  'deprecated',
  '$comment',
]);

/** The most properties a shared body may have and still be spread into the top level. */
export const MAX_SPREAD_SHARED_PROPERTIES = 64;

/**
 * One object schema for a tool's arguments: parameters by name, then the body, spread into the top level when it is
 * a plain object whose property names clash with no parameter, else under `body`.
 * Two parameters with one name (say query and header `id`) cannot both be arguments; the first one listed wins.
 */
export function buildInputSchema(
  inputs: readonly InputParameter[],
  body: RequestBody | null,
  /** The $defs the tool needs; `spread` names a def whose properties were spread into the top level. */
  defsFor: (spread: string | null) => Readonly<Record<string, JsonSchema>> | null,
): ToolInput {
  let defs = defsFor(null);
  const properties: [string, JsonSchema][] = [];
  const required: string[] = [];
  const parameters: ToolParameter[] = [];
  const taken = new Set<string>();
  for (const input of inputs) {
    if (taken.has(input.name)) continue;
    taken.add(input.name);
    properties.push([input.name, input.schema]);
    if (input.required && !required.includes(input.name)) required.push(input.name);
    parameters.push({ name: input.name, in: input.in, required: input.required });
  }
  let bodyProperty: string | null = null;
  // Without a body every argument is known; with a flattened body, unknown arguments are the body's to judge.
  let additionalProperties: boolean | undefined = false;
  const bodyShape = body === null ? null : referencedDef(body.schema, defs);
  // A shared body (a definition) with many properties stays one reference under `body`: spread, its properties
  // would be copied into every tool that takes it, which is what keeping shared schemas once avoids.
  const spreadable =
    bodyShape !== null &&
    (body === null ||
      bodyShape === body.schema ||
      !isRecord(bodyShape) ||
      !isRecord(bodyShape.properties) ||
      hasAtMost(bodyShape.properties, MAX_SPREAD_SHARED_PROPERTIES));
  if (body !== null && bodyShape !== null && spreadable && isFlattenable(bodyShape, taken)) {
    const schema = bodyShape;
    if (bodyShape !== body.schema) defs = defsFor(defName(body.schema));
    properties.push(...Object.entries(schema.properties));
    for (const name of schema.required ?? []) if (!required.includes(name)) required.push(name);
    additionalProperties = schema.additionalProperties === false ? false : undefined;
  } else if (body !== null) {
    bodyProperty = ['body', 'requestBody'].find((name) => !taken.has(name)) ?? freeName(taken);
    const described = body.description !== null && isRecord(body.schema) && !('description' in body.schema);
    properties.push([
      bodyProperty,
      described ? { ...(body.schema as object), description: body.description } : body.schema,
    ]);
    if (body.required && !required.includes(bodyProperty)) required.push(bodyProperty);
  }
  const inputSchema: Record<string, unknown> = { type: 'object', properties: Object.fromEntries(properties), required };
  if (additionalProperties === false) inputSchema.additionalProperties = false;
  return {
    inputSchema: Object.freeze(inputSchema),
    defs: defs === null ? [] : Object.keys(defs),
    parameters,
    body: body === null ? null : { contentType: body.contentType, required: body.required, property: bodyProperty },
  };
}

type PlainObjectSchema = Readonly<Record<string, unknown>> & {
  readonly properties: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
};

function isFlattenable(schema: JsonSchema, taken: ReadonlySet<string>): schema is PlainObjectSchema {
  if (!isRecord(schema) || !isRecord(schema.properties)) return false;
  if (schema.type !== undefined && schema.type !== 'object') return false;
  // A schema-valued additionalProperties is a map the top level could not tell apart from parameters.
  if (schema.additionalProperties !== undefined && typeof schema.additionalProperties !== 'boolean') return false;
  if (Object.keys(schema).some((keyword) => !flatKeywords.has(keyword))) return false;
  return Object.keys(schema.properties).every((name) => !taken.has(name));
}

/** A body that is itself a cycle ({"$ref": "#/$defs/Tree"}) can still spread its properties: they refer on into $defs. */
function referencedDef(schema: JsonSchema, defs: Readonly<Record<string, JsonSchema>> | null): JsonSchema {
  const name = defName(schema);
  return name !== null && defs !== null && Object.hasOwn(defs, name) ? (defs[name] as JsonSchema) : schema;
}

/** The $defs entry a schema that is only a reference to one names, else null. */
function defName(schema: JsonSchema): string | null {
  if (!isRecord(schema) || typeof schema.$ref !== 'string' || Object.keys(schema).length !== 1) return null;
  return schema.$ref.startsWith('#/$defs/') ? schema.$ref.slice('#/$defs/'.length) : null;
}

function freeName(taken: ReadonlySet<string>): string {
  let n = 2;
  while (taken.has(`body_${n}`)) n++;
  return `body_${n}`;
}

/** Key counts of shared schemas' property maps: a shared body is met once per tool that takes it. */
const keyCounts = new WeakMap<object, number>();

function hasAtMost(object: object, max: number): boolean {
  let count = keyCounts.get(object);
  if (count === undefined) keyCounts.set(object, (count = Object.keys(object).length));
  return count <= max;
}
