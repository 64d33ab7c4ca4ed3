import type { FastifyError, FastifyRequest } from 'fastify';
import { DomainError, type ErrorCode, type FieldError } from '../domain/errors.js';
import { toFieldErrors } from '../domain/validate.js';
import { bodyLimitOf, bodyTooLargeMessage, type BodyLimit } from './body-limit.js';

/** The kinds of failure Fastify raises itself, before any route runs. */
export type FastifyFailureKind =
  'validation' | 'body-too-large' | 'media-type' | 'empty-json' | 'invalid-json' | 'unreadable' | 'status';

/** One of Fastify's own failures, classified once for every wire format. */
export interface FastifyFailure {
  readonly kind: FastifyFailureKind;
  /** Fastify's message, which quotes the parser or the schema. */
  readonly message: string;
  /** Fastify's status for it; undefined for a bare SyntaxError. */
  readonly status: number | undefined;
  /** Schema failures only: each failing field, its JSON Pointer prefixed with where it was (query, path, header). */
  readonly errors: readonly FieldError[];
  /** Schema failures only: the part of the request that failed (body, querystring, params, headers). */
  readonly context: string;
  /** Body too large only, when the request is known: the limit its route held it to. */
  readonly bodyLimit?: BodyLimit;
}

/** How a wire format words each kind; a kind it leaves out gets the default wording, one that answers undefined is a 500. */
export type FastifyWording = Partial<Record<FastifyFailureKind, (failure: FastifyFailure) => DomainError | undefined>>;

const BY_CODE: Readonly<Record<string, FastifyFailureKind>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'media-type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty-json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid-json',
};

const PREFIX: Readonly<Record<string, string>> = { body: '', querystring: 'query', params: 'path', headers: 'header' };

/** Fastify's own failure behind `error`, or undefined for anything else (a domain error, a bug). */
export function fastifyFailureOf(error: unknown, request?: FastifyRequest): FastifyFailure | undefined {
  if (!(error instanceof Error) || error instanceof DomainError) return undefined;
  const { validation, validationContext, code, statusCode, message } = error as FastifyError;
  const failure = (kind: FastifyFailureKind, errors: readonly FieldError[] = [], context = '') => ({
    kind,
    message,
    status: statusCode,
    errors,
    context,
  });
  if (validation)
    return failure(
      'validation',
      toFieldErrors(validation, PREFIX[validationContext ?? 'body'] ?? ''),
      validationContext ?? 'body',
    );
  const kind = BY_CODE[code];
  if (kind === 'body-too-large' && request !== undefined) return { ...failure(kind), bodyLimit: bodyLimitOf(request) };
  if (kind !== undefined) return failure(kind);
  if (error instanceof SyntaxError || statusCode === 400) return failure('unreadable');
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) return failure('status');
  return undefined;
}

const CODE_OF_STATUS: Readonly<Record<number, ErrorCode>> = {
  404: 'not-found',
  405: 'method-not-allowed',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  429: 'rate-limited',
};

const DEFAULT_WORDING: Required<FastifyWording> = {
  validation: ({ errors }) =>
    new DomainError(
      'validation-failed',
      `The request is not valid: ${errors.map((e) => `${e.path || 'body'} ${e.message}`).join('; ')}.`,
      errors,
    ),
  'body-too-large': ({ bodyLimit }) =>
    new DomainError(
      'payload-too-large',
      bodyLimit === undefined ? 'The request body is larger than this server accepts.' : bodyTooLargeMessage(bodyLimit),
    ),
  'media-type': () => new DomainError('unsupported-media-type', 'This content type is not accepted here.'),
  'empty-json': () => new DomainError('validation-failed', 'The request body is empty; send a JSON object.'),
  'invalid-json': ({ message }) =>
    new DomainError('validation-failed', `The request body is not valid JSON: ${message}`),
  unreadable: ({ message }) => new DomainError('bad-request', `The request could not be read: ${message}`),
  status: ({ status, message }) => new DomainError(CODE_OF_STATUS[status ?? 400] ?? 'bad-request', message),
};

/**
 * The one normaliser every error map starts from: a domain error as it is, Fastify's own failures (schema
 * validation, body too large, wrong content type, unreadable JSON) as domain errors worded the wire's way,
 * anything else undefined (a bug, for the map to log once and answer 500).
 *
 * @example
 * const known = toDomainError(error, { 'media-type': () => new DomainError('unsupported-media-type', 'Send JSON.') });
 */
export function toDomainError(
  error: unknown,
  wording: FastifyWording = {},
  request?: FastifyRequest,
): DomainError | undefined {
  if (error instanceof DomainError) return error;
  const failure = fastifyFailureOf(error, request);
  if (failure === undefined) return undefined;
  return (wording[failure.kind] ?? DEFAULT_WORDING[failure.kind])(failure);
}
