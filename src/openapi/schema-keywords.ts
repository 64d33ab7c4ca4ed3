/**
 * The JSON Schema 2020-12 keywords a tool's inputSchema may carry, by the shape of their value.
 * Anything else (discriminator, xml, externalDocs, x-*, $id, …) is dropped: Ajv's strict mode rejects
 * unknown keywords, and `$id`/`$schema` would change how the gateway resolves `$ref`.
 */
type KeywordKind =
  'schema' | 'schemaArray' | 'schemaMap' | 'count' | 'number' | 'string' | 'boolean' | 'array' | 'stringArray' | 'any';

export const schemaKeywords: ReadonlyMap<string, KeywordKind> = new Map<string, KeywordKind>([
  ['type', 'any'],
  ['title', 'string'],
  ['description', 'string'],
  ['format', 'string'],
  ['pattern', 'string'],
  ['contentMediaType', 'string'],
  ['contentEncoding', 'string'],
  ['$comment', 'string'],
  ['default', 'any'],
  ['const', 'any'],
  ['enum', 'array'],
  ['examples', 'array'],
  ['required', 'stringArray'],
  ['deprecated', 'boolean'],
  ['readOnly', 'boolean'],
  ['writeOnly', 'boolean'],
  ['uniqueItems', 'boolean'],
  ['minimum', 'number'],
  ['maximum', 'number'],
  ['exclusiveMinimum', 'number'],
  ['exclusiveMaximum', 'number'],
  ['multipleOf', 'number'],
  ['minLength', 'count'],
  ['maxLength', 'count'],
  ['minItems', 'count'],
  ['maxItems', 'count'],
  ['minProperties', 'count'],
  ['maxProperties', 'count'],
  ['minContains', 'count'],
  ['maxContains', 'count'],
  ['properties', 'schemaMap'],
  ['patternProperties', 'schemaMap'],
  ['dependentSchemas', 'schemaMap'],
  ['additionalProperties', 'schema'],
  ['unevaluatedProperties', 'schema'],
  ['propertyNames', 'schema'],
  ['items', 'schema'],
  ['prefixItems', 'schemaArray'],
  ['contains', 'schema'],
  ['unevaluatedItems', 'schema'],
  ['not', 'schema'],
  ['if', 'schema'],
  ['then', 'schema'],
  ['else', 'schema'],
  ['anyOf', 'schemaArray'],
  ['oneOf', 'schemaArray'],
]);

/** Keywords whose values merge by "last one wins" in allOf: they describe, they do not constrain. */
export const annotationKeywords: ReadonlySet<string> = new Set([
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$comment',
]);

const jsonTypes = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object', 'null']);

/**
 * A plain, valid keyword value, or undefined to drop it. Documents in the wild carry `required: true` on
 * properties, string lengths and OpenAPI-only types; dropping such a value loses one check, keeping it
 * would make the whole tool uncompilable.
 */
export function plainKeywordValue(kind: KeywordKind, keyword: string, value: unknown): unknown {
  switch (kind) {
    case 'count':
      return Number.isInteger(value) && (value as number) >= 0 ? value : undefined;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
      return keyword === 'multipleOf' && value <= 0 ? undefined : value;
    case 'string':
      if (typeof value !== 'string') return undefined;
      return keyword === 'pattern' && !isUnicodeRegExp(value) ? undefined : value;
    case 'boolean':
      return typeof value === 'boolean' ? value : undefined;
    case 'array':
      // Ajv refuses an empty enum.
      return Array.isArray(value) && (keyword !== 'enum' || value.length > 0) && isJson(value) ? value : undefined;
    case 'stringArray':
      return Array.isArray(value) ? [...new Set(value.filter((item) => typeof item === 'string'))] : undefined;
    default:
      if (keyword === 'type') return plainType(value);
      return isJson(value) ? value : undefined;
  }
}

// Values are copied from the document, where a YAML alias can make them contain themselves.
function isJson(value: unknown): boolean {
  try {
    JSON.stringify(value);
    return true;
  } catch {
    return false;
  }
}

/** Swagger 2's `file` becomes a binary string; unknown type names are dropped. */
function plainType(value: unknown): unknown {
  const names = (Array.isArray(value) ? (value as unknown[]) : [value]).map((name) =>
    name === 'file' ? 'string' : name,
  );
  const valid = [...new Set(names.filter((name): name is string => typeof name === 'string' && jsonTypes.has(name)))];
  if (valid.length === 0) return undefined;
  return valid.length === 1 ? valid[0] : valid;
}

// Ajv compiles `pattern` with the "u" flag, so a pattern must be valid in unicode mode.
function isUnicodeRegExp(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}
