import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { convertOpenApi, type ConversionResult, type GeneratedTool } from './convert-openapi.js';
import { assembleInputSchema } from './served-schema.js';

const fixtureDir = new URL('./fixtures/', import.meta.url);
const fixtureNames = readdirSync(fixtureDir).sort();

function fixture(name: string): string {
  return readFileSync(new URL(name, fixtureDir), 'utf8');
}

function convertFixture(name: string): ConversionResult {
  return convertOpenApi(fixture(name));
}

/** The tools with their input schemas self-contained, as served (shared definitions under their own $defs). */
function selfContained(result: ConversionResult): GeneratedTool[] {
  return result.tools.map((t) => ({ ...t, inputSchema: assembleInputSchema(t.inputSchema, result.definitions) }));
}

function tool(result: ConversionResult, name: string): GeneratedTool {
  const found = selfContained(result).find((candidate) => candidate.name === name);
  assert.ok(found, `no tool named ${name} in ${result.tools.map((t) => t.name).join(', ')}`);
  return found;
}

function properties(t: GeneratedTool): Record<string, Record<string, unknown>> {
  return t.inputSchema.properties as Record<string, Record<string, unknown>>;
}

// The gateway's settings: strict about keywords, while OpenAPI's own formats (int32, binary…) are left unchecked.
function compile(t: GeneratedTool) {
  return new Ajv2020({ strict: true, validateFormats: false, allErrors: true }).compile(t.inputSchema);
}

describe('convertOpenApi on a Petstore-like OpenAPI 3.0 YAML document', () => {
  const result = convertFixture('petstore-3.0.yaml');

  it('makes one tool per operation, in path then method order, named after the operationIds', () => {
    assert.deepEqual(
      result.tools.map((t) => t.name),
      ['listPets', 'createPet', 'showPetById', 'replacePet', 'deletePet'],
    );
    assert.equal(result.title, 'Pet shop');
    assert.equal(result.version, '1.4.0');
  });

  it('fills server variables with their defaults and gives every operation the first server', () => {
    assert.deepEqual(result.servers, ['https://eu.pets.example.com/v1', 'https://sandbox.pets.example.com/v1']);
    assert.ok(result.tools.every((t) => t.operation.serverUrl === 'https://eu.pets.example.com/v1'));
  });

  it('describes a tool by its summary then its description, or by method and path when it has neither', () => {
    assert.equal(tool(result, 'listPets').description, 'List all pets\n\nReturns pets page by page, newest first.');
    assert.equal(tool(result, 'deletePet').description, 'DELETE /pets/{petId}');
  });

  it('requires path parameters and lets operation parameters override path-level ones of the same name', () => {
    const replace = tool(result, 'replacePet');
    assert.deepEqual(replace.operation.parameters, [
      { name: 'petId', in: 'path', required: true },
      { name: 'If-Match', in: 'header', required: true },
    ]);
    assert.equal(properties(replace)['If-Match']?.description, "The pet's current ETag");
    assert.deepEqual(tool(result, 'deletePet').operation.parameters[1], {
      name: 'If-Match',
      in: 'header',
      required: false,
    });
    assert.deepEqual(tool(result, 'showPetById').inputSchema.required, ['petId']);
    assert.equal(properties(tool(result, 'showPetById')).petId?.description, 'The id of the pet');
  });

  it('leaves out Authorization headers and cookie parameters, which the gateway owns', () => {
    const list = tool(result, 'listPets');
    assert.deepEqual(Object.keys(properties(list)), ['limit', 'tags', 'X-Request-Id']);
    assert.equal(list.inputSchema.additionalProperties, false);
  });

  it('spreads an object body into the arguments and omits readOnly properties', () => {
    const create = tool(result, 'createPet');
    assert.deepEqual(create.operation.body, { contentType: 'application/json', required: true, property: null });
    assert.deepEqual(Object.keys(properties(create)), ['name', 'kind', 'tag', 'birthday']);
    assert.deepEqual(create.inputSchema.required, ['name']);
  });

  it('prefers the JSON body over other media types', () => {
    assert.equal(tool(result, 'replacePet').operation.body?.contentType, 'application/json');
  });

  it('turns nullable into a type union and draft 4 exclusive bounds into numbers', () => {
    const create = properties(tool(result, 'createPet'));
    assert.deepEqual(create.tag, { type: ['string', 'null'] });
    assert.deepEqual(create.birthday, { type: ['string', 'null'], format: 'date' });
    assert.deepEqual(properties(tool(result, 'listPets')).limit, {
      type: 'integer',
      format: 'int32',
      minimum: 1,
      exclusiveMaximum: 100,
      description: 'How many pets to return at most',
    });
  });

  it('drops OpenAPI-only keywords and keeps an example as examples', () => {
    const text = JSON.stringify(result.tools.map((t) => t.inputSchema));
    for (const keyword of ['discriminator', 'xml', 'externalDocs', 'x-display', 'nullable', '"example"']) {
      assert.ok(!text.includes(keyword), `${keyword} is still in the output`);
    }
    assert.deepEqual(properties(tool(result, 'createPet')).name, { type: 'string', minLength: 1, examples: ['Rex'] });
  });

  it('builds schemas that accept good arguments and reject bad ones', () => {
    const validate = compile(tool(result, 'createPet'));
    assert.ok(validate({ name: 'Rex', tag: null }));
    assert.ok(!validate({ tag: 'x' }));
    assert.ok(!validate({ name: 'Rex', kind: 'fish' }));
    const list = compile(tool(result, 'listPets'));
    assert.ok(list({ limit: 99 }));
    assert.ok(!list({ limit: 100 }));
    assert.ok(!list({ Authorization: 'Bearer x' }));
  });
});

