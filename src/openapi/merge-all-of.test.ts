import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeAllOf } from './merge-all-of.js';

describe('allOf merging', () => {
  it('unites properties and required names and keeps the last description', () => {
    assert.deepEqual(
      mergeAllOf([
        { type: 'object', required: ['a'], properties: { a: { type: 'string' } }, description: 'base' },
        { required: ['b', 'a'], properties: { b: { type: 'integer' } }, description: 'specific' },
      ]),
      {
        type: 'object',
        required: ['a', 'b'],
        properties: { a: { type: 'string' }, b: { type: 'integer' } },
        description: 'specific',
      },
    );
  });

  it('intersects types, an integer being a number', () => {
    assert.deepEqual(mergeAllOf([{ type: ['number', 'null'] }, { type: 'integer' }]), { type: 'integer' });
  });

  it('merges a property that two parts both define', () => {
    assert.deepEqual(mergeAllOf([{ properties: { a: { type: 'string' } } }, { properties: { a: { maxLength: 3 } } }]), {
      properties: { a: { type: 'string', maxLength: 3 } },
    });
  });

  it('keeps every part in allOf when two parts conflict', () => {
    const parts = [{ type: 'string' }, { type: 'integer' }] as const;
    assert.deepEqual(mergeAllOf(parts), { allOf: parts });
    const patterns = [{ pattern: '^a' }, { pattern: '^b' }] as const;
    assert.deepEqual(mergeAllOf(patterns), { allOf: patterns });
  });

  it('keeps references beside the merged keywords, and a lone reference as it is', () => {
    const ref = { $ref: '#/$defs/Node' };
    assert.deepEqual(mergeAllOf([ref, { description: 'a node' }]), { description: 'a node', allOf: [ref] });
    assert.equal(mergeAllOf([ref, {}]), ref);
  });
});
