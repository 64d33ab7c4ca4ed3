import type { Logger } from 'pino';
import type { OpenApiToolRef, Toolset, ToolsetSpec, ToolsetStatus, ToolsetTool } from '../domain/toolset.js';
import { ConversionLimitError, type ConversionLimits } from '../openapi/conversion-limits.js';
import { OpenApiError } from '../openapi/convert-openapi.js';
import type { Db } from '../storage/database.js';
import * as toolsets from '../storage/toolset-repo.js';
import type { Writer } from '../storage/writer.js';
import { egressFetch } from '../egress/egress-connect.js';
import type { EgressPolicy } from '../egress/egress-policy.js';
import type { Clock } from './clock.js';
import { LimitExceeded, type WorkLimit } from './limit-exceeded.js';
import { listUpstreamTools, parseMcpTarget, type ListingCaps, type McpTarget } from './mcp-upstream.js';
import { createOpenApiConverter, type ConversionBounds } from './openapi-converter.js';

export interface ToolsetKey {
  readonly workspaceId: string;
  readonly name: string;
  readonly generation: number;
}

/** What a spec turned into: the tools to serve and, for OpenAPI, how to call each upstream. */
export interface Converted {
  readonly tools: readonly ToolsetTool[];
  readonly openApiTools: readonly OpenApiToolRef[];
  readonly operations: Readonly<Record<string, unknown>>;
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
  return !(error instanceof OpenApiError || error instanceof LimitExceeded || error instanceof InvalidSpec);
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
  claimTtlMs?: number;
  listMcpTools?: (target: McpTarget, timeoutMs: number, caps: ListingCaps) => Promise<ToolsetTool[]>;
}) {
  const { db, writer, clock, logger, mcpTimeoutMs, mcpListing } = deps;
  // A claim outlives the longest conversion or listing, so that no other node takes over work still running.
  const claimTtlMs = deps.claimTtlMs ?? Math.max(60_000, 2 * Math.max(deps.conversion.timeoutMs, mcpListing.timeoutMs));
  const mcpFetch = egressFetch(deps.egress);
  const listMcpTools =
    deps.listMcpTools ??
    ((target: McpTarget, timeoutMs: number, caps: ListingCaps) => listUpstreamTools(target, timeoutMs, caps, mcpFetch));
  const converter = createOpenApiConverter(deps.conversion);
  const running = new Set<Promise<unknown>>();
  let timer: NodeJS.Timeout | undefined;

  async function convert(type: 'OpenAPI' | 'MCP', detail: string): Promise<Converted> {
    if (type === 'MCP') {
      let target: McpTarget;
      try {
        target = parseMcpTarget(detail);
      } catch (error) {
        throw new InvalidSpec((error as Error).message);
      }
      const tools = await listMcpTools(target, mcpTimeoutMs, mcpListing);
      return { tools, openApiTools: [], operations: {} };
    }
    const { tools } = await converter.convert(detail);
    return {
      tools: tools.map(({ name, description, inputSchema }) => ({ name, description, inputSchema })),
      openApiTools: tools.map((t) => ({
        toolId: t.operation.operationId ?? t.name,
        toolName: t.name,
        method: t.operation.method.toUpperCase(),
        path: t.operation.path,
      })),
      operations: Object.fromEntries(tools.map((t) => [t.name, t.operation])),
    };
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
      return { ok: true, converted: await convert(spec.schema.type, spec.schema.detail) };
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
    let operations: Readonly<Record<string, unknown>> | undefined;
    let retryAt: string | undefined;
    try {
      const {
        tools,
        openApiTools,
        operations: calls,
      } = converted ?? (await convert(toolset.spec.schema.type, toolset.spec.schema.detail));
      operations = calls;
      status = {
        ...toolset.status,
        phase: 'Installed',
        message: null,
        outputs: { tools, openApiTools },
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
    const written = await writer.write((tx) => toolsets.writeStatus(tx, key, status, clock.now(), operations, retryAt));
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