describe('convertOpenApi on an OpenAPI 3.1 JSON document', () => {
  const result = convertFixture('library-3.1.json');

  it('makes a tool for each path operation and none for webhooks', () => {
    assert.deepEqual(
      result.tools.map((t) => t.name),
      ['searchBooks', 'addBook', 'updateBook', 'uploadPhoto', 'setAddress'],
    );
  });

  it('takes the server from the operation, else the path, else the document', () => {
    assert.equal(tool(result, 'searchBooks').operation.serverUrl, 'https://library.example.org/api');
    assert.equal(tool(result, 'updateBook').operation.serverUrl, 'https://books.library.example.org');
    assert.equal(tool(result, 'uploadPhoto').operation.serverUrl, 'https://media.library.example.org');
  });

  it('resolves referenced parameters and parameters described by content', () => {
    const search = tool(result, 'searchBooks');
    assert.deepEqual(properties(search).q, { type: 'string', minLength: 2, description: 'Words to look for' });
    assert.deepEqual(search.inputSchema.required, ['q']);
    assert.deepEqual(properties(search).filter?.properties, {
      author: { type: 'string' },
      since: { type: ['integer', 'null'] },
    });
  });

  it('keeps the description written beside a $ref', () => {
    assert.equal(properties(tool(result, 'addBook')).genre?.description, 'The main genre');
  });

  it('puts the body under body when one of its properties has a parameter name', () => {
    const update = tool(result, 'updateBook');
    assert.deepEqual(update.operation.body, {
      contentType: 'application/merge-patch+json',
      required: false,
      property: 'body',
    });
    assert.deepEqual(Object.keys(properties(update)), ['isbn', 'body']);
    assert.deepEqual(update.inputSchema.required, ['isbn']);
    assert.equal(update.inputSchema.additionalProperties, false);
    assert.deepEqual(tool(result, 'setAddress').operation.body?.property, 'body');
  });

  it('sends a non-JSON body as it is declared', () => {
    const upload = tool(result, 'uploadPhoto');
    assert.deepEqual(upload.operation.body, { contentType: 'image/png', required: true, property: 'body' });
    assert.deepEqual(upload.inputSchema.required, ['memberId', 'body']);
  });
});

