import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDocument } from './parse-document.js';
import { OpenApiError } from './openapi-error.js';

function refusal(text: string): OpenApiError {
  try {
    parseDocument(text);
  } catch (error) {
    assert.ok(error instanceof OpenApiError, `expected an OpenApiError, got ${String(error)}`);
    return error;
  }
  assert.fail('the document was accepted');
}

describe('parseDocument', () => {
  it('reads YAML as OpenAPI tools do: dates, versions and yes/no stay strings; merge keys merge', () => {
    const parsed = parseDocument(
      [
        'info:',
        '  version: 2024-01-31',
        '  x-flag: yes',
        '  x-num: 0x1F',
        'base: &base {type: string, maxLength: 4}',
        'derived:',
        '  <<: *base',
        '  maxLength: 8',
      ].join('\n'),
    );
    assert.deepEqual(parsed, {
      info: { version: '2024-01-31', 'x-flag': 'yes', 'x-num': 31 },
      base: { type: 'string', maxLength: 4 },
      derived: { type: 'string', maxLength: 8 },
    });
  });

  it('keeps JSON exact, and reads flow-style YAML that is not strict JSON', () => {
    assert.deepEqual(parseDocument('{"a": [1, 2.5, "x", null, true]}'), { a: [1, 2.5, 'x', null, true] });
    assert.deepEqual(parseDocument("{a: 1, 'b': [x]}"), { a: 1, b: ['x'] });
  });

  it('reads a document that reuses values through aliases', () => {
    const uses = Array.from({ length: 50 }, (_, i) => `  op${i}: {parameters: *common}`).join('\n');
    const parsed = parseDocument(`common: &common [{name: id, in: path}, {name: q, in: query}]\npaths:\n${uses}\n`) as {
      paths: Record<string, { parameters: unknown[] }>;
    };
    assert.equal(Object.keys(parsed.paths).length, 50);
    assert.deepEqual(parsed.paths.op49!.parameters, [
      { name: 'id', in: 'path' },
      { name: 'q', in: 'query' },
    ]);
  });

  it('reports syntax errors with their line, and refuses several documents in one text', () => {
    const broken = refusal('openapi: 3.0.0\ninfo:\n  title: x\n   bad: indentation\n');
    assert.match(broken.message, /^the document is not valid YAML or JSON: /);
    assert.equal(broken.line, 4);
    assert.match(refusal('a: 1\n---\nb: 2\n').message, /not valid YAML or JSON: .*single document/);
    assert.match(refusal('a: *nowhere\n').message, /not valid YAML or JSON: unidentified alias "nowhere"/);
    assert.match(refusal('a: 1\na: 2\n').message, /duplicated mapping key/);
  });
});
