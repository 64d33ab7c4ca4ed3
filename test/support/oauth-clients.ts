// What the OAuth tests need besides plugboard: an HTTPS server on loopback for Client ID Metadata Documents (its
// certificate from a CA made for the run, which only the app under test is told to trust), the redirect target of
// a client, and an in-memory OAuthClientProvider for the official MCP SDK client.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';

/** A test CA and a certificate it signed for localhost and 127.0.0.1, made with openssl for this run. */
export function makeTestCertificates(): { ca: string; key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'plugboard-ca-'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    run(
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key'].concat([
        '-out',
        'ca.pem',
        '-days',
        '1',
        '-subj',
        '/CN=plugboard test CA',
      ]),
    );
    run(
      ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key'].concat([
        '-out',
        'leaf.csr',
        '-subj',
        '/CN=localhost',
      ]),
    );
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    run(
      ['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
        '-out',
        'leaf.pem',
        '-days',
        '1',
        '-extfile',
        'ext.cnf',
      ]),
    );
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    return { ca: read('ca.pem'), key: read('leaf.key'), cert: read('leaf.pem') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface DocumentOptions {
  readonly delayMs?: number;
  readonly streamed?: boolean;
}

export interface DocumentServer {
  /** `https://localhost:{port}` */
  readonly origin: string;
  /**
   * Serves `body` as JSON at `path`; `delayMs` holds the answer back that long, `streamed` sends it in chunks
   * without a Content-Length (so that only counting the bytes as they come can bound it).
   */
  set(path: string, body: unknown, options?: DocumentOptions): void;
  /** How often each path was fetched. */
  readonly fetches: Map<string, number>;
  close(): Promise<void>;
}

/** An HTTPS server on 127.0.0.1 that serves JSON documents (Client ID Metadata Documents). */
export async function startDocumentServer(tls: { key: string; cert: string }): Promise<DocumentServer> {
  const documents = new Map<string, { body: string; options: DocumentOptions }>();
  const fetches = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const server = createHttpsServer(tls, (request, response) => {
    const path = request.url!.split('?')[0]!;
    fetches.set(path, (fetches.get(path) ?? 0) + 1);
    const document = documents.get(path);
    if (document === undefined) return response.writeHead(404).end();
    const { body, options } = document;
    const send = () => {
      timers.delete(timer);
      if (!options.streamed) return response.writeHead(200, { 'content-type': 'application/json' }).end(body);
      response.writeHead(200, { 'content-type': 'application/json' });
      for (let at = 0; at < body.length; at += 256) response.write(body.slice(at, at + 256));
      response.end();
    };
    const timer = setTimeout(send, options.delayMs ?? 0);
    timers.add(timer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://localhost:${port}`,
    set: (path, body, options = {}) => documents.set(path, { body: JSON.stringify(body), options }),
    fetches,
    close: () =>
      new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface CallbackServer {
  /** `http://localhost:{port}/callback` */
  readonly url: string;
  /** The query of the next request to the callback. */
  next(): Promise<URLSearchParams>;
  close(): Promise<void>;
}

/** A client's redirect target on loopback: it records the authorization response the browser brings back. */
export async function startCallbackServer(): Promise<CallbackServer> {
  const waiting: ((query: URLSearchParams) => void)[] = [];
  const arrived: URLSearchParams[] = [];
  const server: Server = createHttpServer((request, response) => {
    const url = new URL(request.url!, 'http://localhost');
    // Browsers ask for /favicon.ico too: only the callback is an authorization response.
    if (url.pathname !== '/callback') return response.writeHead(404).end();
    const query = url.searchParams;
    const waiter = waiting.shift();
    if (waiter) waiter(query);
    else arrived.push(query);
    response.writeHead(200, { 'content-type': 'text/plain' }).end('You may close this window.');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}/callback`,
    next: () => {
      const query = arrived.shift();
      return query ? Promise.resolve(query) : new Promise((resolve) => waiting.push(resolve));
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An OAuthClientProvider that keeps everything in memory and hands the authorization URL to the test. */
export class MemoryOAuthProvider implements OAuthClientProvider {
  authorizationUrl: URL | undefined;
  private info: OAuthClientInformationMixed | undefined;
  private saved: OAuthTokens | undefined;
  private verifier = '';

  constructor(
    readonly redirectUrl: string,
    readonly clientMetadata: OAuthClientMetadata,
    readonly clientMetadataUrl?: string,
  ) {}

  /**
   * A client the server knows beforehand (OAUTH_CLIENTS): it starts with its client id (and secret, for a
   * confidential client), so the SDK neither registers it nor offers a metadata document.
   */
  static preRegistered(
    redirectUrl: string,
    info: { client_id: string; client_secret?: string; token_endpoint_auth_method?: string },
  ): MemoryOAuthProvider {
    const provider = new MemoryOAuthProvider(redirectUrl, {
      client_name: info.client_id,
      redirect_uris: [redirectUrl],
      token_endpoint_auth_method: info.token_endpoint_auth_method ?? 'none',
    });
    provider.saveClientInformation(info);
    return provider;
  }

  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery') {
    if (scope === 'all' || scope === 'client') this.info = undefined;
    if (scope === 'all' || scope === 'tokens') this.saved = undefined;
  }
}
