import type { Logger } from 'pino';
import {
  servedModeOf,
  type CatalogSummary,
  type OpenApiToolRef,
  type Toolset,
  type ToolsetSpec,
  type ToolsetStatus,
  type ToolsetTool,
} from '../domain/toolset.js';
import { ConversionLimitError, type ConversionLimits } from '../openapi/conversion-limits.js';
import { OpenApiError } from '../openapi/convert-openapi.js';
import {
  curateCatalog,
  CurationError,
  mayServeStatically,
  estimateTokens,
  type CuratedCatalog,
  type ServingBudget,
  type ToolCatalog,
} from '../openapi/tool-catalog.js';
import type { Db } from '../storage/database.js';
import * as toolsets from '../storage/toolset-repo.js';
import type { Writer } from '../storage/writer.js';
import { egressFetch } from '../egress/egress-connect.js';
import type { EgressPolicy } from '../egress/egress-policy.js';
import type { Clock } from './clock.js';
import { LimitExceeded, type WorkLimit } from './limit-exceeded.js';
import {
  listUpstreamTools,
  parseMcpTarget,
  type ListingCaps,
  type McpTarget,
  type UpstreamTool,
} from './mcp-upstream.js';
import { META_LIST_BYTES } from './meta-tools.js';
import { createOpenApiConverter, type ConversionBounds } from './openapi-converter.js';

export interface ToolsetKey {
  readonly workspaceId: string;
  readonly name: string;
  readonly generation: number;
}

/** What a spec turned into: the tools to serve (its catalogue) and, for OpenAPI, how to call each upstream. */
export interface Converted {
  readonly tools: readonly ToolsetTool[];
  readonly openApiTools: readonly OpenApiToolRef[];
  readonly operations: Readonly<Record<string, unknown>>;
  readonly catalog: ToolCatalog;
  readonly summary: CatalogSummary;
}

/** The status outputs and stored parts of a curated catalogue, under a spec's tool mode. */
function toConverted(spec: ToolsetSpec, curated: CuratedCatalog): Converted {
  const { catalog } = curated;
  const staticListBytes = curated.staticList.bytes;
  const servedMode = servedModeOf(spec.toolMode, { tools: catalog.tools.length, staticListBytes });
  const listBytes = servedMode === 'static' ? staticListBytes : META_LIST_BYTES;
  return {
    tools: catalog.tools.map(({ name, description }) => ({ name, description })),
    openApiTools: catalog.tools.flatMap((t) =>
      t.method === null || t.path === null
        ? []
        : [{ toolId: t.operationId ?? t.name, toolName: t.name, method: t.method, path: t.path }],
    ),
    operations: curated.operations,
    catalog,
    summary: {
      servedMode,
      tools: catalog.tools.length,
      listBytes,
      estimatedTokens: estimateTokens(listBytes),
      staticListBytes,
      staticEstimatedTokens: estimateTokens(staticListBytes),
      staticListEstimated: !curated.staticList.exact,
      largestSchemaBytes: curated.staticList.largestSchemaBytes,
      storedSchemaBytes: curated.storedSchemaBytes,
    },
  };
}

/** The setting behind each limit, so that a Failed message tells the operator what to raise. */
const LIMIT_SETTINGS: Readonly<Record<keyof ConversionLimits | WorkLimit, string>> = {
  maxOperations: 'TOOLSET_MAX_OPERATIONS',
  maxToolSchemaBytes: 'TOOLSET_MAX_TOOL_SCHEMA_BYTES',
  maxToolsetSchemaBytes: 'TOOLSET_MAX_SCHEMA_BYTES',
  conversionTimeoutMs: 'TOOLSET_CONVERSION_TIMEOUT_MS',
  conversionMemoryMb: 'TOOLSET_CONVERSION_MEMORY_MB',
  mcpListMaxPages: 'MCP_LIST_MAX_PAGES',
  mcpListMaxTools: 'MCP_LIST_MAX_TOOLS',
  mcpListMaxBytes: 'MCP_LIST_MAX_BYTES',
  mcpListTimeoutMs: 'MCP_LIST_TIMEOUT_MS',
};