describe('convertOpenApi on a Swagger 2.0 document', () => {
  const result = convertFixture('warehouse-swagger-2.0.yaml');

  it('builds the server URL from the first scheme, the host and the base path', () => {
    assert.deepEqual(result.servers, ['https://stock.example.net/v3']);
    assert.equal(tool(result, 'listItems').operation.serverUrl, 'https://stock.example.net/v3');
  });

  it('turns query parameters into schemas from their own type, items and bounds', () => {
    assert.deepEqual(properties(tool(result, 'listItems')), {
      status: { type: 'array', items: { type: 'string', enum: ['in_stock', 'sold_out'] } },
      minQuantity: { type: 'integer', exclusiveMinimum: 0 },
    });
  });

  it('maps an in: body parameter to the body, spread when possible', () => {
    const add = tool(result, 'addItem');
    assert.deepEqual(add.operation.body, { contentType: 'application/json', required: true, property: null });
    assert.deepEqual(add.inputSchema.required, ['sku', 'quantity']);
    assert.deepEqual(properties(add).note, { type: ['string', 'null'] });
    assert.deepEqual(tool(result, 'replaceItem').operation.body?.property, 'body');
  });

  it('maps formData parameters to a multipart body with a binary file', () => {
    const upload = tool(result, 'uploadLabel');
    assert.deepEqual(upload.operation.body, { contentType: 'multipart/form-data', required: true, property: null });
    assert.deepEqual(properties(upload).file, { type: 'string', format: 'binary' });
    assert.deepEqual(upload.inputSchema.required, ['sku', 'file']);
  });
});

describe('convertOpenApi on schemas with cycles, allOf and oneOf', () => {
  const result = convertFixture('shapes-3.0.yaml');

  it('keeps a recursive schema in $defs and refers to it, so the output is finite JSON', () => {
    const plant = tool(result, 'plantTree');
    assert.deepEqual(Object.keys(plant.inputSchema.$defs as object), ['TreeNode']);
    assert.deepEqual(properties(plant).children, { type: 'array', items: { $ref: '#/$defs/TreeNode' } });
    assert.deepEqual(JSON.parse(JSON.stringify(plant.inputSchema)), plant.inputSchema);
    const validate = compile(plant);
    assert.ok(validate({ value: 'root', children: [{ value: 'a', children: [{ value: 'b' }] }] }));
    assert.ok(!validate({ value: 'root', children: [{ children: [] }] }));
  });

  it('gives each tool only the $defs it needs', () => {
    assert.deepEqual(Object.keys(tool(result, 'storeList').inputSchema.$defs as object), ['ListNode']);
    assert.deepEqual(Object.keys(tool(result, 'storePair').inputSchema.$defs as object), ['Ping']);
    assert.equal(tool(result, 'addDog').inputSchema.$defs, undefined);
    const list = compile(tool(result, 'storeList'));
    assert.ok(list({ head: { value: 1, next: { value: 2, next: null } } }));
    assert.ok(!list({ head: { value: 1, next: { value: 'two' } } }));
  });

  it('keeps a large shared body as one reference under body, so that it is stored once', () => {
    const big = {
      type: 'object',
      properties: Object.fromEntries(Array.from({ length: 2500 }, (_, i) => [`f${i}`, { type: 'string' }])),
    };
    const body = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Big' } } } };
    const query = { name: 'filter', in: 'query', schema: { $ref: '#/components/schemas/Big' } };
    const tools = selfContained(
      convertOpenApi(
        JSON.stringify({
          openapi: '3.0.3',
          info: { title: 't', version: '1' },
          paths: {
            '/a': { post: { operationId: 'spread', requestBody: body } },
            '/b': { post: { operationId: 'both', parameters: [query], requestBody: body } },
          },
          components: { schemas: { Big: big } },
        }),
      ),
    );
    const [spread, both] = tools;
    assert.deepEqual(spread!.inputSchema.properties, { body: { $ref: '#/$defs/Big' } });
    assert.deepEqual(Object.keys(spread!.inputSchema.$defs as object), ['Big']);
    // The query parameter still refers to the def, so it stays.
    assert.deepEqual((both!.inputSchema.properties as Record<string, unknown>).filter, { $ref: '#/$defs/Big' });
    assert.deepEqual(Object.keys(both!.inputSchema.$defs as object), ['Big']);
  });

  it('merges allOf into one object with the properties and required names of every part', () => {
    const dog = tool(result, 'addDog');
    assert.deepEqual(dog.inputSchema.properties, {
      name: { type: 'string', description: 'What the animal answers to' },
      barksPerHour: { type: 'integer', minimum: 0 },
    });
    assert.deepEqual(dog.inputSchema.required, ['name', 'barksPerHour']);
  });

  it('keeps oneOf and anyOf with their branches resolved', () => {
    const source = properties(tool(result, 'pay')).source as { oneOf: { required: string[] }[] };
    assert.deepEqual(
      source.oneOf.map((branch) => branch.required),
      [['number'], ['iban']],
    );
    assert.deepEqual(properties(tool(result, 'pay')).memo, { anyOf: [{ type: 'string' }, { type: 'integer' }] });
    const validate = compile(tool(result, 'pay'));
    assert.ok(validate({ amount: 5, source: { method: 'card', number: '4111' } }));
    assert.ok(!validate({ amount: 5, source: { method: 'card' } }));
  });

  it('makes a nullable allOf accept null', () => {
    assert.deepEqual(properties(tool(result, 'putNote')).body, {
      type: ['object', 'null'],
      properties: { text: { type: 'string' } },
    });
  });
});

