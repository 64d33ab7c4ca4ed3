// The bounds on fetching a Client ID Metadata Document (an https URL as client_id, which anyone can make plugboard
// fetch): through the egress policy, at most OAUTH_METADATA_DOCUMENT_MAX_BYTES whether announced or streamed, at
// most 2.5 s, and once for a while (cached). The official SDK client offers the document URL; a person's Chromium
// opens the authorization URL, which plugboard refuses with invalid_client when the document is out of bounds.
// SQLite only: the documents and their cache never touch the store.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  MemoryOAuthProvider,
  makeTestCertificates,
  startDocumentServer,
  type DocumentOptions,
  type DocumentServer,
} from './support/oauth-clients.js';
import { refusedInBrowser } from './support/oauth-flow.js';
import { refreshWith, startOAuthTestServer, type OAuthTestServer } from './support/oauth-app.js';

const EDITOR = { email: 'ed@example.com', password: 'correct horse battery', role: 'editor' };
const MAX_BYTES = 1024;

describe('Client ID Metadata Document fetch limits [sqlite]', () => {
  let server: OAuthTestServer;
  let documents: DocumentServer;

  before(async () => {
    const tls = makeTestCertificates();
    documents = await startDocumentServer(tls);
    server = await startOAuthTestServer('sqlite', {
      people: [EDITOR],
      trustedCaCertificates: [tls.ca],
      env: {
        // Loopback is private: only the test's document host is let through, by its name.
        EGRESS_DENY_PRIVATE: 'true',
        EGRESS_ALLOW: 'localhost',
        OAUTH_METADATA_DOCUMENT_MAX_BYTES: String(MAX_BYTES),
      },
    });
  });
  after(async () => {
    await server?.close();
    await documents?.close();
  });

  /** Serves a client's document at `path` on `origin`; the SDK client's provider offering it as its client_id. */
  function documentClient(path: string, options: DocumentOptions & { padding?: number; origin?: string } = {}) {
    const url = `${options.origin ?? documents.origin}${path}`;
    const metadata = {
      client_name: `Client at ${path}`,
      redirect_uris: [server.callback.url],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
    const padding = options.padding ? { description: 'x'.repeat(options.padding) } : {};
    documents.set(path, { client_id: url, ...metadata, ...padding }, options);
    return new MemoryOAuthProvider(server.callback.url, metadata, url);
  }

  /** The authorization URL the SDK client is sent to, its client_id the document URL. */
  async function authorizationUrlOf(provider: MemoryOAuthProvider): Promise<URL> {
    const transport = new StreamableHTTPClientTransport(new URL(server.mcpUrl), { authProvider: provider });
    await assert.rejects(new Client({ name: 'cimd-test', version: '1.0.0' }).connect(transport), UnauthorizedError);
    const url = provider.authorizationUrl!;
    assert.equal(url.searchParams.get('client_id'), provider.clientMetadataUrl, 'the document URL is the client id');
    return url;
  }

  /** Whether the authorization endpoint took the client (sent the browser on to sign in) rather than refusing it. */
  async function accepted(url: URL): Promise<boolean> {
    const answer = await fetch(url, { redirect: 'manual' });
    await answer.body?.cancel();
    return answer.status >= 300 && answer.status < 400;
  }

  it('fetches the document through the egress policy: a client_id on a loopback address it does not allow is refused', async () => {
    const allowed = documentClient('/clients/by-name.json');
    assert.equal(await accepted(await authorizationUrlOf(allowed)), true, 'the allowed host name is fetched');
    // The same server by its address (its certificate names 127.0.0.1 too): private, and not an exception.
    const { port } = new URL(documents.origin);
    const refused = documentClient('/clients/by-address.json', { origin: `https://127.0.0.1:${port}` });
    const answer = await refusedInBrowser(server.chromium, await authorizationUrlOf(refused));
    assert.equal(answer.error, 'invalid_client');
    assert.equal(documents.fetches.get('/clients/by-address.json'), undefined, 'no connection reached the server');
  });

  it('refuses a document over OAUTH_METADATA_DOCUMENT_MAX_BYTES, whether its size is announced or streamed', async () => {
    const within = documentClient('/clients/within.json', { padding: MAX_BYTES - 400, streamed: true });
    assert.equal(await accepted(await authorizationUrlOf(within)), true, 'a document within the limit is taken');
    for (const streamed of [false, true]) {
      const path = `/clients/large-${streamed ? 'streamed' : 'announced'}.json`;
      const large = documentClient(path, { padding: MAX_BYTES, streamed });
      const answer = await refusedInBrowser(server.chromium, await authorizationUrlOf(large));
      assert.equal(answer.error, 'invalid_client', path);
      assert.equal(documents.fetches.get(path), 1, `${path} was asked for`);
    }
  });

  it('refuses a document server slower than 2.5 s', async () => {
    const slowish = documentClient('/clients/slowish.json', { delayMs: 500 });
    assert.equal(await accepted(await authorizationUrlOf(slowish)), true, 'half a second is within the limit');
    const slow = documentClient('/clients/slow.json', { delayMs: 4000 });
    const answer = await refusedInBrowser(server.chromium, await authorizationUrlOf(slow));
    assert.equal(answer.error, 'invalid_client');
    assert.equal(documents.fetches.get('/clients/slow.json'), 1);
  });

  it('fetches a document once for a whole flow, a refresh and another authorization (cached)', async () => {
    const provider = documentClient('/clients/cached.json');
    const client = await server.connect(provider, EDITOR);
    await client.close();
    const refreshed = await refreshWith(server.base, provider.clientMetadataUrl!, provider.tokens()!.refresh_token!);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    const again = new MemoryOAuthProvider(server.callback.url, provider.clientMetadata, provider.clientMetadataUrl);
    assert.equal(await accepted(await authorizationUrlOf(again)), true);
    assert.equal(documents.fetches.get('/clients/cached.json'), 1, 'authorize, token, refresh, authorize: one fetch');
  });
});
