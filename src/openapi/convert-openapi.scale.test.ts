import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { generatedDocument } from '../../bench/gateway/openapi-document.js';
import { assembleInputSchema } from './served-schema.js';
import { convertOpenApi } from './convert-openapi.js';

// The same generated document bench:gateway times; here only what it converts to is checked.
const generateDocument = generatedDocument;

describe('convertOpenApi at scale', () => {
  const document = generateDocument(500);

  // Correctness at scale only: the times are printed as diagnostics, never asserted (timings belong in bench/).
  it('converts a 2,000-operation JSON document', (t) => {
    const text = JSON.stringify(document);
    const { tools } = convertOpenApi(text);
    t.diagnostic(
      `2,000 operations from ${Math.round(text.length / 1024)} KiB of JSON (timed by npm run bench:gateway)`,
    );
    assert.equal(tools.length, 2000);
    assert.equal(new Set(tools.map((tool) => tool.name)).size, 2000);
  });

  it('converts the same document written as YAML', (t) => {
    const text = stringify(document);
    const { tools } = convertOpenApi(text);
    t.diagnostic(
      `2,000 operations from ${Math.round(text.length / 1024)} KiB of YAML (timed by npm run bench:gateway)`,
    );
    assert.equal(tools.length, 2000);
  });

  it('keeps schemas that would expand exponentially to a bounded size through $defs', () => {
    // Level k has ten properties that all refer to level k+1: inlined, the body would hold 10^8 nodes.
    const schemas: Record<string, unknown> = { Level8: { type: 'string' } };
    for (let k = 0; k < 8; k++) {
      const next = { $ref: `#/components/schemas/Level${k + 1}` };
      schemas[`Level${k}`] = {
        type: 'object',
        properties: Object.fromEntries(Array.from({ length: 10 }, (_, p) => [`p${p}`, next])),
      };
    }
    const text = JSON.stringify({
      openapi: '3.1.0',
      info: { title: 'Fan-out', version: '1' },
      paths: {
        '/deep': {
          post: {
            operationId: 'deep',
            requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Level0' } } } },
          },
        },
      },
      components: { schemas },
    });
    const { tools, definitions } = convertOpenApi(text);
    assert.ok(tools[0]);
    const inputSchema = assembleInputSchema(tools[0].inputSchema, definitions);
    const size = JSON.stringify(inputSchema).length;
    assert.ok(size < 500_000, `inputSchema is ${size} characters`);
    assert.ok(Object.keys(inputSchema.$defs as object).length > 0);
  });
});
