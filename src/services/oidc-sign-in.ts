import * as client from 'openid-client';
import { unauthenticated } from '../domain/errors.js';
import type { FetchLike } from '../egress/egress-connect.js';
import type { IssuedSession, UserService } from './user-service.js';

export interface OidcSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** Where the provider sends the browser back to. */
export const CALLBACK_PATH = '/auth/oidc/callback';

/** What the browser keeps between leaving for the provider and coming back (in an HttpOnly cookie). */
export interface OidcChecks {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
}

/** Why a sign-in through the provider was refused, in words for the person. */
export const OIDC_REFUSED = {
  unverified: 'Your identity provider did not say that your email address is verified, so it cannot sign you in here.',
  unknown: 'No plugboard account has the email address your identity provider gave. Ask an admin for an invitation.',
  failed: 'Signing in with your identity provider did not succeed. Try again.',
} as const;

/**
 * Sign-in with an external OpenID Connect provider: authorization code flow with PKCE (S256), state and nonce,
 * built on openid-client. The provider's discovery document and every call to it go through the egress policy
 * (`fetch`). A person is matched to a user by their verified email only: no email, or `email_verified` not
 * true, is refused, and nobody is created (people join by invitation).
 */
export function createOidcSignIn(deps: {
  settings: OidcSettings;
  fetch: FetchLike;
  users: UserService;
  /** The origin people reach this server at: the callback is `<it>/auth/oidc/callback`. */
  baseUrlOf: (requestOrigin: string | undefined) => string;
}) {
  const { settings, users } = deps;
  const customFetch: client.CustomFetch = (url, options) => deps.fetch(url, options);
  const issuer = new URL(settings.issuer);
  let discovered: Promise<client.Configuration> | undefined;

  /** The provider's configuration, discovered once; a failed discovery is tried again next time. */
  function configuration(): Promise<client.Configuration> {
    discovered ??= client
      .discovery(issuer, settings.clientId, settings.clientSecret, undefined, {
        [client.customFetch]: customFetch,
        // Plain http only for a provider on a loopback address (config.ts allows nothing else).
        execute: issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [],
      })
      .catch((error: unknown) => {
        discovered = undefined;
        throw error;
      });
    return discovered;
  }

  return {
    /** Where to send the browser, and the checks it must bring back. */
    async start(requestOrigin: string | undefined): Promise<{ url: string; checks: OidcChecks }> {
      const config = await configuration();
      const redirectUri = `${deps.baseUrlOf(requestOrigin)}${CALLBACK_PATH}`;
      const checks = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        verifier: client.randomPKCECodeVerifier(),
      };
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid email profile',
        code_challenge: await client.calculatePKCECodeChallenge(checks.verifier),
        code_challenge_method: 'S256',
        state: checks.state,
        nonce: checks.nonce,
      });
      return { url: url.href, checks };
    },

    /**
     * Completes the flow at the callback URL (with its query): exchanges the code, checks the ID token, and opens
     * a session for the user with that verified email. Throws `unauthenticated` with one of OIDC_REFUSED.
     */
    async finish(query: string, requestOrigin: string | undefined, checks: OidcChecks): Promise<IssuedSession> {
      const config = await configuration();
      // openid-client sends this URL without its query as the redirect_uri, which must be the one sent at the start.
      const callbackUrl = new URL(`${deps.baseUrlOf(requestOrigin)}${CALLBACK_PATH}?${query}`);
      let claims: { email?: unknown; email_verified?: unknown };
      try {
        const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: checks.verifier,
          expectedState: checks.state,
          expectedNonce: checks.nonce,
          idTokenExpected: true,
        });
        const idToken = tokens.claims()!;
        claims = { email: idToken.email, email_verified: idToken.email_verified };
        // Providers that keep the ID token small put the email in UserInfo only (OpenID Connect Core §5.4).
        if (claims.email === undefined) claims = await client.fetchUserInfo(config, tokens.access_token, idToken.sub);
      } catch {
        throw unauthenticated(OIDC_REFUSED.failed);
      }
      if (typeof claims.email !== 'string' || claims.email_verified !== true)
        throw unauthenticated(OIDC_REFUSED.unverified);
      const session = await users.signInWithVerifiedEmail(claims.email);
      if (!session) throw unauthenticated(OIDC_REFUSED.unknown);
      return session;
    },
  };
}

export type OidcSignIn = ReturnType<typeof createOidcSignIn>;