// A transient failure is tried again after twice the time since the previous try, within these bounds.
const FIRST_RETRY_MS = 2_000;
const LAST_RETRY_MS = 10 * 60_000;

function describeFailure(error: unknown): string {
  if (error instanceof OpenApiError) {
    const where = [
      error.pointer === '' ? 'the document root' : `#${error.pointer}`,
      error.line === null ? null : `line ${error.line}`,
    ]
      .filter(Boolean)
      .join(', ');
    const setting = error instanceof ConversionLimitError ? `${LIMIT_SETTINGS[error.limit]}; ` : '';
    return `${error.message} (${setting}at ${where})`;
  }
  if (error instanceof LimitExceeded) return `${error.message} (${LIMIT_SETTINGS[error.limit]})`;
  return error instanceof Error ? error.message : String(error);
}

/** A spec that cannot work as written (an MCP detail that names no URL, say). */
class InvalidSpec extends Error {}

/** Errors that another try may not meet: the upstream or the network, not the spec or a limit. */
function isTransient(error: unknown): boolean {
  return !(
    error instanceof OpenApiError ||
    error instanceof LimitExceeded ||
    error instanceof InvalidSpec ||
    error instanceof CurationError
  );
}

/**
 * Turns each toolset generation into status, once, whichever node gets to it first: a node claims a
 * generation with a conditional update, converts the spec, and writes the status only if the generation
 * is still current. A failed spec keeps the last good tools (phase Failed, with a message naming the spot)
 * and is not tried again until the spec changes; a failure of the upstream or the network is (phase Failed
 * meanwhile, the message says when), later each time.
 */
