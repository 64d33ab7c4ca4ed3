import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  assembleInputSchema,
  compactInputSchema,
  neededDefinitions,
  withoutDuplicateRequired,
} from './served-schema.js';

const NOTE = 'collapsed: call describe_tool';
const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
const compile = (schema: object) =>
  new Ajv2020({ strict: true, validateFormats: false, allErrors: true }).compile(schema);

/** A wide, deep schema: `width` optional object properties of `width` string parts, two required parameters. */
function bigSchema(width: number): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    id: { type: 'string', description: 'The id.' },
    kind: { type: 'string', enum: ['a', 'b', 'c'] },
    tree: { $ref: '#/$defs/Node' },
  };
  for (let i = 0; i < width; i++)
    properties[`p${i}`] = {
      type: 'object',
      description: `Property ${i}. `.repeat(30),
      examples: [{}],
      properties: Object.fromEntries(
        Array.from({ length: width }, (_, j) => [`q${j}`, { type: 'string', description: `Part ${j} of ${i}` }]),
      ),
    };
  return {
    type: 'object',
    properties,
    required: ['id', 'kind', 'id'],
    additionalProperties: false,
    $defs: { Node: { type: 'object', properties: { children: { type: 'array', items: { $ref: '#/$defs/Node' } } } } },
  };
}

describe('served schemas', () => {
  it('assembles a stored schema with only the definitions it needs, and what those need', () => {
    const definitions = {
      A: { type: 'object', properties: { b: { $ref: '#/$defs/B' } } },
      B: { type: 'string' },
      C: { type: 'integer' },
    };
    const stored = { type: 'object', properties: { a: { $ref: '#/$defs/A' } } };
    assert.deepEqual(neededDefinitions(stored, definitions), ['A', 'B']);
    assert.deepEqual(Object.keys(assembleInputSchema(stored, definitions).$defs as object), ['A', 'B']);
    assert.equal(assembleInputSchema({ type: 'object' }, definitions).$defs, undefined);
  });

  it('removes duplicate required items everywhere, leaving other values alone', () => {
    const schema = {
      type: 'object',
      required: ['a', 'a'],
      properties: { a: { type: 'object', required: ['x', 'y', 'x'] } },
      enum: [{ required: ['k', 'k'] }],
    };
    assert.deepEqual(withoutDuplicateRequired(schema), {
      type: 'object',
      required: ['a'],
      properties: { a: { type: 'object', required: ['x', 'y'] } },
      enum: [{ required: ['k', 'k'] }],
    });
    const clean = { type: 'object', required: ['a'] };
    assert.equal(withoutDuplicateRequired(clean), clean);
  });

  it('leaves a schema within its budget as it is, but for duplicate required items', () => {
    const small = { type: 'object', properties: { a: { type: 'string', examples: ['x'] } }, required: ['a', 'a'] };
    assert.deepEqual(compactInputSchema(small, { maxBytes: 16_384, collapsedNote: NOTE }), {
      ...small,
      required: ['a'],
    });
  });

  for (const budget of [1024, 4096, 16_384]) {
    it(`compacts a large schema to ${budget} bytes: valid, looser only, required parameters and enums exact, deterministic`, () => {
      const full = bigSchema(30);
      assert.ok(size(full) > 16_384);
      const compacted = compactInputSchema(full, { maxBytes: budget, collapsedNote: NOTE });
      assert.ok(size(compacted) <= budget, `${size(compacted)} bytes`);
      assert.deepEqual(compacted.required, ['id', 'kind']);
      const properties = compacted.properties as Record<string, Record<string, unknown>>;
      assert.equal(properties.id!.type, 'string');
      assert.deepEqual(properties.kind!.enum, ['a', 'b', 'c']);
      assert.equal(compacted.$defs, undefined);
      const validate = compile(compacted);
      // Whatever the full schema accepts, the compacted one accepts too.
      const fullValidate = compile(withoutDuplicateRequired(full) as object);
      const value = { id: 'x', kind: 'b', p1: { q2: 'y' }, tree: { children: [{ children: [] }] } };
      assert.ok(fullValidate(value));
      assert.ok(validate(value), JSON.stringify(validate.errors));
      assert.deepEqual(compactInputSchema(full, { maxBytes: budget, collapsedNote: NOTE }), compacted);
    });
  }

  it('collapses deep levels to their type with the note before dropping anything at the top', () => {
    const compacted = compactInputSchema(bigSchema(30), { maxBytes: 16_384, collapsedNote: NOTE });
    const text = JSON.stringify(compacted);
    assert.match(text, new RegExp(NOTE));
    assert.ok(Object.hasOwn(compacted.properties as object, 'p29'));
    assert.doesNotMatch(text, /examples/);
  });
});
