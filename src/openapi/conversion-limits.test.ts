import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConversionLimitError, UNLIMITED } from './conversion-limits.js';
import { convertOpenApiTask } from './convert-openapi-task.js';
import { convertOpenApi } from './convert-openapi.js';
import type { CuratedCatalog } from './tool-catalog.js';

/** `count` operations whose bodies all use one shared schema of `properties` properties. */
function sharedDocument(count: number, properties: number): string {
  const shared = {
    type: 'object',
    properties: Object.fromEntries(Array.from({ length: properties }, (_, i) => [`f${i}`, { type: 'string' }])),
  };
  const body = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Shared' } } } };
  const paths = Object.fromEntries(
    Array.from({ length: count }, (_, i) => [`/r${i}`, { post: { operationId: `op${i}`, requestBody: body } }]),
  );
  return JSON.stringify(
    { openapi: '3.0.3', info: { title: 't', version: '1' }, paths, components: { schemas: { Shared: shared } } },
    null,
    1,
  );
}

function limitError(text: string, limits: Partial<typeof UNLIMITED>): ConversionLimitError {
  try {
    convertOpenApi(text, { ...UNLIMITED, ...limits });
  } catch (error) {
    assert.ok(error instanceof ConversionLimitError, String(error));
    return error;
  }
  assert.fail('converted within the limits');
}

const budget = { maxSchemaBytes: 16 * 1024 };

describe('conversion limits', () => {
  it('counts operations before converting any', () => {
    const error = limitError(sharedDocument(3, 1), { maxOperations: 2 });
    assert.equal(error.limit, 'maxOperations');
    assert.equal(error.message, 'the document has 3 operations, over the limit of 2 per toolset');
    assert.equal(error.pointer, '/paths');
    assert.equal(convertOpenApi(sharedDocument(2, 1), { ...UNLIMITED, maxOperations: 2 }).tools.length, 2);
  });

  it("counts a tool's input schema in JSON bytes as served, stopping at the operation that outgrows it", () => {
    const text = sharedDocument(2, 50);
    const served = convertOpenApi(text).tools.map((tool) => Buffer.byteLength(JSON.stringify(tool.inputSchema)));
    assert.equal(convertOpenApi(text, { ...UNLIMITED, maxToolSchemaBytes: Math.max(...served) }).tools.length, 2);
    const error = limitError(text, { maxToolSchemaBytes: Math.max(...served) - 1 });
    assert.equal(error.limit, 'maxToolSchemaBytes');
    assert.equal(error.pointer, '/paths/~1r0/post');
    assert.equal(typeof error.line, 'number');
    assert.match(error.message, new RegExp(`is ${served[0]!.toLocaleString('en')} bytes, over the limit of`));
  });

  it('sums what a document stores: each tool its own schema, the shared definitions once', () => {
    const text = sharedDocument(10, 50);
    const converted = convertOpenApi(text);
    const tools = converted.tools.reduce((sum, tool) => sum + Buffer.byteLength(JSON.stringify(tool.inputSchema)), 0);
    const total = tools + Buffer.byteLength(JSON.stringify(converted.definitions));
    assert.equal(convertOpenApi(text, { ...UNLIMITED, maxToolsetSchemaBytes: total }).tools.length, 10);
    const definitions = limitError(text, { maxToolsetSchemaBytes: total - 1 });
    assert.equal(definitions.limit, 'maxToolsetSchemaBytes');
    assert.equal(definitions.pointer, '/components');
    const last = limitError(text, { maxToolsetSchemaBytes: tools - 1 });
    assert.equal(last.pointer, '/paths/~1r9/post');
  });

  it('stores a shared schema that 1,800 tools take once, not once per tool', () => {
    const { tools, definitions } = convertOpenApi(sharedDocument(1800, 15_000), {
      ...UNLIMITED,
      maxToolSchemaBytes: 256,
      maxToolsetSchemaBytes: 1024 * 1024,
    });
    assert.equal(tools.length, 1800);
    assert.deepEqual(Object.keys(definitions), ['Shared']);
    assert.deepEqual(tools[0]!.inputSchema.properties, { body: { $ref: '#/$defs/Shared' } });
  });

  it('answers a worker thread with plain data, limits named', () => {
    const ok = convertOpenApiTask({ text: sharedDocument(1, 1), limits: UNLIMITED, curation: {}, budget });
    assert.ok(ok.ok);
    assert.equal((JSON.parse(ok.json) as CuratedCatalog).catalog.tools.length, 1);
    const limited = { ...UNLIMITED, maxOperations: 2 };
    assert.deepEqual(convertOpenApiTask({ text: sharedDocument(3, 1), limits: limited, curation: {}, budget }), {
      ok: false,
      message: 'the document has 3 operations, over the limit of 2 per toolset',
      pointer: '/paths',
      line: 7,
      limit: 'maxOperations',
    });
    const broken = convertOpenApiTask({ text: 'openapi: 9.0.0', limits: UNLIMITED, curation: {}, budget });
    assert.equal(broken.ok, false);
    assert.equal(!broken.ok && broken.limit, null);
  });
});
