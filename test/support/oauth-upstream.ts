// An upstream API behind a real OAuth authorization server (npm oidc-provider) on 127.0.0.1: authorization code
// with PKCE, rotated refresh tokens (a reused one revokes the grant), client credentials; and a small API that
// accepts only the provider's current access tokens. Counts every grant the provider hands out.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';

/** The part of oidc-provider (which ships no types) this harness uses. */
interface TokenModel {
  find(
    token: string,
  ): Promise<{ accountId?: string; clientId: string; grantId?: string; destroy(): Promise<void> } | undefined>;
}
interface TestProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: string, listener: (ctx: { oidc: { params: Record<string, unknown> } }) => void): void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<{ params: Record<string, string> }>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: object,
    options: { mergeWithLastSubmission: boolean },
  ): Promise<void>;
  Grant: (new (init: { accountId: string; clientId: string }) => {
    addOIDCScope(scope: string): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }) & { find(id: string): Promise<{ destroy(): Promise<void> } | undefined> };
  AccessToken: TokenModel;
  ClientCredentials: TokenModel;
}
type ProviderConstructor = new (issuer: string, configuration: object) => TestProvider;
const OIDC_PROVIDER = 'oidc-provider';
const { default: Provider } = (await import(OIDC_PROVIDER)) as { default: ProviderConstructor };

export const CLIENT_ID = 'plugboard-app';
export const CLIENT_SECRET = 'a-client-secret-only-the-provider-and-plugboard-know';

export interface OAuthUpstream {
  readonly issuer: string;
  /** The API's base URL (the connector's baseUrl). */
  readonly apiUrl: string;
  /** Grants handed out, by grant_type: authorization_code, refresh_token, client_credentials. */
  readonly grants: Record<string, number>;
  /** Token requests that reached the token endpoint (failed ones included). */
  tokenRequests: number;
  /** Answers the next this many token requests with 503 before the provider sees them. */
  failTokenRequests: number;
  /** Holds every token request this long before the provider sees it: a slow provider widens every race. */
  tokenDelayMs: number;
  /** Who the next person to authorize is. */
  account: string;
  /** Whether the next authorization is denied. */
  deny: boolean;
  /**
   * Whether a browser arriving at the provider gets a sign-in form (a username, then "Sign in and allow") instead of
   * being signed in as `account` at once: for tests where a person signs in at the provider in Chromium.
   */
  signInForm: boolean;
  /** Requests the API answered: the status and the token they carried. */
  readonly apiCalls: { status: number; token: string | undefined }[];
  /** The OpenAPI document of the API: GET /api/me. */
  document(): string;
  /** Revokes the grant behind an access token (and every token of it), as a person revoking access would. */
  revokeGrantOf(accessToken: string): Promise<void>;
  /** Makes one access token invalid at once (the API then answers 401 for it). */
  revokeAccessToken(accessToken: string): Promise<void>;
  /** Follows an authorization URL through the provider's login and consent; the URL the browser is sent back to. */
  authorize(authorizationUrl: string): Promise<URL>;
  close(): Promise<void>;
}