describe('convertOpenApi naming', () => {
  it('sanitises operationIds, falls back to method and path, and de-duplicates in document order', () => {
    assert.deepEqual(
      convertFixture('odd-names-3.0.yaml').tools.map((t) => t.name),
      [
        'getThing',
        'getThing_3',
        'get_things_thingId_parts_partId',
        'delete_part_v2_legacy',
        'getThing_2',
        'put_things_thingId',
        'aVeryLongOperationIdentifierThatGoesOnAndOnPastTheSixtyFourChara',
        'aVeryLongOperationIdentifierThatGoesOnAndOnPastTheSixtyFourCha_2',
        'options_n_code_p_th',
        'n_code_trace',
      ],
    );
  });

  it('still asks for path parameters that the document forgot to declare', () => {
    const deletePart = tool(convertFixture('odd-names-3.0.yaml'), 'delete_part_v2_legacy');
    assert.deepEqual(deletePart.operation.parameters, [
      { name: 'thingId', in: 'path', required: true },
      { name: 'partId', in: 'path', required: true },
    ]);
    assert.deepEqual(deletePart.inputSchema.required, ['thingId', 'partId']);
  });

  it('gives only MCP-safe, unique names', () => {
    for (const name of fixtureNames) {
      const names = convertFixture(name).tools.map((t) => t.name);
      assert.equal(new Set(names).size, names.length, name);
      for (const toolName of names) assert.match(toolName, /^[A-Za-z0-9_-]{1,64}$/);
    }
  });
});

describe('convertOpenApi on every fixture', () => {
  it('gives the same result for the same document every time', () => {
    for (const name of fixtureNames) {
      assert.equal(JSON.stringify(convertFixture(name)), JSON.stringify(convertFixture(name)), name);
    }
  });

  it('makes inputSchemas that Ajv compiles as JSON Schema 2020-12 in strict mode', () => {
    for (const name of fixtureNames) {
      for (const t of selfContained(convertFixture(name))) {
        assert.doesNotThrow(() => compile(t), `${name}: ${t.name}`);
        assert.equal(t.inputSchema.type, 'object');
      }
    }
  });
});
