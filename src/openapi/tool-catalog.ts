import { AUTO_MAX_TOOLS, type ToolFilter, type ToolMode, type ToolOverride } from '../domain/toolset.js';
import {
  assembleInputSchema,
  compactInputSchema,
  neededDefinitions,
  type Definitions,
  type StoredSchema,
} from './served-schema.js';

/** One tool of a toolset's catalogue as stored: its schema refers into the catalogue's shared definitions. */
export interface CatalogTool {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: StoredSchema;
  /** Upper-case HTTP method and path template of an OpenAPI operation; null for an MCP upstream's tool. */
  readonly method: string | null;
  readonly path: string | null;
  readonly tags: readonly string[];
  readonly operationId: string | null;
}

/** What a toolset serves: its tools and the schemas they share, each kept once. */
export interface ToolCatalog {
  readonly definitions: Definitions;
  readonly tools: readonly CatalogTool[];
}

/** The curation fields of a toolset spec. */
export interface ToolCuration {
  readonly include?: readonly ToolFilter[];
  readonly exclude?: readonly ToolFilter[];
  readonly tools?: Readonly<Record<string, ToolOverride>>;
}

/** How served schemas are bounded (TOOL_SCHEMA_BUDGET_BYTES). */
export interface ServingBudget {
  readonly maxSchemaBytes: number;
}

/** A spec's curation that cannot work with the tools its document makes (an override of a tool that does not exist). */
export class CurationError extends Error {}

/** A path glob as a regular expression: `*` stays within one segment, `**` crosses segments. */
export function pathGlob(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*' && glob[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (char === '*') source += '[^/]*';
    else source += char.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function matcher(filter: ToolFilter): (tool: CatalogTool) => boolean {
  const path = filter.path === undefined ? null : pathGlob(filter.path);
  return (tool) =>
    (filter.tag === undefined || tool.tags.includes(filter.tag)) &&
    (path === null || (tool.path !== null && path.test(tool.path))) &&
    (filter.method === undefined || tool.method === filter.method) &&
    (filter.operationId === undefined || (tool.operationId ?? tool.name) === filter.operationId);
}

/**
 * The tools a spec's curation leaves, in their order, renamed and described as its overrides say, each with the
 * generated name it came from (`from`, the key of its upstream operation). `include` keeps the tools matching one of
 * its filters, `exclude` then drops those matching one of its; a `hidden` override drops its tool. Throws
 * {@link CurationError} for an override of a tool the document does not make, or names that would clash.
 */
export function curateTools(
  tools: readonly CatalogTool[],
  curation: ToolCuration,
): { tool: CatalogTool; from: string }[] {
  const overrides = curation.tools ?? {};
  const known = new Set(tools.map((t) => t.name));
  const unknown = Object.keys(overrides).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new CurationError(
      `spec.tools names ${unknown.length === 1 ? 'a tool' : 'tools'} the document does not make: ${unknown.slice(0, 10).join(', ')}`,
    );
  }
  const include = (curation.include ?? []).map(matcher);
  const exclude = (curation.exclude ?? []).map(matcher);
  const kept = tools.filter(
    (tool) =>
      (include.length === 0 || include.some((match) => match(tool))) &&
      !exclude.some((match) => match(tool)) &&
      overrides[tool.name]?.hidden !== true,
  );
  const out = kept.map((tool) => {
    const override = overrides[tool.name];
    return {
      from: tool.name,
      tool: { ...tool, name: override?.name ?? tool.name, description: override?.description ?? tool.description },
    };
  });
  const seen = new Map<string, string>();
  for (const { tool, from } of out) {
    const other = seen.get(tool.name);
    if (other !== undefined)
      throw new CurationError(`spec.tools gives tool "${from}" the name "${tool.name}", which tool "${other}" has`);
    seen.set(tool.name, from);
  }
  return out;
}

/** What a collapsed level of a served schema says, in each mode. */
export function collapsedNote(toolName: string, mode: 'static' | 'dynamic'): string {
  return mode === 'dynamic'
    ? `Collapsed to keep this schema short: call describe_tool with {"name": "${toolName}", "full": true} for the rest.`
    : 'Collapsed to keep this schema short; the server checks the value against the full schema.';
}

/** The input schema served for a tool: assembled from the shared definitions, then compacted to the budget. */
export function servedInputSchema(
  tool: CatalogTool,
  definitions: Definitions,
  budget: ServingBudget,
  mode: 'static' | 'dynamic',
): Record<string, unknown> {
  return compactInputSchema(assembleInputSchema(tool.inputSchema, definitions), {
    maxBytes: budget.maxSchemaBytes,
    collapsedNote: collapsedNote(tool.name, mode),
  });
}

/** A tool as `tools/list` serves it. */
export function listedTool(
  tool: CatalogTool,
  definitions: Definitions,
  budget: ServingBudget,
  mode: 'static' | 'dynamic',
) {
  return {
    name: tool.name,
    description: tool.description,
    inputSchema: servedInputSchema(tool, definitions, budget, mode),
  };
}

