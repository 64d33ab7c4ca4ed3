import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError } from '../domain/errors.js';
import { fastifyFailureOf, toDomainError } from './to-domain-error.js';

/** An error shaped as Fastify raises its own. */
function fastifyError(code: string, statusCode: number, message = 'fastify says no'): Error {
  return Object.assign(new Error(message), { code, statusCode });
}

describe('toDomainError', () => {
  it('passes a domain error through as it is', () => {
    const error = new DomainError('conflict', 'taken');
    assert.equal(toDomainError(error), error);
  });

  it('turns Fastify body, media type and JSON failures into domain codes', () => {
    assert.equal(toDomainError(fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 413))?.code, 'payload-too-large');
    assert.equal(toDomainError(fastifyError('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415))?.code, 'unsupported-media-type');
    assert.equal(toDomainError(fastifyError('FST_ERR_CTP_EMPTY_JSON_BODY', 400))?.code, 'validation-failed');
    assert.equal(toDomainError(fastifyError('FST_ERR_CTP_INVALID_JSON_BODY', 400))?.code, 'validation-failed');
    assert.equal(toDomainError(fastifyError('FST_ERR_NOT_FOUND', 404))?.code, 'not-found');
  });

  it('lists every field of a schema failure under where it was', () => {
    const error = Object.assign(new Error('bad'), {
      statusCode: 400,
      validation: [
        { instancePath: '/limit', message: 'must be integer', keyword: 'type', params: {}, schemaPath: '#/type' },
      ],
      validationContext: 'querystring',
    });
    const known = toDomainError(error);
    assert.equal(known?.code, 'validation-failed');
    assert.deepEqual(
      known?.errors.map((e) => e.path),
      ['query/limit'],
    );
  });

  it('words a failure the way a wire asks, and leaves bugs undefined', () => {
    const known = toDomainError(fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 413), {
      'body-too-large': () => new DomainError('payload-too-large', 'too big'),
    });
    assert.equal(known?.message, 'too big');
    assert.equal(toDomainError(new TypeError('x is undefined')), undefined);
    assert.equal(fastifyFailureOf(new SyntaxError('Unexpected token'))?.kind, 'unreadable');
  });
});
