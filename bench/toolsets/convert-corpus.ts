/**
 * The conversion part of `bench:toolsets`: every document of the corpus (or an evenly spaced sample) through
 * plugboard's own converter on its worker thread (`createOpenApiConverter`, as the reconciler runs it), with room
 * enough that the sizes of what the largest documents turn into can be seen. What the server's default limits
 * would refuse is counted from those sizes.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config.js';
import { assembleInputSchema } from '../../src/openapi/served-schema.js';
import { createOpenApiConverter } from '../../src/services/openapi-converter.js';
import { say } from '../common/plugboard.js';
import type { CorpusDocument } from './corpus.js';

export interface DocumentFigures {
  readonly id: string;
  readonly documentBytes: number;
  /** Null when the conversion failed (`error` says why). */
  readonly ms: number | null;
  readonly tools: number;
  /** Sum of the tools' input schemas as JSON. */
  readonly schemaBytes: number;
  readonly largestSchemaBytes: number;
  /** A static tools/list answer's `result` with every tool: name, description, inputSchema. */
  readonly listBytes: number;
  readonly error: string | null;
}

/** The server's own defaults (an empty environment), which the figures are held against. */
export const serverDefaults = loadConfig({}).toolsets.conversion;
const MiB = 1024 * 1024;
/** The server's default document limit (TOOLSET_MAX_DOCUMENT_BYTES), which the toolset routes' bodies share. */
export const DOCUMENT_LIMIT = loadConfig({}).toolsets.maxDocumentBytes;

export async function convertCorpus(documents: readonly CorpusDocument[]): Promise<DocumentFigures[]> {
  const converter = createOpenApiConverter({
    timeoutMs: 600_000,
    memoryMb: 8192,
    threads: 1,
    maxOperations: Number.POSITIVE_INFINITY,
    maxToolSchemaBytes: Number.POSITIVE_INFINITY,
    maxToolsetSchemaBytes: Number.POSITIVE_INFINITY,
  });
  const figures: DocumentFigures[] = [];
  try {
    for (const [i, document] of documents.entries()) {
      if (i % 200 === 0) say(`converting ${i + 1}–${Math.min(i + 200, documents.length)} of ${documents.length}…`);
      const text = readFileSync(document.file, 'utf8');
      const documentBytes = Buffer.byteLength(text);
      const started = performance.now();
      try {
        // No curation and no budget: every operation, each schema self-contained as a static catalogue serves it.
        const { catalog } = await converter.convert(text, {}, { maxSchemaBytes: Number.POSITIVE_INFINITY }, 'static');
        const ms = performance.now() - started;
        const { tools, definitions } = catalog;
        const sizes = tools.map((tool) =>
          Buffer.byteLength(JSON.stringify(assembleInputSchema(tool.inputSchema, definitions))),
        );
        // Tool by tool: the whole answer of the largest documents is longer than a JavaScript string may be.
        const listBytes = tools.reduce(
          (sum, { name, description }, i) =>
            sum + Buffer.byteLength(JSON.stringify({ name, description, inputSchema: {} })) - 2 + (sizes[i] ?? 0) + 1,
          Buffer.byteLength('{"tools":[]}') - 1,
        );
        figures.push({
          id: document.id,
          documentBytes,
          ms,
          tools: tools.length,
          schemaBytes: sizes.reduce((sum, size) => sum + size, 0),
          largestSchemaBytes: Math.max(0, ...sizes),
          listBytes,
          error: null,
        });
      } catch (error) {
        const ms = performance.now() - started;
        const message = error instanceof Error ? error.message : String(error);
        figures.push({
          id: document.id,
          documentBytes,
          ms,
          tools: 0,
          schemaBytes: 0,
          largestSchemaBytes: 0,
          listBytes: 0,
          error: message.slice(0, 200),
        });
      }
    }
  } finally {
    await converter.close();
  }
  return figures;
}

/** Why the server, with its default settings, would refuse a document it converted here; null if it would not. */
export function refusedByDefaults(figures: DocumentFigures): string | null {
  if (figures.documentBytes > DOCUMENT_LIMIT) return `document over ${DOCUMENT_LIMIT / MiB} MiB`;
  if (figures.tools > serverDefaults.maxOperations) return 'operations';
  if (figures.largestSchemaBytes > serverDefaults.maxToolSchemaBytes) return 'one tool schema';
  if (figures.schemaBytes > serverDefaults.maxToolsetSchemaBytes) return 'toolset schemas';
  return null;
}
