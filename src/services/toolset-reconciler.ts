import type { Logger } from 'pino';
import type { OpenApiToolRef, ToolsetStatus, ToolsetTool } from '../domain/toolset.js';
import { OpenApiError, convertOpenApi } from '../openapi/convert-openapi.js';
import type { Db } from '../storage/database.js';
import * as toolsets from '../storage/toolset-repo.js';
import type { Writer } from '../storage/writer.js';
import { egressFetch } from '../egress/egress-connect.js';
import type { EgressPolicy } from '../egress/egress-policy.js';
import type { Clock } from './context.js';
import { listUpstreamTools, parseMcpTarget, type McpTarget } from './mcp-upstream.js';

export interface ToolsetKey {
  readonly workspaceId: string;
  readonly name: string;
  readonly generation: number;
}

/** What a spec turned into: the tools to serve and, for OpenAPI, how to call each upstream. */
interface Converted {
  readonly tools: readonly ToolsetTool[];
  readonly openApiTools: readonly OpenApiToolRef[];
  readonly operations: Readonly<Record<string, unknown>>;
}

function describeFailure(error: unknown): string {
  if (error instanceof OpenApiError) {
    const where = [error.pointer === '' ? 'the document root' : `#${error.pointer}`, error.line === null ? null : `line ${error.line}`]
      .filter(Boolean)
      .join(', ');
    return `${error.message} (at ${where})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Turns each toolset generation into status, once, whichever node gets to it first: a node claims a
 * generation with a conditional update, converts the spec, and writes the status only if the generation
 * is still current. A failed spec keeps the last good tools (phase Failed, with a message naming the spot).
 */
export function createToolsetReconciler(deps: {
  db: Db;
  writer: Writer;
  clock: Clock;
  logger: Logger;
  mcpTimeoutMs: number;
  /** MCP upstreams are reached only through it. */
  egress: EgressPolicy;
  claimTtlMs?: number;
  listMcpTools?: (target: McpTarget, timeoutMs: number) => Promise<ToolsetTool[]>;
}) {
  const { db, writer, clock, logger, mcpTimeoutMs } = deps;
  const claimTtlMs = deps.claimTtlMs ?? 60_000;
  const mcpFetch = egressFetch(deps.egress);
  const listMcpTools = deps.listMcpTools ?? ((target: McpTarget, timeoutMs: number) => listUpstreamTools(target, timeoutMs, mcpFetch));
  const running = new Set<Promise<unknown>>();
  let timer: NodeJS.Timeout | undefined;

  async function convert(type: 'OpenAPI' | 'MCP', detail: string): Promise<Converted> {
    if (type === 'MCP') {
      const tools = await listMcpTools(parseMcpTarget(detail), mcpTimeoutMs);
      return { tools, openApiTools: [], operations: {} };
    }
    const { tools } = convertOpenApi(detail);
    return {
      tools: tools.map(({ name, description, inputSchema }) => ({ name, description, inputSchema })),
      openApiTools: tools.map((t) => ({ toolId: t.operation.operationId ?? t.name, toolName: t.name, method: t.operation.method.toUpperCase(), path: t.operation.path })),
      operations: Object.fromEntries(tools.map((t) => [t.name, t.operation])),
    };
  }

  /** Reconciles one generation if this node wins its claim; true when it wrote a status. */
  async function reconcile(key: ToolsetKey): Promise<boolean> {
    const claimedAt = clock.now();
    const expires = new Date(Date.parse(claimedAt) + claimTtlMs).toISOString();
    if (!(await writer.write((tx) => toolsets.claimGeneration(tx, key, claimedAt, expires)))) return false;
    const toolset = await toolsets.findToolset(db.kysely, key.workspaceId, key.name);
    if (!toolset || toolset.generation !== key.generation) return false;
    let status: ToolsetStatus;
    let operations: Readonly<Record<string, unknown>> | undefined;
    try {
      const converted = await convert(toolset.spec.schema.type, toolset.spec.schema.detail);
      operations = converted.operations;
      status = {
        ...toolset.status,
        phase: 'Installed',
        message: null,
        outputs: { ...toolset.status.outputs, tools: converted.tools, openApiTools: converted.openApiTools },
        observedTime: clock.now(),
        observedGeneration: key.generation,
      };
    } catch (error) {
      status = { ...toolset.status, phase: 'Failed', message: describeFailure(error), observedTime: clock.now(), observedGeneration: key.generation };
    }
    const written = await writer.write((tx) => toolsets.writeStatus(tx, key, status, clock.now(), operations));
    if (written) logger.info({ workspaceId: key.workspaceId, toolset: key.name, generation: key.generation, phase: status.phase }, 'toolset reconciled');
    return written;
  }

  /** Runs a reconcile in the background, keeping track of it so that `stop` can wait for it. */
  function track(work: Promise<unknown>) {
    const tracked = work.catch((error: unknown) => logger.error({ err: error }, 'toolset reconcile failed')).finally(() => running.delete(tracked));
    running.add(tracked);
  }

  /** Picks up generations nobody reconciled: after a crash, or written by a node that stopped. */
  async function sweep(): Promise<void> {
    for (const key of await toolsets.listUnreconciled(db.kysely, clock.now(), 50)) await reconcile(key);
  }

  return {
    reconcile,
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
    },
  };
}

export type ToolsetReconciler = ReturnType<typeof createToolsetReconciler>;
