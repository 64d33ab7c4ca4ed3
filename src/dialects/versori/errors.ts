import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorCode, type FieldError } from '../../domain/errors.js';
import { toDomainError, type FastifyWording } from '../../http/to-domain-error.js';
import { versoriFieldOf } from './wire.js';

/** Versori's error body for every non-2xx answer (`Error` in its API document). */
export interface VersoriError {
  code: string;
  message: string;
  fields?: { field: string; message: string }[];
  details?: string;
}

/** Status and Versori code of each core failure: the one map from the core to Versori's wire. */
const STATUS: Record<ErrorCode | 'internal', [number, string]> = {
  'validation-failed': [400, 'bad_request'],
  'bad-request': [400, 'bad_request'],
  unauthenticated: [401, 'unauthorized'],
  forbidden: [403, 'forbidden'],
  'not-found': [404, 'not_found'],
  'method-not-allowed': [405, 'method_not_allowed'],
  conflict: [409, 'conflict'],
  'precondition-failed': [412, 'precondition_failed'],
  'payload-too-large': [413, 'payload_too_large'],
  'unsupported-media-type': [415, 'unsupported_media_type'],
  'idempotency-mismatch': [422, 'unprocessable_entity'],
  'connection-test-failed': [422, 'unprocessable_entity'],
  'precondition-required': [428, 'precondition_required'],
  'rate-limited': [429, 'too_many_requests'],
  'service-unavailable': [503, 'service_unavailable'],
  internal: [500, 'internal'],
};

const couldNotRead = () => new DomainError('bad-request', 'The request could not be read.');
const BY_STATUS: Readonly<Record<number, () => DomainError>> = {
  404: () => new DomainError('not-found', 'No such route.'),
  405: () => new DomainError('method-not-allowed', 'That method is not allowed here.'),
  413: () => new DomainError('payload-too-large', 'The request body is larger than this server accepts.'),
  415: () => new DomainError('unsupported-media-type', 'Send JSON: Content-Type application/json.'),
};

/** Fastify's own failures (parsing, limits, path and query validation) in Versori's words; other statuses are bugs here. */
const VERSORI_WORDING: FastifyWording = {
  validation: ({ errors }) =>
    new DomainError(
      'validation-failed',
      `The request is not valid: ${errors.map((e) => `${versoriFieldOf(e.path)} ${e.message}`).join('; ')}.`,
      errors,
    ),
  'media-type': BY_STATUS[415],
  'empty-json': couldNotRead,
  'invalid-json': () => new DomainError('validation-failed', 'The request body is not valid JSON.'),
  unreadable: couldNotRead,
  status: ({ status }) => BY_STATUS[status ?? 0]?.(),
};

/** A core error as Versori's body; field paths become Versori's `field1.field2[0].field3` with Versori's names. */
export function versoriErrorOf(error: DomainError, requestId: string): { status: number; body: VersoriError } {
  const [status, code] = STATUS[error.code];
  const body: VersoriError = { code, message: error.message, details: `request id ${requestId}` };
  if (error.errors.length > 0)
    body.fields = error.errors.map((e: FieldError) => ({ field: versoriFieldOf(e.path), message: e.message }));
  return { status, body };
}

/** The Versori dialect's error handler: every failure leaves as Versori's error body; unknown ones are logged once as 500s. */
export function sendVersoriError(error: Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const known = toDomainError(error, VERSORI_WORDING);
  if (!known) {
    request.log.error({ err: error }, 'request failed');
    const body: VersoriError = {
      code: 'internal',
      message: 'Something went wrong on our side. Quote the request id when you report it.',
      details: `request id ${request.id}`,
    };
    return reply.code(500).type('application/json').send(body);
  }
  const { status, body } = versoriErrorOf(known, request.id);
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="plugboard"');
  return reply.code(status).type('application/json').send(body);
}
