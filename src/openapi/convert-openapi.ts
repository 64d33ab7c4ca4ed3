import { cutText } from '../domain/cut-text.js';
import { buildInputSchema } from './build-input-schema.js';
import { ConversionLimitError, UNLIMITED, formatCount, type ConversionLimits } from './conversion-limits.js';
import { createSchemaConverter, type SchemaConverter, type SchemaUses } from './create-schema-converter.js';
import { derefObject, type Located } from './deref-object.js';
import { childPointer, isRecord } from './json-pointer.js';
import { createJsonSizer } from './json-size.js';
import { lineOfPointer } from './line-of-pointer.js';
import { baseToolName, uniqueToolNames } from './name-tools.js';
import { OpenApiError } from './openapi-error.js';
import { parseDocument } from './parse-document.js';
import { readParameters } from './read-parameters.js';
import { readRequestBody } from './read-request-body.js';
import { serverUrls, swaggerUrl } from './server-urls.js';
import type { JsonSchema } from './merge-all-of.js';
import type { ToolOperation } from './tool-operation.js';

export { OpenApiError } from './openapi-error.js';

export interface GeneratedTool {
  /** Unique within the document, and the same for the same document every time. */
  readonly name: string;
  readonly description: string;
  /**
   * A JSON Schema 2020-12 object whose shared parts are references (`{"$ref": "#/$defs/Name"}`) into the
   * document's {@link ConversionResult.definitions}: {@link assembleInputSchema} makes it self-contained.
   */
  readonly inputSchema: Readonly<Record<string, unknown>>;
  readonly operation: ToolOperation;
  /** The operation's tags, for curation (spec.include/exclude) and search. */
  readonly tags: readonly string[];
}

export interface ConversionResult {
  readonly title: string | null;
  readonly version: string | null;
  readonly servers: readonly string[];
  /** The schemas the tools share (cycles and large components), each kept once for the whole document. */
  readonly definitions: Readonly<Record<string, JsonSchema>>;
  readonly tools: readonly GeneratedTool[];
}

const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;
const maxDescription = 1024;
const maxTextForLines = 1024 * 1024;

/**
 * Turns an OpenAPI 3.0/3.1 or Swagger 2.0 document (YAML or JSON text) into one MCP tool per operation.
 * Throws {@link OpenApiError} naming the pointer and line of the first problem, and its subclass
 * {@link ConversionLimitError} as soon as the tools would outgrow `limits`.
 *
 * @example
 * const { tools } = convertOpenApi('openapi: 3.1.0\ninfo: {title: t, version: "1"}\npaths: {/ping: {get: {operationId: ping}}}');
 * tools[0]?.name; // 'ping'
 */
export function convertOpenApi(text: string, limits: ConversionLimits = UNLIMITED): ConversionResult {
  try {
    return convertDocument(parseDocument(text), limits);
  } catch (error) {
    // Finding the line parses the text again, at one to four seconds per MB: past that the pointer alone says where.
    const withLine =
      error instanceof OpenApiError && error.line === null && error.pointer !== '' && text.length <= maxTextForLines;
    if (withLine && error instanceof ConversionLimitError) {
      throw new ConversionLimitError(error.limit, error.message, error.pointer, lineOfPointer(text, error.pointer));
    }
    if (withLine) throw new OpenApiError(error.message, error.pointer, lineOfPointer(text, error.pointer));
    // A document nested deep enough to exhaust the stack is broken for our purposes, not a crash.
    if (error instanceof RangeError) throw new OpenApiError('the document is nested too deeply', '');
    throw error;
  }
}

function convertDocument(doc: unknown, limits: ConversionLimits): ConversionResult {
  if (!isRecord(doc)) throw new OpenApiError('the document must be an object', '');
  const isSwagger = doc.openapi === undefined && (doc.swagger === '2.0' || doc.swagger === 2);
  if (!isSwagger && !(typeof doc.openapi === 'string' && /^3\.[01]\.\d+/.test(doc.openapi))) {
    const found = doc.openapi ?? doc.swagger;
    const pointer = doc.openapi === undefined && doc.swagger !== undefined ? '/swagger' : '/openapi';
    throw new OpenApiError(
      `unsupported version ${JSON.stringify(found ?? null)}: expected openapi 3.0.x or 3.1.x, or swagger "2.0"`,
      pointer,
    );
  }
  const info = isRecord(doc.info) ? doc.info : {};
  const servers = isSwagger ? swaggerUrl(doc) : serverUrls(doc.servers);
  const { drafts, definitions } = operationDrafts(doc, servers[0] ?? null, limits);
  const names = uniqueToolNames(drafts.map((draft) => draft.baseName));
  return {
    title: typeof info.title === 'string' ? info.title : null,
    version: typeof info.version === 'string' || typeof info.version === 'number' ? String(info.version) : null,
    servers,
    definitions,
    tools: drafts.map((draft, i) => ({ name: names[i] as string, ...draft.tool })),
  };
}

interface Draft {
  readonly baseName: string;
  readonly tool: Omit<GeneratedTool, 'name'>;
  /** The definitions the tool's schema refers to directly. */
  readonly defs: readonly string[];
}

