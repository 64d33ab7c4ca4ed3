import * as client from 'openid-client';
import { classifyTokenError, type OAuthSettings, type TokenFailure } from '../domain/upstream-oauth.js';
import type { FetchLike } from '../egress/egress-connect.js';
import { EgressRefused, egressRefusalIn } from '../egress/egress-policy.js';

/** What a token endpoint answered, as plugboard keeps it. */
export interface TokenSet {
  readonly accessToken: string;
  /** Absent when the provider sent none (client credentials), or kept from before when it did not rotate it. */
  readonly refreshToken: string | null;
  readonly expiresAt: string | null;
  readonly scope: string | null;
}

export type TokenResult = { readonly ok: true; readonly tokens: TokenSet } | ({ readonly ok: false } & TokenFailure);

/** The client side of OAuth for one connection's settings: openid-client over the egress policy's fetch. */
export interface OAuthClientOf {
  (settings: OAuthSettings, clientSecret: string | null): client.Configuration;
}

/**
 * openid-client (the certified relying-party library on oauth4webapi) builds the authorization URL, checks
 * the authorization response (state, `iss` when the issuer is known) and makes every token request. Its
 * `fetch` is the egress policy's: the token URL is user-aimed. The authorization URL is only handed to a browser.
 */
export function oauthClientFactory(fetch: FetchLike, timeoutMs: number): OAuthClientOf {
  const customFetch: client.CustomFetch = (url, options) => fetch(url, options);
  return (settings, clientSecret) => {
    const tokenUrl = new URL(settings.tokenUrl);
    const config = new client.Configuration(
      {
        // Without a configured issuer the token URL's origin stands in; the `iss` check is then skipped (finish()).
        issuer: settings.issuer ?? tokenUrl.origin,
        token_endpoint: settings.tokenUrl,
        ...(settings.authorizeUrl ? { authorization_endpoint: settings.authorizeUrl } : {}),
      },
      settings.clientId,
      undefined,
      clientSecret === null ? client.None() : client.ClientSecretPost(clientSecret),
    );
    config[client.customFetch] = customFetch;
    config.timeout = Math.max(1, Math.ceil(timeoutMs / 1000));
    // Plain http is what the connector's admin chose for the URL (a provider inside the network, a test); the
    // egress policy still decides which addresses it may reach.
    if (tokenUrl.protocol === 'http:') client.allowInsecureRequests(config);
    return config;
  };
}

/** The token set of a token endpoint response; `previousRefresh` stays when the provider did not rotate it. */
export function tokenSetOf(
  response: client.TokenEndpointResponse,
  now: string,
  previousRefresh: string | null,
): TokenSet {
  const expiresIn = typeof response.expires_in === 'number' ? response.expires_in : undefined;
  return {
    accessToken: response.access_token,
    refreshToken: typeof response.refresh_token === 'string' ? response.refresh_token : previousRefresh,
    expiresAt: expiresIn === undefined ? null : new Date(Date.parse(now) + expiresIn * 1000).toISOString(),
    scope: typeof response.scope === 'string' ? response.scope : null,
  };
}

/** A token request's failure in words (never the request, which holds secrets) and whether it may pass. */
export function tokenFailureOf(error: unknown): TokenFailure {
  if (error instanceof client.ResponseBodyError) {
    const description = error.error_description ? `: ${error.error_description.slice(0, 300)}` : '';
    return {
      kind: classifyTokenError(error.error, error.status),
      message: `The token endpoint answered ${error.status} ${error.error}${description}`,
    };
  }
  const refusal = error instanceof EgressRefused ? error : egressRefusalIn(error);
  if (refusal) return { kind: 'retry', message: `The token endpoint was ${refusal.message}` };
  // A non-JSON error answer: openid-client keeps the response as the cause (undici's Response class, not the global one).
  const status = (error as { cause?: { status?: unknown } }).cause?.status;
  if (typeof status === 'number') {
    const kind = status >= 500 || status === 429 ? 'retry' : classifyTokenError(undefined, status);
    return { kind, message: `The token endpoint answered with HTTP ${status}` };
  }
  const code = (error as { code?: unknown }).code;
  return {
    kind: 'retry',
    message: `The token endpoint could not be reached: ${typeof code === 'string' ? code : (error as Error).name || 'error'}`,
  };
}

/** Runs a token request; network failures and 5xx are tried again with backoff, up to `attempts` tries. */
export async function requestTokens(
  attempts: number,
  request: () => Promise<client.TokenEndpointResponse>,
  now: () => string,
  previousRefresh: string | null,
  sleep: (ms: number) => Promise<void>,
): Promise<TokenResult & { readonly tries: number }> {
  let failure: TokenFailure = { kind: 'retry', message: 'no attempt made' };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return { ok: true, tokens: tokenSetOf(await request(), now(), previousRefresh), tries: attempt };
    } catch (error) {
      failure = tokenFailureOf(error);
      if (failure.kind === 'reconnect') return { ok: false, ...failure, tries: attempt };
      // 200 ms, 400 ms, 800 ms, … with jitter: providers that fail together do not get their retries together.
      if (attempt < attempts) await sleep(200 * 2 ** (attempt - 1) * (0.75 + Math.random() / 2));
    }
  }
  return { ok: false, ...failure, tries: attempts };
}
