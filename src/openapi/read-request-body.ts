import type { SchemaConverter, SchemaUses } from './create-schema-converter.js';
import { derefObject, type Located } from './deref-object.js';
import { childPointer, isRecord } from './json-pointer.js';
import type { JsonSchema } from './merge-all-of.js';
import { OpenApiError } from './openapi-error.js';
import { parameterSchema, type OperationParameters } from './read-parameters.js';

/** The request body a tool sends, in the media type the gateway will encode it as. */
export interface RequestBody {
  readonly contentType: string;
  readonly required: boolean;
  readonly schema: JsonSchema;
  readonly description: string | null;
}

/** The body of an OpenAPI 3 operation (`requestBody`) or a Swagger 2 one (`in: body` / `in: formData` parameters). */
export function readRequestBody(
  root: unknown,
  operation: Located,
  params: OperationParameters,
  converter: SchemaConverter,
  uses: SchemaUses,
): RequestBody | null {
  if (operation.value.requestBody !== undefined) {
    return openApiBody(
      root,
      childPointer(operation.pointer, 'requestBody'),
      operation.value.requestBody,
      converter,
      uses,
    );
  }
  const consumes = stringList(operation.value.consumes) ?? stringList(isRecord(root) ? root.consumes : undefined) ?? [];
  if (params.body !== null) {
    const { value, pointer } = params.body;
    return {
      contentType: preferredMediaType(consumes) ?? 'application/json',
      required: value.required === true,
      schema: converter.convert(value.schema ?? {}, childPointer(pointer, 'schema'), uses),
      description: typeof value.description === 'string' ? value.description : null,
    };
  }
  if (params.form.length > 0) return formBody(params.form, consumes, converter, uses);
  return null;
}

function openApiBody(
  root: unknown,
  pointer: string,
  value: unknown,
  converter: SchemaConverter,
  uses: SchemaUses,
): RequestBody | null {
  const body = derefObject(root, value, pointer, 'requestBody');
  const contentAt = childPointer(body.pointer, 'content');
  if (!isRecord(body.value.content)) throw new OpenApiError('requestBody.content must be an object', contentAt);
  const contentType = preferredMediaType(Object.keys(body.value.content));
  if (contentType === null) return null;
  const media = body.value.content[contentType];
  const mediaAt = childPointer(contentAt, contentType);
  const schema =
    isRecord(media) && media.schema !== undefined
      ? converter.convert(media.schema, childPointer(mediaAt, 'schema'), uses)
      : {};
  return {
    contentType,
    required: body.value.required === true,
    schema,
    description: typeof body.value.description === 'string' ? body.value.description : null,
  };
}

function formBody(
  form: readonly Located[],
  consumes: readonly string[],
  converter: SchemaConverter,
  uses: SchemaUses,
): RequestBody {
  const properties = Object.fromEntries(
    form.map((param) => [param.value.name as string, parameterSchema(param, converter, uses)]),
  );
  const required = form.filter((param) => param.value.required === true).map((param) => param.value.name as string);
  // Files can only travel as multipart (Swagger 2.0 "type: file" requires it in consumes).
  const hasFile = form.some((param) => param.value.type === 'file');
  const urlEncoded = consumes.includes('application/x-www-form-urlencoded');
  const contentType =
    hasFile || (!urlEncoded && consumes.includes('multipart/form-data'))
      ? 'multipart/form-data'
      : 'application/x-www-form-urlencoded';
  return {
    contentType,
    required: required.length > 0,
    schema: Object.freeze({ type: 'object', properties, required }),
    description: null,
  };
}

/** JSON first (the gateway's native encoding), then any "+json" type, else the first one listed. */
function preferredMediaType(types: readonly string[]): string | null {
  const essence = (type: string) => type.split(';')[0]?.trim().toLowerCase() ?? '';
  return (
    types.find((type) => essence(type) === 'application/json') ??
    types.find((type) => /^[a-z0-9.+-]+\/[a-z0-9.+-]+\+json$/.test(essence(type))) ??
    types[0] ??
    null
  );
}

function stringList(value: unknown): readonly string[] | null {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : null;
}
