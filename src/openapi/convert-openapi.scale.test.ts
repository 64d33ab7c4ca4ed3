import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { convertOpenApi } from './convert-openapi.js';

/** A document with `resources` × 4 operations, sharing schemas (one recursive, one allOf) the way large APIs do. */
function generateDocument(resources: number): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (let i = 0; i < resources; i++) {
    const item = { $ref: `#/components/schemas/Item${i % 50}` };
    paths[`/tenants/{tenantId}/resources${i}`] = {
      parameters: [{ $ref: '#/components/parameters/TenantId' }],
      get: {
        operationId: `listResources${i}`,
        summary: `List resources of kind ${i}`,
        parameters: [{ $ref: '#/components/parameters/Limit' }, { name: 'filter', in: 'query', schema: { type: 'string' } }],
      },
      post: {
        operationId: `createResource${i}`,
        requestBody: { required: true, content: { 'application/json': { schema: item } } },
      },
    };
    paths[`/tenants/{tenantId}/resources${i}/{id}`] = {
      parameters: [{ $ref: '#/components/parameters/TenantId' }, { name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      put: { operationId: `replaceResource${i}`, requestBody: { content: { 'application/json': { schema: item } } } },
      delete: { description: 'Deletes one resource; no operationId, so the name comes from method and path.' },
    };
  }
  const schemas: Record<string, unknown> = {
    Node: { type: 'object', properties: { label: { type: 'string' }, children: { type: 'array', items: { $ref: '#/components/schemas/Node' } } } },
    Base: { type: 'object', required: ['name'], properties: { id: { type: 'string', readOnly: true }, name: { type: 'string' } } },
  };
  for (let k = 0; k < 50; k++) {
    schemas[`Item${k}`] = {
      allOf: [
        { $ref: '#/components/schemas/Base' },
        {
          type: 'object',
          properties: {
            [`field${k}`]: { type: 'integer', nullable: true, example: k },
            tags: { type: 'array', items: { type: 'string' } },
            tree: { $ref: '#/components/schemas/Node' },
            kind: { oneOf: [{ type: 'string' }, { type: 'number' }] },
          },
        },
      ],
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Generated', version: '1' },
    servers: [{ url: 'https://api.example.com' }],
    paths,
    components: {
      schemas,
      parameters: {
        TenantId: { name: 'tenantId', in: 'path', required: true, schema: { type: 'string' } },
        Limit: { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
      },
    },
  };
}

/** Converts twice: the first run includes compiling the code paths, the second is the steady state of a busy server. */
function timed(text: string): { first: number; second: number; tools: number } {
  const times: number[] = [];
  let tools = 0;
  for (let run = 0; run < 2; run++) {
    const started = performance.now();
    tools = convertOpenApi(text).tools.length;
    times.push(performance.now() - started);
  }
  const [first = 0, second = 0] = times;
  return { first, second, tools };
}

describe('convertOpenApi at scale', () => {
  const document = generateDocument(500);

  // Correctness at scale only: the times are printed as diagnostics, never asserted (timings belong in bench/).
  it('converts a 2,000-operation JSON document', (t) => {
    const text = JSON.stringify(document);
    const { first, second, tools } = timed(text);
    t.diagnostic(`2,000 operations from ${Math.round(text.length / 1024)} KiB of JSON: ${first.toFixed(0)} ms first, ${second.toFixed(0)} ms again`);
    assert.equal(tools, 2000);
  });

  it('converts the same document written as YAML', (t) => {
    const text = stringify(document);
    const { first, second, tools } = timed(text);
    t.diagnostic(`2,000 operations from ${Math.round(text.length / 1024)} KiB of YAML: ${first.toFixed(0)} ms first, ${second.toFixed(0)} ms again`);
    assert.equal(tools, 2000);
  });

  it('keeps schemas that would expand exponentially to a bounded size through $defs', () => {
    // Level k has ten properties that all refer to level k+1: inlined, the body would hold 10^8 nodes.
    const schemas: Record<string, unknown> = { Level8: { type: 'string' } };
    for (let k = 0; k < 8; k++) {
      const next = { $ref: `#/components/schemas/Level${k + 1}` };
      schemas[`Level${k}`] = { type: 'object', properties: Object.fromEntries(Array.from({ length: 10 }, (_, p) => [`p${p}`, next])) };
    }
    const text = JSON.stringify({
      openapi: '3.1.0',
      info: { title: 'Fan-out', version: '1' },
      paths: { '/deep': { post: { operationId: 'deep', requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Level0' } } } } } } },
      components: { schemas },
    });
    const [tool] = convertOpenApi(text).tools;
    assert.ok(tool);
    const size = JSON.stringify(tool.inputSchema).length;
    assert.ok(size < 500_000, `inputSchema is ${size} characters`);
    assert.ok(Object.keys(tool.inputSchema.$defs as object).length > 0);
  });
});
