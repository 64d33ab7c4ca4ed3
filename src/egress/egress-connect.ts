import type { LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { egressRefusalIn, parseAddress, type EgressPolicy, type ResolvedAddress } from './egress-policy.js';

/**
 * A `lookup` for node:net, node:http and node:tls that answers only the address the policy checked: the
 * socket connects there, while the request keeps the host name for its Host header and TLS.
 */
export function pinnedLookup(to: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    // net asks for every address (`all`) when it may try several (autoSelectFamily); one is enough here.
    if (options.all) callback(null, [{ address: to.address, family: to.family }]);
    else callback(null, to.address, to.family);
  };
}

/** The name TLS sends (SNI) and checks the certificate against: the host name, never an address (RFC 6066 §3). */
export function serverNameOf(host: string): string | undefined {
  return parseAddress(host) === undefined ? host : undefined;
}

/** Socket errors after which the next address of the same host is worth a try: nothing answered at this one. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EAFNOSUPPORT']);

/** Whether an error (or its cause, as drivers wrap them) says nothing answered at the address tried. */
export function isUnreachable(error: unknown, depth = 0): boolean {
  if (depth > 4 || typeof error !== 'object' || error === null) return false;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string' && UNREACHABLE.has(code)) return true;
  return isUnreachable(cause, depth + 1) || (Array.isArray(errors) && errors.some((e) => isUnreachable(e, depth + 1)));
}

/**
 * An undici connector that resolves each new connection's host through the policy and connects to the
 * checked addresses in turn (the next only when one is unreachable). undici keeps the origin's host for the
 * Host header and for SNI (`host` is left as it is), so only the socket's destination changes.
 */
export function egressConnector(
  egress: EgressPolicy,
  options: buildConnector.BuildOptions = {},
): buildConnector.connector {
  const connect = buildConnector(options);
  return (target, callback) => {
    const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
    const servername = target.servername ?? serverNameOf(target.hostname);
    const attempt = (addresses: readonly ResolvedAddress[], index: number) =>
      connect({ ...target, hostname: addresses[index]!.address, servername }, (...args) => {
        if (args[0] !== null && index + 1 < addresses.length && isUnreachable(args[0])) attempt(addresses, index + 1);
        else callback(...args);
      });
    egress.resolve(target.hostname, port).then(
      (addresses) => attempt(addresses, 0),
      (error: Error) => callback(error, null),
    );
  };
}

/** The `fetch` an SDK takes (the MCP transports' `fetch` option). */
export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * fetch through the egress policy: every connection it opens, redirects included, goes to a checked
 * address. A refusal rejects with the policy's own error, not fetch's bare "fetch failed".
 */
export function egressFetch(egress: EgressPolicy, tls: { ca?: readonly string[] } = {}): FetchLike {
  // Extra CAs are added to Node's own roots, never in place of the checks (see createApp's trustedCaCertificates).
  const ca = tls.ca && tls.ca.length > 0 ? [...rootCertificates, ...tls.ca] : undefined;
  const dispatcher = new Agent({ connect: egressConnector(egress, ca ? { ca } : {}) });
  return async (url, init) => {
    try {
      return await undiciFetch(url, { ...(init as object), dispatcher });
    } catch (error) {
      throw egressRefusalIn(error) ?? error;
    }
  };
}
