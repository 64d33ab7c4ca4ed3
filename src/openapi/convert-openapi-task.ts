import type { MessagePort } from 'node:worker_threads';
import { ConversionLimitError, type ConversionLimits } from './conversion-limits.js';
import { convertOpenApi, OpenApiError } from './convert-openapi.js';
import type { ToolMode } from '../domain/toolset.js';
import {
  curateCatalog,
  mayServeStatically,
  CurationError,
  type CatalogTool,
  type CuratedCatalog,
  type ServingBudget,
  type ToolCuration,
} from './tool-catalog.js';

/** What a worker thread is asked: a document, its limits, the spec's curation and the serving budget. */
export interface ConversionTask {
  readonly text: string;
  readonly limits: ConversionLimits;
  readonly curation: ToolCuration;
  readonly budget: ServingBudget;
  /** The spec's tool mode: a toolset that will be served statically has its static list measured exactly. */
  readonly toolMode?: ToolMode;
  /** Told as the task starts on its worker: the conversion's deadline starts then, not while the thread starts. */
  readonly started?: MessagePort;
}

/** What a worker thread sends back: plain data, since errors lose their class between threads. */
export type ConversionReply =
  /**
   * `json` is the CuratedCatalog as JSON text: a string crosses threads at once, while a structured clone of
   * thousands of small schema objects costs the receiving (main) thread far more than parsing their JSON.
   */
  | { readonly ok: true; readonly json: string }
  | {
      readonly ok: false;
      readonly message: string;
      readonly pointer: string;
      readonly line: number | null;
      readonly limit: keyof ConversionLimits | null;
      /** The spec's curation does not fit the document's tools (not the document's fault). */
      readonly curation?: true;
    };

/**
 * {@link convertOpenApi}, curation and measuring as a worker thread's task: parsing, conversion and the
 * compaction of every served schema all stay off the caller's thread, and only the curated catalogue (shared
 * schemas once) comes back.
 */
export function convertOpenApiTask(input: ConversionTask): ConversionReply {
  input.started?.postMessage(null);
  input.started?.close();
  try {
    const converted = convertOpenApi(input.text, input.limits);
    const tools: CatalogTool[] = converted.tools.map((t) => ({
      name: t.name,
      description: t.description,
      inputSchema: t.inputSchema,
      method: t.operation.method.toUpperCase(),
      path: t.operation.path,
      tags: t.tags,
      operationId: t.operation.operationId,
    }));
    const operations = Object.fromEntries(converted.tools.map((t) => [t.name, t.operation]));
    return {
      ok: true,
      json: jsonOf(
        curateCatalog(
          tools,
          converted.definitions,
          operations,
          input.curation,
          input.budget,
          mayServeStatically(input.toolMode),
        ),
      ),
    };
  } catch (error) {
    if (error instanceof CurationError)
      return { ok: false, message: error.message, pointer: '', line: null, limit: null, curation: true };
    if (error instanceof OpenApiError) {
      const limit = error instanceof ConversionLimitError ? error.limit : null;
      return { ok: false, message: error.message, pointer: error.pointer, line: error.line, limit };
    }
    // The same document fails the same way every time: a converter bug is the document's failure too.
    return {
      ok: false,
      message: `the document could not be converted: ${(error as Error).message}`,
      pointer: '',
      line: null,
      limit: null,
    };
  }
}

const jsonOf = (curated: CuratedCatalog) => JSON.stringify(curated);
