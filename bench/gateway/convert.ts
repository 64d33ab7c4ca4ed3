/**
 * The converter row of `bench:gateway`, run as its own child process so that it starts cold, as a server
 * converting a newly stored document does: `convertOpenApi` on a generated 2,000-operation document, written as
 * JSON or as YAML (CONVERT_FORMAT, one process each), twice (the first run includes compiling the code paths).
 * Prints one JSON line on stdout.
 */
import { stringify } from 'yaml';
import { convertOpenApi } from '../../src/openapi/convert-openapi.js';
import { generatedDocument } from './openapi-document.js';

export interface ConvertTiming {
  readonly format: 'JSON' | 'YAML';
  readonly operations: number;
  readonly kib: number;
  readonly tools: number;
  readonly firstMs: number;
  readonly secondMs: number;
}

const resources = Number(process.env.CONVERT_RESOURCES ?? 500);
const format = process.env.CONVERT_FORMAT === 'YAML' ? 'YAML' : 'JSON';
const document = generatedDocument(resources);
const text = format === 'YAML' ? stringify(document) : JSON.stringify(document);
{
  const times: number[] = [];
  let tools = 0;
  for (let run = 0; run < 2; run++) {
    const started = performance.now();
    tools = convertOpenApi(text).tools.length;
    times.push(performance.now() - started);
  }
  const timing: ConvertTiming = {
    format,
    operations: resources * 4,
    kib: Math.round(Buffer.byteLength(text) / 1024),
    tools,
    firstMs: times[0]!,
    secondMs: times[1]!,
  };
  process.stdout.write(`${JSON.stringify(timing)}\n`);
}
