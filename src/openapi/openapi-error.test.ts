import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { convertOpenApi, OpenApiError } from './convert-openapi.js';

function failure(text: string): OpenApiError {
  try {
    convertOpenApi(text);
  } catch (error) {
    assert.ok(error instanceof OpenApiError, `expected an OpenApiError, got ${String(error)}`);
    return error;
  }
  assert.fail('the document was accepted');
}

const missingRef = `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /pets:
    post:
      requestBody:
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/Missing'
components:
  schemas: {}
`;

describe('convertOpenApi on broken documents', () => {
  it('reports YAML that does not parse, with its line', () => {
    const error = failure('openapi: 3.0.0\ninfo:\n  title: [unclosed\n  version: 1\npaths: {}\n');
    assert.equal(error.pointer, '');
    assert.equal(typeof error.line, 'number');
    assert.match(error.message, /not valid YAML or JSON: deficient indentation/);
    assert.equal(error.line, 4);
  });

  it('reports broken JSON with its line', () => {
    const error = failure('{\n  "openapi": "3.1.0",\n  "paths": {,}\n}\n');
    assert.equal(error.line, 3);
  });

  it('reports a $ref to nothing with the pointer and line of the $ref', () => {
    const error = failure(missingRef);
    assert.equal(error.pointer, '/paths/~1pets/post/requestBody/content/application~1json/schema/$ref');
    assert.equal(error.line, 10);
    assert.match(error.message, /#\/components\/schemas\/Missing/);
  });

  it('finds the line of a missing $ref in a JSON document too', () => {
    const json = JSON.stringify(
      {
        openapi: '3.1.0',
        info: { title: 't', version: '1' },
        paths: { '/a': { get: { parameters: [{ $ref: '#/components/parameters/Nope' }] } } },
      },
      null,
      2,
    );
    const error = failure(json);
    assert.equal(error.pointer, '/paths/~1a/get/parameters/0/$ref');
    assert.equal(error.line, json.split('\n').findIndex((line) => line.includes('"$ref"')) + 1);
  });

  it('refuses an external $ref and names it', () => {
    const error = failure(missingRef.replace("'#/components/schemas/Missing'", 'common.yaml#/Pet'));
    assert.match(error.message, /external \$ref "common\.yaml#\/Pet"/);
    assert.equal(error.line, 10);
  });

  it('refuses versions other than OpenAPI 3.0, 3.1 and Swagger 2.0', () => {
    for (const [text, pointer] of [
      ['openapi: 2.5.0\ninfo: {title: t, version: "1"}\npaths: {}\n', '/openapi'],
      ['openapi: 3.2.0\npaths: {}\n', '/openapi'],
      ['swagger: "1.2"\npaths: {}\n', '/swagger'],
      ['{"info": {"title": "no version"}, "paths": {}}', '/openapi'],
    ] as const) {
      const error = failure(text);
      assert.equal(error.pointer, pointer, text);
      assert.match(error.message, /unsupported version/);
    }
  });

  it('refuses a document whose aliases expand without bound', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(', ')}]`,
      );
    assert.match(
      failure(`openapi: 3.0.0\n${levels.join('\n')}\n`).message,
      /repeats YAML aliases to more than 1,000,000 values/,
    );
  });

  it('refuses a document that is not an object', () => {
    assert.equal(failure('- just\n- a list\n').pointer, '');
  });

  it('reports a schema that contains itself through a YAML alias instead of hanging', () => {
    const text = [
      'openapi: 3.0.0',
      'info: {title: t, version: "1"}',
      'paths:',
      '  /loop:',
      '    post:',
      '      requestBody:',
      '        content:',
      '          application/json:',
      '            schema: &loop',
      '              type: object',
      '              properties:',
      '                again: *loop',
    ].join('\n');
    assert.match(failure(text).message, /contains itself/);
  });

  it('reports a parameter $ref that refers to itself', () => {
    const text = [
      'openapi: 3.0.0',
      'info: {title: t, version: "1"}',
      'paths:',
      '  /a:',
      '    get:',
      '      parameters:',
      "        - $ref: '#/components/parameters/A'",
      'components:',
      '  parameters:',
      "    A: {$ref: '#/components/parameters/A'}",
    ].join('\n');
    const error = failure(text);
    assert.match(error.message, /refers to itself/);
    assert.equal(error.line, 10);
  });
});
