import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorCode, type FieldError } from '../../domain/errors.js';
import { toDomainError, type FastifyFailure, type FastifyWording } from '../../http/to-domain-error.js';

/** A failure already in Alibaba's terms (signature checks, a product's own parameter rules). */
export class AlibabaError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'AlibabaError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** HTTP status and Alibaba `Code` of each core failure, before a product's own overrides. */
const DEFAULT_CODES: Record<ErrorCode, readonly [number, string]> = {
  'validation-failed': [400, 'InvalidParameter'],
  'bad-request': [400, 'InvalidParameter'],
  unauthenticated: [401, 'InvalidAccessKeyId.NotFound'],
  forbidden: [403, 'NoPermission'],
  'not-found': [404, 'NotFound'],
  'method-not-allowed': [405, 'MethodNotAllowed'],
  conflict: [409, 'Conflict'],
  'precondition-failed': [412, 'PreconditionFailed'],
  'payload-too-large': [413, 'RequestEntityTooLarge'],
  'idempotency-mismatch': [400, 'IdempotentParameterMismatch'],
  'connection-test-failed': [400, 'ConnectionTestFailed'],
  'unsupported-media-type': [415, 'UnsupportedMediaType'],
  'precondition-required': [428, 'PreconditionRequired'],
  'rate-limited': [429, 'Throttling.User'],
  'service-unavailable': [503, 'ServiceUnavailable'],
};

/** How one Alibaba product words its errors; everything not given falls back to the common POP codes. */
export interface AlibabaErrorStyle {
  /** Status and code per core failure where the product differs from the defaults. */
  readonly codes?: Partial<Record<ErrorCode, readonly [number, string]>>;
  /** Alibaba errors the product reports under another status and code (DataWorks' `Invalid.Tenant.*`). */
  readonly renames?: Readonly<Record<string, readonly [number, string]>>;
  /** The product's name of a core field, from its JSON Pointer, for messages that name the field. */
  readonly fieldName?: (path: string) => string;
  /** Keys every error body of the product carries besides Code, Message, RequestId, HostId and Recommend. */
  readonly extraFields?: (status: number) => Record<string, unknown>;
}

/** Fastify's own failures in Alibaba's words: anything unreadable is one `InvalidParameter`. */
const unreadable = ({ message }: FastifyFailure) =>
  new DomainError('bad-request', `The request could not be read: ${message}`);
const ALIBABA_WORDING: FastifyWording = {
  validation: unreadable,
  'empty-json': unreadable,
  'invalid-json': unreadable,
  unreadable,
  status: unreadable,
};

function messageOf(error: DomainError, style: AlibabaErrorStyle): string {
  if (error.code !== 'validation-failed' || error.errors.length === 0 || !style.fieldName) return error.message;
  const name = style.fieldName;
  return `The request is not valid: ${error.errors.map((e: FieldError) => `${name(e.path)} ${e.message}`).join('; ')}.`;
}

/**
 * The one error handler of an Alibaba product: every failure leaves as the JSON body the official SDKs read
 * (`Code`, `Message`, `RequestId`), never as anything else; unknown failures are logged once as 500s.
 */
export function alibabaErrorHandler(style: AlibabaErrorStyle = {}) {
  return (error: Error, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    let status: number;
    let code: string;
    let message: string;
    if (error instanceof AlibabaError) {
      [status, code] = style.renames?.[error.code] ?? [error.status, error.code];
      message = error.message;
      for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
    } else {
      const known = toDomainError(error, ALIBABA_WORDING, request);
      if (known) {
        [status, code] = style.codes?.[known.code] ?? DEFAULT_CODES[known.code];
        message = messageOf(known, style);
      } else {
        request.log.error({ err: error }, 'request failed');
        [status, code, message] = [
          500,
          'InternalError',
          'The request processing has failed due to some unknown error. Quote the RequestId when you report it.',
        ];
      }
    }
    const body = {
      Code: code,
      Message: message,
      RequestId: request.id,
      HostId: request.headers.host ?? '',
      Recommend: '',
      ...style.extraFields?.(status),
    };
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  };
}
