/** An Origin header as browsers send it: `scheme://host[:port]`, nothing after. */
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]+$/i;

/**
 * Whether a request may reach the gateway by its Origin header. MCP's transports require servers to check it
 * against DNS rebinding: a page on another site must not drive a gateway a browser can reach. Requests without
 * one come from clients that are not browsers, and pass; `null` (an opaque origin) never does.
 */
export function createOriginCheck(allowed: readonly string[]): (origin: string | string[] | undefined) => boolean {
  const origins = new Set(allowed);
  return (origin) => {
    if (origin === undefined) return true;
    if (typeof origin !== 'string') return false;
    if (origins.has(origin)) return true;
    if (!ORIGIN.test(origin)) return false;
    try {
      // Scheme and host in any case, a default port spelled out: compared as the URL parser serialises them.
      return origins.has(new URL(origin).origin);
    } catch {
      return false;
    }
  };
}
