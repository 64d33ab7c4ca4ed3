import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorCode } from '../../domain/errors.js';
import { toDomainError, type FastifyFailure, type FastifyWording } from '../../http/to-domain-error.js';
import { cutText } from '../../domain/cut-text.js';

/** A Fabric call that was not answered within the server's limit (HUAWEI_FABRIC_TIMEOUT_MS). */
export class RequestTimedOut extends Error {
  constructor(readonly limitMs: number) {
    super(`timeout exception occurred: the request was not answered within ${limitMs} ms`);
    this.name = 'RequestTimedOut';
  }
}

/** An error as DataArts Fabric sends it: `{error_code, error_msg, solution_msg}`, or the 403 nested shape. */
export interface FabricError {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

// Fabric's documented codes; common.01000001 is its code for every rejected input (400, and 404 too).
const BAD_INPUT = 'common.01000001';
const UNAUTHORIZED = 'APIG.1002';
const TIMEOUT = 'common.00000408';
const INTERNAL = 'common.00000500';
// Not in the Fabric pages: the API gateway's throttling code, and the status-numbered pattern of the 408/500 codes.
const THROTTLED = 'APIG.0308';
const UNAVAILABLE = 'common.00000503';

/** Status, error code and a hint for every domain failure; a code added to the core fails to compile here. */
const MAPPED: Record<Exclude<ErrorCode, 'forbidden'>, { status: number; code: string; solution: string }> = {
  'validation-failed': {
    status: 400,
    code: BAD_INPUT,
    solution: 'Correct the request as the message says and send it again.',
  },
  'bad-request': {
    status: 400,
    code: BAD_INPUT,
    solution: 'Correct the request as the message says and send it again.',
  },
  unauthenticated: {
    status: 401,
    code: UNAUTHORIZED,
    solution:
      'Send X-Auth-Token with a token from POST /api/v1/tokens, or sign the request with an AK/SK (SDK-HMAC-SHA256) within 15 minutes of the server time.',
  },
  'not-found': {
    status: 404,
    code: BAD_INPUT,
    solution: 'Check the access client id; list the access clients of your workspace with GET /v1/access-clients.',
  },
  'method-not-allowed': { status: 405, code: BAD_INPUT, solution: 'Use one of the methods this resource supports.' },
  conflict: { status: 409, code: BAD_INPUT, solution: 'Read the access client again and retry.' },
  'precondition-failed': { status: 412, code: BAD_INPUT, solution: 'Read the access client again and retry.' },
  'payload-too-large': { status: 413, code: BAD_INPUT, solution: 'Send a smaller request body.' },
  'unsupported-media-type': {
    status: 415,
    code: BAD_INPUT,
    solution: 'Send the body as Content-Type: application/json.',
  },
  'idempotency-mismatch': {
    status: 422,
    code: BAD_INPUT,
    solution: 'Use a new Idempotency-Key for a different request.',
  },
  'connection-test-failed': { status: 422, code: BAD_INPUT, solution: 'Check the connection settings.' },
  'precondition-required': { status: 428, code: BAD_INPUT, solution: 'Send If-Match with the ETag you last read.' },
  'rate-limited': {
    status: 429,
    code: THROTTLED,
    solution: 'Slow down; retry after the number of seconds in Retry-After.',
  },
  'service-unavailable': { status: 503, code: UNAVAILABLE, solution: 'Retry shortly.' },
};

const MAX_MESSAGE = 512;
const MAX_SOLUTION = 4096;

/** Fabric documents error_msg as 2–512 characters and solution_msg as at most 4,096: longer ones are cut. */
function flat(status: number, code: string, message: string, solution: string): FabricError {
  return {
    status,
    body: { error_code: code, error_msg: cutText(message, MAX_MESSAGE), solution_msg: cutText(solution, MAX_SOLUTION) },
  };
}

/** The shape of Fabric's documented 403, with the code once as text (nested) and once as a number. */
function forbiddenError(message: string): FabricError {
  const text = cutText(message, MAX_MESSAGE);
  return {
    status: 403,
    body: {
      error: { code: '403', message: text, title: 'Forbidden' },
      error_code: 403,
      error_msg: text,
      title: 'Forbidden',
    },
  };
}

function fromDomain(error: DomainError): FabricError {
  if (error.code === 'forbidden') return forbiddenError(error.message);
  const mapped = MAPPED[error.code];
  return flat(mapped.status, mapped.code, error.message, mapped.solution);
}

/** Fastify's own failures in Fabric's words (Spring's, which Fabric's own 400s carry); a bare SyntaxError is a bug here. */
const readFailed = ({ status, message }: FastifyFailure) =>
  status !== undefined && status >= 400 && status < 500
    ? new DomainError(
        'bad-request',
        `failed to read http request, please check your input, code: 400, reason: ${message}`,
      )
    : undefined;
const FABRIC_WORDING: FastifyWording = {
  // Spring's wording followed by every field that failed.
  validation: ({ errors }) =>
    new DomainError(
      'validation-failed',
      `failed to read http request, please check your input, code: 400, reason: ${errors.map((e) => `${e.path || 'body'} ${e.message}`).join('; ')}`,
      errors,
    ),
  'media-type': readFailed,
  'empty-json': readFailed,
  'invalid-json': readFailed,
  unreadable: readFailed,
  status: readFailed,
};

/** The one map from any failure to Fabric's error body; `internal` is true for the failures nobody anticipated. */
export function fabricErrorOf(error: unknown): FabricError & { internal: boolean } {
  if (error instanceof DomainError) return { ...fromDomain(error), internal: false };
  if (error instanceof RequestTimedOut) {
    return {
      ...flat(
        408,
        TIMEOUT,
        error.message,
        'Retry later; the change may have been made, so read the access client before repeating a write.',
      ),
      internal: false,
    };
  }
  const known = toDomainError(error, FABRIC_WORDING);
  if (known) return { ...fromDomain(known), internal: false };
  return {
    ...flat(500, INTERNAL, 'internal error', 'Retry later. Quote the X-Request-Id of this answer when you report it.'),
    internal: true,
  };
}

/** Sends any failure as Fabric's JSON error; a failure nobody anticipated is logged once, and only here. */
export function sendFabricError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const mapped = fabricErrorOf(error);
  if (mapped.internal) request.log.error({ err: error }, 'huawei fabric request failed');
  reply.header('x-request-id', request.id);
  return reply.code(mapped.status).type('application/json; charset=utf-8').send(mapped.body);
}