export function createToolsetReconciler(deps: {
  db: Db;
  writer: Writer;
  clock: Clock;
  logger: Logger;
  mcpTimeoutMs: number;
  /** MCP upstreams are reached only through it. */
  egress: EgressPolicy;
  conversion: ConversionBounds;
  mcpListing: ListingCaps;
  /** The budget of each served input schema (TOOL_SCHEMA_BUDGET_BYTES): the catalogue's sizes are measured with it. */
  serving: ServingBudget;
  claimTtlMs?: number;
  listMcpTools?: (target: McpTarget, timeoutMs: number, caps: ListingCaps) => Promise<UpstreamTool[]>;
}) {
  const { db, writer, clock, logger, mcpTimeoutMs, mcpListing, serving } = deps;
  // A claim outlives the longest conversion or listing, so that no other node takes over work still running.
  const claimTtlMs = deps.claimTtlMs ?? Math.max(60_000, 2 * Math.max(deps.conversion.timeoutMs, mcpListing.timeoutMs));
  const mcpFetch = egressFetch(deps.egress);
  const listMcpTools =
    deps.listMcpTools ??
    ((target: McpTarget, timeoutMs: number, caps: ListingCaps) => listUpstreamTools(target, timeoutMs, caps, mcpFetch));
  const converter = createOpenApiConverter(deps.conversion);
  const running = new Set<Promise<unknown>>();
  let timer: NodeJS.Timeout | undefined;

  async function convert(spec: ToolsetSpec): Promise<Converted> {
    const curation = { include: spec.include, exclude: spec.exclude, tools: spec.tools };
    if (spec.schema.type === 'MCP') {
      let target: McpTarget;
      try {
        target = parseMcpTarget(spec.schema.detail);
      } catch (error) {
        throw new InvalidSpec((error as Error).message);
      }
      const listed = await listMcpTools(target, mcpTimeoutMs, mcpListing);
      const tools = listed.map((t) => ({
        ...t,
        method: null,
        path: null,
        tags: [],
        operationId: null,
      }));
      return toConverted(spec, curateCatalog(tools, {}, {}, curation, serving, mayServeStatically(spec.toolMode)));
    }
    return toConverted(spec, await converter.convert(spec.schema.detail, curation, serving, spec.toolMode));
  }

  /** When to try a transiently failed generation again: twice as long after as the previous try came after its failure. */
  function retryDelayMs(toolset: Toolset, key: ToolsetKey, now: string): number {
    const { status } = toolset;
    const isRetry =
      status.phase === 'Failed' && status.observedGeneration === key.generation && status.observedTime !== null;
    const since = isRetry ? Date.parse(now) - Date.parse(status.observedTime) : 0;
    return Math.min(LAST_RETRY_MS, Math.max(FIRST_RETRY_MS, 2 * since));
  }

  /**
   * Converts a spec without storing anything, for a caller that writes the toolset only if it converts (the CLI
   * import); the message is the one a Failed status would carry.
   */
  async function tryConvert(
    spec: ToolsetSpec,
  ): Promise<{ ok: true; converted: Converted } | { ok: false; message: string }> {
    try {
      return { ok: true, converted: await convert(spec) };
    } catch (error) {
      return { ok: false, message: describeFailure(error) };
    }
  }

  /**
   * Reconciles one generation if this node wins its claim; true when it wrote a status. `converted` is what
   * `tryConvert` made of this generation's spec, when the caller has it already.
   */
  async function reconcile(key: ToolsetKey, converted?: Converted): Promise<boolean> {
    const claimedAt = clock.now();
    const expires = new Date(Date.parse(claimedAt) + claimTtlMs).toISOString();
    if (!(await writer.write((tx) => toolsets.claimGeneration(tx, key, claimedAt, expires)))) return false;
    const toolset = await toolsets.findToolset(db.kysely, key.workspaceId, key.name);
    if (!toolset || toolset.generation !== key.generation) return false;
    let status: ToolsetStatus;
    let served: { operations: Readonly<Record<string, unknown>>; catalog: ToolCatalog } | undefined;
    let retryAt: string | undefined;
    try {
      const { tools, openApiTools, operations, catalog, summary } = converted ?? (await convert(toolset.spec));
      served = { operations, catalog };
      status = {
        ...toolset.status,
        phase: 'Installed',
        message: null,
        outputs: { tools, openApiTools, catalog: summary },
        observedTime: clock.now(),
        observedGeneration: key.generation,
      };
    } catch (error) {
      const now = clock.now();
      let message = describeFailure(error);
      if (isTransient(error)) {
        const delayMs = retryDelayMs(toolset, key, now);
        retryAt = new Date(Date.parse(now) + delayMs).toISOString();
        message = `${message}; trying again in ${Math.round(delayMs / 1000)} s`;
      }
      status = { ...toolset.status, phase: 'Failed', message, observedTime: now, observedGeneration: key.generation };
    }
    const written = await writer.write((tx) => toolsets.writeStatus(tx, key, status, clock.now(), served, retryAt));
    if (written)
      logger.info(
        { workspaceId: key.workspaceId, toolset: key.name, generation: key.generation, phase: status.phase },
        'toolset reconciled',
      );
    return written;
  }

  /** Runs a reconcile in the background, keeping track of it so that `stop` can wait for it. */
  function track(work: Promise<unknown>) {
    const tracked = work
      .catch((error: unknown) => logger.error({ err: error }, 'toolset reconcile failed'))
      .finally(() => running.delete(tracked));
    running.add(tracked);
  }

  /** Picks up generations nobody reconciled: after a crash, or written by a node that stopped. */
  async function sweep(): Promise<void> {
    for (const key of await toolsets.listUnreconciled(db.kysely, clock.now(), 50)) await reconcile(key);
  }

  return {
    reconcile,
    tryConvert,
    sweep,
    /** Reconcile soon, without making the caller wait. */
    trigger: (key: ToolsetKey) => track(reconcile(key)),
    start(intervalMs: number) {
      timer = setInterval(() => track(sweep()), intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await Promise.all([...running]);
      await converter.close();
    },
  };
}

export type ToolsetReconciler = ReturnType<typeof createToolsetReconciler>;
