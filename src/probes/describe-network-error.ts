import type { Endpoint } from './read-settings.js';

/**
 * Plain words for a failure below the protocol (DNS, TCP, TLS), or `undefined` when the error is not
 * one. Drivers wrap these (fetch puts them in `cause`, happy eyeballs in an AggregateError), so the
 * code is looked for along that chain.
 */
export function describeNetworkError(error: unknown, endpoint: Pick<Endpoint, 'host' | 'address'>): string | undefined {
  const found = findCoded(error);
  if (found === undefined) return undefined;
  switch (found.code) {
    case 'ECONNREFUSED':
      return `host unreachable: connection refused at ${endpoint.address}`;
    case 'ENOTFOUND':
      return `host not found: ${endpoint.host}`;
    case 'EAI_AGAIN':
      return `host not found: looking up ${endpoint.host} failed for now (DNS did not answer)`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable: no route to ${endpoint.address}`;
    case 'ETIMEDOUT':
      return `host unreachable: connecting to ${endpoint.address} timed out`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `connection reset by ${endpoint.address}`;
  }
  // OpenSSL and node:tls codes: CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, ERR_SSL_WRONG_VERSION_NUMBER, …
  if (/CERT|TLS|SSL/.test(found.code) || found.code === 'EPROTO') {
    return `TLS with ${endpoint.address} failed: ${found.message}`;
  }
  return undefined;
}

/** The message of any thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function findCoded(error: unknown, depth = 0): { code: string; message: string } | undefined {
  if (depth > 4 || typeof error !== 'object' || error === null) return undefined;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code)) return { code, message: messageOf(error) };
  return findCoded(cause, depth + 1) ?? (Array.isArray(errors) ? findCoded(errors[0], depth + 1) : undefined);
}
