import type { SchemaConverter, SchemaUses } from './create-schema-converter.js';
import { derefObject, type Located } from './deref-object.js';
import { childPointer, isRecord } from './json-pointer.js';
import type { JsonSchema } from './merge-all-of.js';
import { OpenApiError } from './openapi-error.js';

/** A parameter that becomes an inputSchema property. */
export interface InputParameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required: boolean;
  readonly schema: JsonSchema;
}

/** The operation's parameters by role; Swagger 2 sends its request body as `in: body` or `in: formData` parameters. */
export interface OperationParameters {
  readonly inputs: readonly InputParameter[];
  readonly body: Located | null;
  readonly form: readonly Located[];
}

// OpenAPI: "If in is header and the name is Accept, Content-Type or Authorization, the parameter definition SHALL be
// ignored"; the gateway sets those itself (Authorization from the stored credential).
const ignoredHeaders = new Set(['accept', 'content-type', 'authorization']);

/**
 * Path-item parameters merged with the operation's (the operation's win by name and location), in document order.
 * Cookie parameters are skipped: the gateway does not send cookies. A `{name}` in the path template that no
 * parameter declares (a common slip) still becomes a required string, or the gateway could not fill the path.
 */
export function readParameters(
  root: unknown,
  path: string,
  pathItem: Located,
  operation: Located,
  converter: SchemaConverter,
  uses: SchemaUses,
): OperationParameters {
  const merged = new Map<string, Located>();
  for (const owner of [pathItem, operation]) {
    const list = owner.value.parameters;
    if (list === undefined) continue;
    const listAt = childPointer(owner.pointer, 'parameters');
    if (!Array.isArray(list)) throw new OpenApiError('parameters must be a list', listAt);
    list.forEach((item, i) => {
      const param = derefObject(root, item, childPointer(listAt, i), 'a parameter');
      const { name, in: location } = param.value;
      if (typeof name !== 'string' || typeof location !== 'string') {
        throw new OpenApiError('a parameter needs a string name and in', param.pointer);
      }
      // Header names are case-insensitive (RFC 9110 §5.1), the others are not.
      merged.set(`${location}:${location === 'header' ? name.toLowerCase() : name}`, param);
    });
  }
  const inputs: InputParameter[] = [];
  const form: Located[] = [];
  let body: Located | null = null;
  for (const param of merged.values()) {
    const { name, in: location } = param.value as { name: string; in: string };
    if (location === 'body') body = param;
    else if (location === 'formData') form.push(param);
    else if (location === 'path' || location === 'query' || location === 'header') {
      if (location === 'header' && ignoredHeaders.has(name.toLowerCase())) continue;
      inputs.push({
        name,
        in: location,
        required: location === 'path' || param.value.required === true,
        schema: parameterSchema(param, converter, uses),
      });
    } else if (location !== 'cookie') {
      throw new OpenApiError(
        `parameter location "${location}" is not one of path, query, header, cookie, body, formData`,
        childPointer(param.pointer, 'in'),
      );
    }
  }
  const declared = new Set(inputs.filter((input) => input.in === 'path').map((input) => input.name));
  const undeclared = [...path.matchAll(/\{([^}]+)\}/g)]
    .map((match) => match[1] as string)
    .filter((name) => !declared.has(name));
  const implied = [...new Set(undeclared)].map((name): InputParameter => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  return { inputs: [...implied, ...inputs], body, form };
}

/** The JSON Schema of one parameter, with the parameter's own description and deprecation carried onto it. */
export function parameterSchema(param: Located, converter: SchemaConverter, uses: SchemaUses): JsonSchema {
  const { value, pointer } = param;
  const source = schemaSource(value, pointer);
  // A Swagger 2 parameter is its own schema (type, format, items, enum… sit on the parameter).
  const schema =
    source === null ? converter.convert(value, pointer, uses) : converter.convert(source.value, source.pointer, uses);
  if (source === null) return schema;
  const extra: Record<string, unknown> = {};
  if (typeof value.description === 'string' && !(isRecord(schema) && 'description' in schema))
    extra.description = value.description;
  if (value.deprecated === true) extra.deprecated = true;
  if (Object.keys(extra).length === 0) return schema;
  return Object.freeze({ ...(isRecord(schema) ? schema : {}), ...extra });
}

/** OpenAPI 3: `schema`, or the schema of the first `content` entry; Swagger 2 (no `schema`, no `content`): null. */
function schemaSource(
  value: Readonly<Record<string, unknown>>,
  pointer: string,
): { value: unknown; pointer: string } | null {
  if (value.schema !== undefined) return { value: value.schema, pointer: childPointer(pointer, 'schema') };
  if (isRecord(value.content)) {
    const [mediaType, media] = Object.entries(value.content)[0] ?? [];
    if (mediaType !== undefined && isRecord(media) && media.schema !== undefined) {
      return {
        value: media.schema,
        pointer: childPointer(childPointer(childPointer(pointer, 'content'), mediaType), 'schema'),
      };
    }
    return { value: {}, pointer };
  }
  return value.type === undefined ? { value: {}, pointer } : null;
}