/** Estimated tokens of a JSON text: about four bytes each, the usual rule of thumb for English and JSON. */
export const estimateTokens = (bytes: number) => Math.ceil(bytes / 4);

/**
 * What every tool listed at once (static mode) would take: the `tools/list` result's bytes, and the largest served
 * schema. `exact`: each schema is compacted and measured (what a static toolset serves); otherwise each counts as its
 * full size or the budget, whichever is smaller (an upper bound, for toolsets served dynamically, whose compaction
 * of thousands of tools would be work for a number nobody is served).
 */
export function staticListSize(
  catalog: ToolCatalog,
  budget: ServingBudget,
  exact = true,
): { bytes: number; largestSchemaBytes: number } {
  // Tools that share one stored schema (a body many operations take) are measured once: in static mode the served
  // schema does not depend on the tool's name.
  const schemaBytes = new Map<string, number>();
  const definitionBytes = new Map<string, number>();
  const definitionSize = (name: string) => {
    let known = definitionBytes.get(name);
    if (known === undefined) definitionBytes.set(name, (known = sizeOf(name) + 1 + sizeOf(catalog.definitions[name])));
    return known;
  };
  // {"tools":[…]} with a comma between tools.
  let bytes = '{"tools":[]}'.length + Math.max(0, catalog.tools.length - 1);
  let largestSchemaBytes = 0;
  for (const tool of catalog.tools) {
    const key = JSON.stringify(tool.inputSchema);
    let size = schemaBytes.get(key);
    if (size === undefined) {
      if (exact) size = sizeOf(servedInputSchema(tool, catalog.definitions, budget, 'static'));
      else {
        const needed = neededDefinitions(tool.inputSchema, catalog.definitions);
        // ,"$defs":{…} with a comma between definitions.
        const defs =
          needed.length === 0 ? 0 : 10 + needed.length - 1 + needed.reduce((n, d) => n + definitionSize(d), 0);
        size = Math.min(budget.maxSchemaBytes, key.length + defs);
      }
      schemaBytes.set(key, size);
    }
    // {"name":…,"description":…,"inputSchema":…}
    bytes += sizeOf({ name: tool.name, description: tool.description }) + 15 + size;
    largestSchemaBytes = Math.max(largestSchemaBytes, size);
  }
  return { bytes, largestSchemaBytes };
}

const sizeOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** A catalogue after curation, with what it costs to serve and to store. */
export interface CuratedCatalog {
  readonly catalog: ToolCatalog;
  /** Upstream operations by served tool name (OpenAPI toolsets). */
  readonly operations: Readonly<Record<string, unknown>>;
  /** `exact` false: an upper bound (see {@link staticListSize}). */
  readonly staticList: { readonly bytes: number; readonly largestSchemaBytes: number; readonly exact: boolean };
  /** Bytes of the stored schemas: each tool's own, the shared definitions once. */
  readonly storedSchemaBytes: number;
}

/**
 * Curates a converted catalogue (see {@link curateTools}), keeps only the definitions the remaining tools need,
 * keys the operations by served name, and measures the result.
 */
export function curateCatalog(
  tools: readonly CatalogTool[],
  definitions: Definitions,
  operations: Readonly<Record<string, unknown>>,
  curation: ToolCuration,
  budget: ServingBudget,
  /** Whether the toolset will be served statically: then its static list is measured exactly. */
  servedStatically: (tools: number) => boolean = () => true,
): CuratedCatalog {
  const curated = curateTools(tools, curation);
  const kept = curated.map(({ tool }) => tool);
  const needed = new Set(kept.flatMap((tool) => neededDefinitions(tool.inputSchema, definitions)));
  const catalog: ToolCatalog = {
    definitions: Object.fromEntries(Object.entries(definitions).filter(([name]) => needed.has(name))),
    tools: kept,
  };
  const servedOperations = Object.fromEntries(
    curated.flatMap(({ tool, from }) => (Object.hasOwn(operations, from) ? [[tool.name, operations[from]]] : [])),
  );
  const storedSchemaBytes =
    Buffer.byteLength(JSON.stringify(catalog.definitions)) +
    kept.reduce((sum, tool) => sum + Buffer.byteLength(JSON.stringify(tool.inputSchema)), 0);
  const exact = servedStatically(kept.length);
  return {
    catalog,
    operations: servedOperations,
    staticList: { ...staticListSize(catalog, budget, exact), exact },
    storedSchemaBytes,
  };
}

/** Whether a toolset of `tools` tools is served statically under a tool mode (auto: dynamic past 40 tools, or 64 kB). */
export const mayServeStatically = (mode: ToolMode | undefined) => (tools: number) =>
  mode === 'static' || (mode !== 'dynamic' && tools <= AUTO_MAX_TOOLS);
