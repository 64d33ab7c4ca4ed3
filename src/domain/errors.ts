/** The closed set of failures that cross a wire. Each edge maps these codes to its own format, once. */
export type ErrorCode =
  | 'validation-failed'
  | 'bad-request'
  | 'unauthenticated'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'precondition-failed'
  | 'idempotency-mismatch'
  | 'connection-test-failed'
  | 'precondition-required'
  | 'rate-limited'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'method-not-allowed'
  | 'service-unavailable';

/** One problem with one input field; `path` is a JSON Pointer (RFC 6901) into the request body. */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/** A failure the caller caused or may act on. Carries no HTTP status: the edges decide that. */
export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly errors: readonly FieldError[];

  constructor(code: ErrorCode, message: string, errors: readonly FieldError[] = []) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.errors = errors;
  }
}

/** A validation failure; unless told otherwise, the detail lists every field error so it reads on its own. */
export function validationFailed(errors: readonly FieldError[], message?: string): DomainError {
  const detail =
    message ?? `The request is not valid: ${errors.map((e) => `${e.path || 'body'} ${e.message}`).join('; ')}.`;
  return new DomainError('validation-failed', detail, errors);
}

/** A validation failure of a single field; the detail repeats it so that a reader of `detail` alone sees it. */
export function fieldError(path: string, message: string): DomainError {
  return validationFailed([{ path, message }]);
}

export function notFound(what: string): DomainError {
  return new DomainError('not-found', `${what} was not found.`);
}

export function conflict(message: string): DomainError {
  return new DomainError('conflict', message);
}

export function forbidden(message = 'You do not have permission to do that in this workspace.'): DomainError {
  return new DomainError('forbidden', message);
}

export function unauthenticated(
  message = 'A valid API key is required: send "Authorization: Bearer pbk_…".',
): DomainError {
  return new DomainError('unauthenticated', message);
}

export function preconditionFailed(): DomainError {
  return new DomainError(
    'precondition-failed',
    'The resource changed since you read it (If-Match does not match the current ETag). Read it again and retry.',
  );
}

export function isDomainError(value: unknown): value is DomainError {
  return value instanceof DomainError;
}
