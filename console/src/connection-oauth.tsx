import { useState } from 'react';
import { api, sessionCsrfToken } from './api';
import { ActionButton, CopyButton, ProblemBanner, formatTime, useAction } from './forms';
import type { Connection, Connector, OAuthStatus } from './types';

type Scheme = OAuthStatus['schemeType'];
/** Where a connection stands with its provider: the API's three states, and one for no tokens yet. */
export type OAuthShown = OAuthStatus['state'] | 'not-connected';

const MANAGED: readonly string[] = ['oauth2-code', 'oauth2-client-credentials'];

/**
 * The OAuth scheme plugboard runs for a connection, as the server picks it (managedConfigOf in
 * src/domain/upstream-oauth.ts): the first managed config its credentials name, else the connector's first. The
 * stored tokens say it once there are any; before that only the connector can. Null: not an OAuth connection.
 */
export function oauthSchemeOf(connection: Connection, connector: Connector | undefined): Scheme | null {
  if (connection.oauth) return connection.oauth.schemeType;
  if (!connector) return null;
  const managed = connector.authSchemeConfigs.filter((c) => MANAGED.includes(c.schemeType));
  const named = connection.credentials
    .map((c) => managed.find((m) => m.id === c.authSchemeConfigId))
    .find((c) => c !== undefined);
  return ((named ?? managed[0])?.schemeType as Scheme | undefined) ?? null;
}

const LABELS: Record<OAuthShown, string> = {
  connected: 'Connected',
  degraded: 'Degraded',
  'reconnect-required': 'Reconnect required',
  'not-connected': 'Not connected',
};

/** The connection's OAuth state as a badge; nothing for a connection that does not use OAuth. */
export function OAuthBadge({ connection, connector }: { connection: Connection; connector: Connector | undefined }) {
  const scheme = oauthSchemeOf(connection, connector);
  if (scheme === null) return null;
  const shown: OAuthShown = connection.oauth?.state ?? 'not-connected';
  const label = scheme === 'oauth2-client-credentials' && shown === 'not-connected' ? 'No token yet' : LABELS[shown];
  return (
    <span className={`badge oauth-${shown}`} data-testid="oauth-state" title={connection.oauth?.lastError ?? undefined}>
      {label}
    </span>
  );
}

/** What the state means, in a sentence for a person. */
function explain(shown: OAuthShown, scheme: Scheme): string {
  const code = scheme === 'oauth2-code';
  switch (shown) {
    case 'connected':
      return code
        ? 'plugboard holds a token for this account and refreshes it before it expires.'
        : 'plugboard holds a token for the OAuth client and fetches a new one before it expires.';
    case 'degraded':
      return 'The last refresh failed: the provider could not be reached or answered with a server error. plugboard tries again on the next call; the current token is used while it is still valid.';
    case 'reconnect-required':
      return code
        ? 'The provider no longer accepts this connection’s grant (it was revoked, or it expired). Tool calls through it fail until someone connects it again.'
        : 'The provider refused the OAuth client (check the connector’s clientId and clientSecret). plugboard tries again on the next call.';
    case 'not-connected':
      return code
        ? 'No one has connected this connection to its provider yet. Tool calls through it answer with a connect link until someone does.'
        : 'plugboard fetches a token with the client credentials on the first tool call.';
  }
}

interface ConnectReply {
  authorizationUrl: string | null;
  connectUrl: string | null;
  expiresAt: string;
}

/** A connect link handed out for someone else: shown with its expiry, to be sent on. */
function HandedLink({ link, onDone }: { link: ConnectReply; onDone: () => void }) {
  return (
    <div className="banner info" role="status" aria-label="Connect link">
      <strong>Send this link to the person whose account this connection should use.</strong>
      <div>
        It works once, until {formatTime(link.expiresAt)}. Opening it, they sign in at the provider and allow access;
        they need no plugboard account.
      </div>
      <p className="url-row">
        <code data-testid="connect-link">{link.connectUrl}</code>{' '}
        <CopyButton text={link.connectUrl ?? ''} label="Copy connect link" />
      </p>
      <button type="button" onClick={onDone}>
        Hide the link
      </button>
    </div>
  );
}

/**
 * A connection's OAuth: its state in words, when it was refreshed, when its token expires and what went wrong
 * last. For the authorization code flow, a button that connects (or reconnects) in this browser and one that hands
 * out a connect link for someone else; client credentials need no person, so no button.
 */
export function OAuthPanel(props: { path: string; connection: Connection; connector: Connector | undefined }) {
  const { connection } = props;
  const scheme = oauthSchemeOf(connection, props.connector);
  const [link, setLink] = useState<ConnectReply | null>(null);
  const connect = useAction(async () => {
    // Signed in with a password, the flow is bound to this person and ends back here. With an API key there is
    // no session for the callback to recognise: go through a connect link, which binds the flow to this browser.
    const session = sessionCsrfToken() !== null;
    const reply = await api.post<ConnectReply>(`${props.path}/connect`, session ? {} : { handOff: true });
    const target = reply.body.authorizationUrl ?? reply.body.connectUrl;
    if (target) window.location.assign(target);
  });
  const handOff = useAction(async () => {
    setLink((await api.post<ConnectReply>(`${props.path}/connect`, { handOff: true })).body);
  });
  if (scheme === null) return null;
  const oauth = connection.oauth;
  const shown: OAuthShown = oauth?.state ?? 'not-connected';
  const code = scheme === 'oauth2-code';
  return (
    <section className="panel" aria-labelledby="oauth-heading">
      <h2 id="oauth-heading">{code ? 'OAuth connection' : 'OAuth token (client credentials)'}</h2>
      <p>
        <OAuthBadge connection={connection} connector={props.connector} />{' '}
        <span data-testid="oauth-explained">{explain(shown, scheme)}</span>
      </p>
      {oauth ? (
        <dl className="kv">
          <dt>Connected</dt>
          <dd>{formatTime(oauth.connectedAt)}</dd>
          <dt>Last refresh</dt>
          <dd data-testid="oauth-last-refresh">{oauth.lastRefreshAt ? formatTime(oauth.lastRefreshAt) : 'Not yet'}</dd>
          <dt>Token expires</dt>
          <dd data-testid="oauth-expires">
            {oauth.expiresAt ? formatTime(oauth.expiresAt) : 'The provider gave no expiry'}
          </dd>
          {oauth.scope ? (
            <>
              <dt>Scope</dt>
              <dd>
                <code>{oauth.scope}</code>
              </dd>
            </>
          ) : null}
          <dt>Last error</dt>
          <dd data-testid="oauth-last-error">
            {oauth.lastError ? `${oauth.lastError} (${formatTime(oauth.lastErrorAt)})` : 'None'}
          </dd>
        </dl>
      ) : null}
      {code ? (
        <>
          <ProblemBanner problem={connect.problem ?? handOff.problem} />
          {link ? <HandedLink link={link} onDone={() => setLink(null)} /> : null}
          <div className="actions">
            <ActionButton
              className="primary"
              busy={connect.busy}
              busyLabel="Opening the provider…"
              onClick={() => void connect.run()}
            >
              {shown === 'not-connected' ? 'Connect' : 'Reconnect'}
            </ActionButton>{' '}
            <ActionButton busy={handOff.busy} busyLabel="Creating a link…" onClick={() => void handOff.run()}>
              Get a connect link for someone else
            </ActionButton>
          </div>
          <p className="hint">
            Connecting opens the provider in this window: sign in there and allow access, then come back here.
          </p>
        </>
      ) : null}
    </section>
  );
}