function operationDrafts(
  doc: Readonly<Record<string, unknown>>,
  docServer: string | null,
  limits: ConversionLimits,
): { drafts: Draft[]; definitions: Readonly<Record<string, JsonSchema>> } {
  // OpenAPI 3.1 makes paths optional (a document may hold only webhooks or components).
  if (doc.paths === undefined && typeof doc.openapi === 'string' && doc.openapi.startsWith('3.1'))
    return { drafts: [], definitions: {} };
  if (!isRecord(doc.paths)) throw new OpenApiError('paths must be an object', '/paths');
  const pathItems = Object.entries(doc.paths)
    .filter(([path]) => !path.startsWith('x-'))
    .map(([path, rawItem]) => ({ path, item: derefObject(doc, rawItem, childPointer('/paths', path), 'a path item') }));
  // Counted before anything is converted: an oversized document fails at once.
  const count = pathItems.reduce(
    (sum, { item }) => sum + methods.filter((method) => item.value[method] !== undefined).length,
    0,
  );
  if (count > limits.maxOperations) {
    throw new ConversionLimitError(
      'maxOperations',
      `the document has ${formatCount(count)} operations, over the limit of ${formatCount(limits.maxOperations)} per toolset`,
      '/paths',
    );
  }
  const converter = createSchemaConverter(doc);
  const budget = createSchemaBudget(limits);
  const drafts: Draft[] = [];
  for (const { path, item: pathItem } of pathItems) {
    const pathServer = serverUrls(pathItem.value.servers)[0] ?? docServer;
    for (const method of methods) {
      if (pathItem.value[method] === undefined) continue;
      const operation = derefObject(
        doc,
        pathItem.value[method],
        childPointer(pathItem.pointer, method),
        'an operation',
      );
      const draft = operationDraft(
        doc,
        path,
        method,
        pathItem,
        operation,
        serverUrls(operation.value.servers)[0] ?? pathServer,
        converter,
      );
      budget.charge(draft.tool.inputSchema, operation.pointer);
      drafts.push(draft);
    }
  }
  const definitions = converter.defsFor(drafts.flatMap((draft) => draft.defs)) ?? {};
  budget.charge(definitions, '/components', false);
  return { drafts, definitions };
}

/**
 * Counts what the conversion stores as it is made (each tool's own schema, then the shared definitions once),
 * and stops at the first part over a limit.
 */
function createSchemaBudget(limits: ConversionLimits) {
  const sizeOf = createJsonSizer();
  let total = 0;
  return {
    /** `perTool`: whether the part is one tool's own schema (the shared definitions count towards the total only). */
    charge(inputSchema: unknown, pointer: string, perTool = true): void {
      const size = sizeOf(inputSchema);
      if (perTool && size > limits.maxToolSchemaBytes) {
        throw new ConversionLimitError(
          'maxToolSchemaBytes',
          `the input schema of this operation is ${formatCount(size)} bytes, over the limit of ${formatCount(limits.maxToolSchemaBytes)} bytes per tool`,
          pointer,
        );
      }
      total += size;
      if (total > limits.maxToolsetSchemaBytes) {
        throw new ConversionLimitError(
          'maxToolsetSchemaBytes',
          `the input schemas of the tools up to here are ${formatCount(total)} bytes, over the limit of ${formatCount(limits.maxToolsetSchemaBytes)} bytes per toolset`,
          pointer,
        );
      }
    },
  };
}

function operationDraft(
  doc: unknown,
  path: string,
  method: string,
  pathItem: Located,
  operation: Located,
  serverUrl: string | null,
  converter: SchemaConverter,
): Draft {
  const paramUses: SchemaUses = { defs: new Set(), size: 0 };
  const bodyUses: SchemaUses = { defs: new Set(), size: 0 };
  const params = readParameters(doc, path, pathItem, operation, converter, paramUses);
  const body = readRequestBody(doc, operation, params, converter, bodyUses);
  // A body spread from a $def into the top level needs what that def refers to, not the def itself (unless
  // something else refers to it): a large shared body would otherwise be served twice in every tool.
  const defsFor = (spread: string | null) =>
    converter.defsFor(
      spread === null
        ? [...paramUses.defs, ...bodyUses.defs]
        : [...paramUses.defs, ...[...bodyUses.defs].filter((name) => name !== spread), ...converter.defsUsedBy(spread)],
    );
  const input = buildInputSchema(params.inputs, body, defsFor);
  const operationId = typeof operation.value.operationId === 'string' ? operation.value.operationId : null;
  const tags = Array.isArray(operation.value.tags)
    ? operation.value.tags.filter((tag): tag is string => typeof tag === 'string')
    : [];
  return {
    baseName: baseToolName(operationId, method, path),
    defs: input.defs,
    tool: {
      description: describe(operation.value, method, path),
      inputSchema: input.inputSchema,
      operation: { method, path, operationId, serverUrl, parameters: input.parameters, body: input.body },
      tags,
    },
  };
}

function describe(operation: Readonly<Record<string, unknown>>, method: string, path: string): string {
  const parts = [operation.summary, operation.description].flatMap((part) =>
    typeof part === 'string' && part.trim() !== '' ? [part.trim()] : [],
  );
  // Many documents repeat the summary as the description.
  const text = parts.length > 0 ? [...new Set(parts)].join('\n\n') : `${method.toUpperCase()} ${path}`;
  return cutText(text, maxDescription);
}
