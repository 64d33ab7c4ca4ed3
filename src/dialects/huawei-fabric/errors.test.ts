import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STATUS_OF } from '../../api/problem.js';
import { DomainError, type ErrorCode } from '../../domain/errors.js';
import { RequestTimedOut, fabricErrorOf } from './errors.js';

const CODES = Object.keys(STATUS_OF) as ErrorCode[];

function assertFlat(body: Record<string, unknown>) {
  assert.deepEqual(Object.keys(body).sort(), ['error_code', 'error_msg', 'solution_msg']);
  const { error_code, error_msg, solution_msg } = body as {
    error_code: string;
    error_msg: string;
    solution_msg: string;
  };
  assert.ok(error_code.length >= 8 && error_code.length <= 36, error_code);
  assert.ok(error_msg.length >= 2 && error_msg.length <= 512, error_msg);
  assert.ok(solution_msg.length <= 4096);
}

describe('Fabric error bodies', () => {
  it('maps every domain error code to a status and a body within the documented lengths', () => {
    for (const code of CODES) {
      const mapped = fabricErrorOf(new DomainError(code, `failure ${code}`));
      assert.equal(mapped.internal, false);
      assert.ok(mapped.status >= 400 && mapped.status < 600, code);
      if (code === 'forbidden') continue;
      assertFlat(mapped.body);
      assert.equal(mapped.body.error_msg, `failure ${code}`);
    }
  });

  it('uses the documented codes and statuses', () => {
    const of = (code: ErrorCode) => fabricErrorOf(new DomainError(code, 'x y'));
    assert.deepEqual(
      [of('validation-failed').status, of('validation-failed').body.error_code],
      [400, 'common.01000001'],
    );
    assert.deepEqual([of('unauthenticated').status, of('unauthenticated').body.error_code], [401, 'APIG.1002']);
    assert.deepEqual([of('not-found').status, of('not-found').body.error_code], [404, 'common.01000001']);
    const timeout = fabricErrorOf(new RequestTimedOut(100));
    assert.deepEqual([timeout.status, timeout.body.error_code], [408, 'common.00000408']);
    assert.match(String(timeout.body.error_msg), /^timeout exception occurred/);
  });

  it('answers 403 in the nested shape of the Fabric page', () => {
    const { status, body } = fabricErrorOf(new DomainError('forbidden', 'X-Auth-Token is invalid in the request'));
    assert.equal(status, 403);
    assert.deepEqual(body, {
      error: { code: '403', message: 'X-Auth-Token is invalid in the request', title: 'Forbidden' },
      error_code: 403,
      error_msg: 'X-Auth-Token is invalid in the request',
      title: 'Forbidden',
    });
  });

  it('keeps long messages within 512 characters', () => {
    const { body } = fabricErrorOf(new DomainError('validation-failed', 'x'.repeat(2000)));
    assertFlat(body);
    assert.equal(String(body.error_msg).length, 512);
  });

  it('answers an unanticipated failure with 500 common.00000500 and none of its text', () => {
    const mapped = fabricErrorOf(new Error('ECONNREFUSED postgres://admin:hunter2@db'));
    assert.equal(mapped.status, 500);
    assert.equal(mapped.internal, true);
    assert.deepEqual(
      { ...mapped.body, solution_msg: undefined },
      { error_code: 'common.00000500', error_msg: 'internal error', solution_msg: undefined },
    );
    assert.ok(!JSON.stringify(mapped.body).includes('hunter2'));
  });

  it('reads Fastify validation failures as 400 with every failing field', () => {
    const error = Object.assign(new Error('body/name must be string'), {
      validation: [
        {
          instancePath: '/name',
          keyword: 'type',
          params: { type: 'string' },
          message: 'must be string',
          schemaPath: '#/properties/name/type',
        },
      ],
      validationContext: 'body',
      statusCode: 400,
    });
    const mapped = fabricErrorOf(error);
    assert.equal(mapped.status, 400);
    assert.equal(mapped.body.error_code, 'common.01000001');
    assert.match(String(mapped.body.error_msg), /\/name must be string/);
  });
});
