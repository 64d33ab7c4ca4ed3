import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorCode, type FieldError } from '../domain/errors.js';
import { toDomainError, type FastifyWording } from '../http/to-domain-error.js';
import { bodyTooLargeMessage } from '../http/body-limit.js';

/** HTTP status of every domain error code: the one map from the core's failures to the native API. */
export const STATUS_OF: Record<ErrorCode, number> = {
  'validation-failed': 400,
  'bad-request': 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  conflict: 409,
  'precondition-failed': 412,
  'payload-too-large': 413,
  'idempotency-mismatch': 422,
  'connection-test-failed': 422,
  'unsupported-media-type': 415,
  'precondition-required': 428,
  'rate-limited': 429,
  'service-unavailable': 503,
};

const TITLES: Record<ErrorCode | 'internal', string> = {
  'validation-failed': 'Validation failed',
  'bad-request': 'Bad request',
  unauthenticated: 'Unauthenticated',
  forbidden: 'Forbidden',
  'not-found': 'Not found',
  'method-not-allowed': 'Method not allowed',
  conflict: 'Conflict',
  'precondition-failed': 'Precondition failed',
  'payload-too-large': 'Payload too large',
  'idempotency-mismatch': 'Idempotency key reused',
  'connection-test-failed': 'Connection test failed',
  'unsupported-media-type': 'Unsupported media type',
  'precondition-required': 'Precondition required',
  'rate-limited': 'Too many requests',
  'service-unavailable': 'Service unavailable',
  internal: 'Internal server error',
};

/** An RFC 9457 problem document as the native API sends it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode | 'internal';
  requestId: string;
  errors: FieldError[];
}

export function problemOf(
  code: ErrorCode | 'internal',
  detail: string,
  requestId: string,
  errors: readonly FieldError[] = [],
): Problem {
  return {
    type: `urn:plugboard:problem:${code}`,
    title: TITLES[code],
    status: code === 'internal' ? 500 : STATUS_OF[code],
    detail,
    code,
    requestId,
    errors: [...errors],
  };
}

/** The native API's words for Fastify's own failures (parsing, limits, schema validation). */
const NATIVE_WORDING: FastifyWording = {
  validation: ({ errors, context }) => {
    const where = context === 'body' ? 'body' : context === 'querystring' ? 'query string' : 'path';
    return new DomainError(
      'validation-failed',
      `The request ${where} is not valid: ${errors.map((e) => `${e.path || where} ${e.message}`).join('; ')}.`,
      errors,
    );
  },
  'body-too-large': ({ bodyLimit }) =>
    new DomainError(
      'payload-too-large',
      bodyLimit === undefined
        ? 'The request body is larger than this server accepts (BODY_LIMIT).'
        : bodyTooLargeMessage(bodyLimit),
    ),
  'media-type': () =>
    new DomainError(
      'unsupported-media-type',
      'Send JSON: Content-Type application/json (or application/merge-patch+json for PATCH).',
    ),
  unreadable: ({ message }) => new DomainError('validation-failed', `The request could not be read: ${message}`),
  status: ({ status, message }) =>
    new DomainError(
      (Object.entries(STATUS_OF).find(([, code]) => code === status)?.[0] as ErrorCode | undefined) ?? 'bad-request',
      message,
    ),
};

/** The native API's error handler: every failure leaves as problem+json; unknown ones are logged once as 500s. */
export function sendProblem(
  error: FastifyError | DomainError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  let problem: Problem;
  const known = toDomainError(error, NATIVE_WORDING, request);
  if (known) {
    problem = problemOf(known.code, known.message, request.id, known.errors);
  } else {
    request.log.error({ err: error }, 'request failed');
    problem = problemOf(
      'internal',
      'Something went wrong on our side. Quote the request id when you report it.',
      request.id,
    );
  }
  if (problem.code === 'unauthenticated') reply.header('www-authenticate', 'Bearer realm="plugboard"');
  return reply.code(problem.status).type('application/problem+json').send(problem);
}