export async function startOAuthUpstream(redirectUri: string): Promise<OAuthUpstream> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const server: Server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const apiUrl = `${issuer}/api`;
  // Keys of its own: without them the provider warns that it signs with quick-start development keys.
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' }] },
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
        response_types: ['code'],
      },
    ],
    scopes: ['read', 'write'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => apiUrl,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'read write', accessTokenFormat: 'opaque', accessTokenTTL: 3600 }),
      },
    },
    pkce: { required: () => true },
    issueRefreshToken: () => true,
    rotateRefreshToken: () => true,
    ttl: { Interaction: 600, Session: 3600, Grant: 86_400, RefreshToken: 86_400, AuthorizationCode: 60 },
    cookies: { keys: ['a-cookie-signing-key-for-tests'] },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
  });
  const upstream: OAuthUpstream = {
    issuer,
    apiUrl,
    grants: {},
    tokenRequests: 0,
    failTokenRequests: 0,
    tokenDelayMs: 0,
    account: 'ada',
    deny: false,
    signInForm: false,
    apiCalls: [],
    document: () =>
      JSON.stringify({
        openapi: '3.0.3',
        info: { title: 'Records', version: '1.0.0' },
        servers: [{ url: apiUrl }],
        paths: {
          '/me': { get: { operationId: 'whoAmI', responses: { '200': { description: 'the caller' } } } },
        },
      }),
    async revokeGrantOf(accessToken) {
      const token = await provider.AccessToken.find(accessToken);
      const grant = token?.grantId ? await provider.Grant.find(token.grantId) : undefined;
      if (!grant) throw new Error('no grant behind that token');
      await grant.destroy();
      await token!.destroy();
    },
    async revokeAccessToken(accessToken) {
      const token = await provider.AccessToken.find(accessToken);
      if (!token) throw new Error('no such access token');
      await token.destroy();
    },
    async authorize(authorizationUrl) {
      const jar = new Map<string, string>();
      let next = authorizationUrl;
      for (let hop = 0; hop < 8; hop++) {
        const response = await fetch(next, {
          redirect: 'manual',
          headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
        });
        for (const line of response.headers.getSetCookie()) {
          const pair = line.split(';')[0]!;
          jar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
        }
        const location = response.headers.get('location');
        if (!location) throw new Error(`the provider stopped at ${response.status}: ${await response.text()}`);
        next = new URL(location, next).href;
        if (!next.startsWith(issuer)) return new URL(next);
      }
      throw new Error('too many redirects at the provider');
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  provider.on('grant.success', (ctx) => {
    const type = String(ctx.oidc.params.grant_type);
    upstream.grants[type] = (upstream.grants[type] ?? 0) + 1;
  });
  const callback = provider.callback();

  async function interaction(req: IncomingMessage, res: ServerResponse) {
    const details = await provider.interactionDetails(req, res);
    if (upstream.deny) {
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'The person said no.' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    let account = upstream.account;
    if (upstream.signInForm) {
      if (req.method !== 'POST') {
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end(
            '<!doctype html><html lang="en"><head><title>Sign in to Records</title></head><body><main>' +
              '<h1>Sign in to Records</h1><form method="post"><label for="username">Username</label>' +
              '<input id="username" name="username" autocomplete="username">' +
              '<button type="submit">Sign in and allow</button></form></main></body></html>',
          );
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      account = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('username') || account;
    }
    const grant = new provider.Grant({ accountId: account, clientId: details.params.client_id! });
    grant.addOIDCScope(details.params.scope ?? '');
    grant.addResourceScope(apiUrl, details.params.scope ?? '');
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: account }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  async function api(req: IncomingMessage, res: ServerResponse) {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const found = token
      ? ((await provider.AccessToken.find(token)) ?? (await provider.ClientCredentials.find(token)))
      : undefined;
    const status = found ? 200 : 401;
    upstream.apiCalls.push({ status, token });
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(
        JSON.stringify(
          found ? { account: found.accountId ?? null, client: found.clientId } : { error: 'invalid_token' },
        ),
      );
  }

  handler = (req, res) => {
    const path = new URL(req.url!, issuer).pathname;
    const done = (promise: Promise<void>) =>
      promise.catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(error));
      });
    if (path.startsWith('/interaction/')) return void done(interaction(req, res));
    if (path.startsWith('/api/')) return void done(api(req, res));
    if (path === '/token') {
      upstream.tokenRequests++;
      if (upstream.failTokenRequests > 0) {
        upstream.failTokenRequests--;
        req.resume();
        return void res.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance');
      }
      if (upstream.tokenDelayMs > 0) return void setTimeout(() => callback(req, res), upstream.tokenDelayMs);
    }
    callback(req, res);
  };
  return upstream;
}
