import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { isDomainError, type DomainError } from '../domain/errors.js';
import { fastifyFailureOf } from '../http/to-domain-error.js';

/** A failure of the transport itself (a missing session header, say), with the HTTP status it is answered with. */
export class TransportError extends Error {
  constructor(
    readonly status: number,
    readonly rpcCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

/** A user's token lacks the scope a request needs (or their role no longer allows it): 403 insufficient_scope. */
export class InsufficientScope extends Error {
  constructor(
    readonly scope: string,
    role: string,
  ) {
    super(
      `Forbidden: this request needs the scope "${scope}", which this token does not hold or your role (${role}) does not allow.`,
    );
    this.name = 'InsufficientScope';
  }
}

/** The scopes the 401 of an MCP endpoint hints at (RFC 6750 §3, MCP's scope selection). */
const CHALLENGE_SCOPE = 'mcp:read mcp:call';

/** How the gateway answers a failure: the HTTP status, the JSON-RPC error, and headers to add. */
export interface GatewayFailure {
  readonly status: number;
  readonly error: { code: number; message: string; data?: unknown };
  readonly headers: Readonly<Record<string, string>>;
}

/** The code the SDK's own server transport gives its HTTP-level refusals. */
const SERVER_ERROR = -32000;

const HTTP_STATUS: Partial<Record<DomainError['code'], number>> = {
  'validation-failed': 400,
  'bad-request': 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  'rate-limited': 429,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'method-not-allowed': 405,
  'service-unavailable': 503,
};

/**
 * The gateway's one error mapping. Failures of a JSON-RPC request inside a good HTTP exchange (bad arguments,
 * an unknown tool) become JSON-RPC errors of that request: `inRequest` is true for those. Everything else is
 * an HTTP failure whose body is a JSON-RPC error with a null id, as MCP's Streamable HTTP transport answers.
 * Unknown errors say nothing about their cause beyond the request id. A 401 points at the endpoint's protected
 * resource metadata (`resourceMetadata`, RFC 9728 §5.1), where OAuth clients find the authorization server.
 */
export function toGatewayFailure(
  error: unknown,
  requestId: string,
  inRequest = false,
  resourceMetadata?: string,
): GatewayFailure {
  const metadata = resourceMetadata === undefined ? '' : `, resource_metadata="${resourceMetadata}"`;
  if (error instanceof InsufficientScope)
    return {
      status: 403,
      error: { code: SERVER_ERROR, message: error.message },
      headers: {
        'www-authenticate': `Bearer realm="plugboard-mcp", error="insufficient_scope", scope="${error.scope}"${metadata}`,
      },
    };
  if (error instanceof TransportError)
    return { status: error.status, error: { code: error.rpcCode, message: error.message }, headers: {} };
  if (isDomainError(error)) {
    if (
      inRequest &&
      (error.code === 'validation-failed' || error.code === 'not-found' || error.code === 'bad-request')
    ) {
      const data = error.errors.length > 0 ? { errors: error.errors } : undefined;
      return {
        status: 200,
        error: { code: ErrorCode.InvalidParams, message: error.message, ...(data ? { data } : {}) },
        headers: {},
      };
    }
    const status = HTTP_STATUS[error.code] ?? 400;
    const headers: Record<string, string> =
      status === 401
        ? { 'www-authenticate': `Bearer realm="plugboard-mcp"${metadata}, scope="${CHALLENGE_SCOPE}"` }
        : {};
    return { status, error: { code: SERVER_ERROR, message: error.message }, headers };
  }
  // Fastify's own refusals are the transport's: JSON-RPC's InvalidRequest, unlike the same codes from the core.
  const fastify = fastifyFailureOf(error);
  if (fastify?.kind === 'body-too-large')
    return {
      status: 413,
      error: { code: ErrorCode.InvalidRequest, message: 'The request body is too large.' },
      headers: {},
    };
  if (fastify?.kind === 'media-type') {
    return {
      status: 415,
      error: {
        code: ErrorCode.InvalidRequest,
        message: 'Unsupported Media Type: Content-Type must be application/json.',
      },
      headers: {},
    };
  }
  if (fastify?.status !== undefined && fastify.status >= 400 && fastify.status < 500) {
    return { status: fastify.status, error: { code: ErrorCode.InvalidRequest, message: fastify.message }, headers: {} };
  }
  return {
    status: inRequest ? 200 : 500,
    error: { code: ErrorCode.InternalError, message: `Internal error (request ${requestId}).` },
    headers: {},
  };
}
