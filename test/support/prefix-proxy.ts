// A reverse proxy that mounts plugboard under a path prefix, as docs/configuration.md tells operators to set one
// up: `{prefix}/…` is passed on with the prefix stripped; the well-known documents of the prefixed issuer and MCP
// endpoints (RFC 8414 §3.1, RFC 9728 §3.1: the well-known segment inserted before the prefix) are passed on as
// they are; anything else is not plugboard's (404). Streams (SSE) are piped through.
import { createServer, request as forward, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const WELL_KNOWN = ['oauth-protected-resource', 'oauth-authorization-server', 'openid-configuration'];

export interface PrefixProxy {
  /** `http://127.0.0.1:{port}` */
  readonly origin: string;
  /** Every path the proxy was asked for, in order, as the client sent it. */
  readonly seen: string[];
  close(): Promise<void>;
}

/** Where a request for `url` goes upstream, or undefined when it is not plugboard's. */
export function upstreamPathOf(prefix: string, url: string): string | undefined {
  if (url.startsWith(`${prefix}/`) || url === prefix) return url.slice(prefix.length) || '/';
  for (const name of WELL_KNOWN) {
    const inserted = `/.well-known/${name}${prefix}`;
    if (url === inserted || url.startsWith(`${inserted}/`) || url.startsWith(`${inserted}?`)) return url;
  }
  return undefined;
}

export async function startPrefixProxy(prefix: string, upstream: () => number): Promise<PrefixProxy> {
  const seen: string[] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    seen.push(request.url!);
    const path = upstreamPathOf(prefix, request.url!);
    if (path === undefined) return response.writeHead(404, { 'content-type': 'text/plain' }).end('not plugboard\n');
    const outgoing = forward(
      {
        host: '127.0.0.1',
        port: upstream(),
        method: request.method,
        path,
        headers: { ...request.headers, 'x-forwarded-prefix': prefix },
      },
      (answer) => {
        response.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(response);
      },
    );
    outgoing.on('error', () => response.destroy());
    response.on('close', () => outgoing.destroy());
    request.pipe(outgoing);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
