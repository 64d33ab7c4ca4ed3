import { dirname, extname, join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { ConversionLimitError, formatCount, type ConversionLimits } from '../openapi/conversion-limits.js';
import type { ConversionReply } from '../openapi/convert-openapi-task.js';
import { OpenApiError } from '../openapi/convert-openapi.js';
import { CurationError, type CuratedCatalog, type ServingBudget, type ToolCuration } from '../openapi/tool-catalog.js';
import type { ToolMode } from '../domain/toolset.js';
import { LimitExceeded } from './limit-exceeded.js';

/** The limits of one conversion, and how many may run at once. */
export interface ConversionBounds extends ConversionLimits {
  readonly timeoutMs: number;
  readonly memoryMb: number;
  readonly threads: number;
}

/**
 * How long a worker may take to start before its conversion's deadline starts anyway: a deadline counts the
 * conversion, not the thread's start (milliseconds from dist/, seconds through tsx on a loaded machine), but a
 * worker that never starts must not hold its caller for ever.
 */
const WORKER_START_ALLOWANCE_MS = 30_000;

// The task module next to this one's layer: .ts when running from the sources (tsx, whose loader the worker
// inherits through execArgv), .js in dist/.
const here = fileURLToPath(import.meta.url);
const TASK_FILE = join(dirname(here), '..', 'openapi', `convert-openapi-task${extname(here)}`);

/**
 * Converts OpenAPI documents on worker threads. Parsing and converting an upload can take seconds and much
 * memory; on a worker it neither stalls the event loop nor grows the node's heap, and a worker past its
 * deadline or memory is stopped (terminated), which a function on the main thread could never be.
 */
export function createOpenApiConverter(bounds: ConversionBounds) {
  const pool = new Piscina({
    filename: TASK_FILE,
    name: 'convertOpenApiTask',
    minThreads: 0,
    maxThreads: bounds.threads,
    // A worker kept a moment serves the next conversion of a burst (the reconciler's, one after another) without
    // starting again; then it exits, which is what gives its memory back: V8 keeps the heap a conversion grew to
    // (Microsoft Graph's takes the node from 310 MB to 950 MB RSS) for as long as the thread lives.
    idleTimeout: 1_000,
    resourceLimits: { maxOldGenerationSizeMb: bounds.memoryMb },
  });
  const limits: ConversionLimits = {
    maxOperations: bounds.maxOperations,
    maxToolSchemaBytes: bounds.maxToolSchemaBytes,
    maxToolsetSchemaBytes: bounds.maxToolsetSchemaBytes,
  };
  // Conversions wait here for a thread rather than in the pool, so that each deadline starts when its work does.
  const waiting: (() => void)[] = [];
  let active = 0;

  async function runBounded(
    text: string,
    curation: ToolCuration,
    budget: ServingBudget,
    toolMode: ToolMode | undefined,
  ): Promise<ConversionReply> {
    if (active >= bounds.threads) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    // The deadline starts when the worker takes the task up (it says so on `started` first thing).
    const stop = new AbortController();
    const { port1: onStart, port2: started } = new MessageChannel();
    let deadline = setTimeout(() => stop.abort(), bounds.timeoutMs + WORKER_START_ALLOWANCE_MS);
    onStart.once('message', () => {
      clearTimeout(deadline);
      deadline = setTimeout(() => stop.abort(), bounds.timeoutMs);
    });
    try {
      return (await pool.run(
        { text, limits, curation, budget, toolMode, started },
        { signal: stop.signal, transferList: [started] },
      )) as ConversionReply;
    } catch (error) {
      if (stop.signal.aborted)
        throw new LimitExceeded(
          'conversionTimeoutMs',
          `the conversion took longer than ${formatCount(bounds.timeoutMs)} ms`,
        );
      if ((error as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
        throw new LimitExceeded(
          'conversionMemoryMb',
          `the conversion needed more than ${formatCount(bounds.memoryMb)} MB of memory`,
        );
      }
      throw error;
    } finally {
      clearTimeout(deadline);
      onStart.close();
      active--;
      waiting.shift()?.();
    }
  }

  return {
    /**
     * Converts and curates a document within `bounds`; throws OpenApiError (ConversionLimitError), CurationError
     * or LimitExceeded.
     */
    async convert(
      text: string,
      curation: ToolCuration,
      budget: ServingBudget,
      toolMode?: ToolMode,
    ): Promise<CuratedCatalog> {
      const reply = await runBounded(text, curation, budget, toolMode);
      if (reply.ok) return JSON.parse(reply.json) as CuratedCatalog;
      if (reply.curation) throw new CurationError(reply.message);
      if (reply.limit !== null) throw new ConversionLimitError(reply.limit, reply.message, reply.pointer, reply.line);
      throw new OpenApiError(reply.message, reply.pointer, reply.line);
    },
    /** Worker threads alive now: a conversion stopped at its deadline or memory has had its thread terminated. */
    threadCount: (): number => pool.threads.length,
    /** Stops the workers; a conversion still running fails. */
    close: () => pool.destroy(),
  };
}

export type OpenApiConverter = ReturnType<typeof createOpenApiConverter>;
