import { api, wsPath, type Page } from './api';
import { ProblemBanner, formatTime } from './forms';
import { Pager, usePaged } from './paging';
import { Link } from './router';
import { ConfirmDialog, EmptyState, Outcome, useConfirmedDelete } from './ui';
import type { OAuthGrant } from './types';

/** Where a client comes from: a Client ID Metadata Document's host, or the id it registered with. */
function clientOrigin(clientId: string): string {
  try {
    const url = new URL(clientId);
    if (url.protocol === 'https:' || url.protocol === 'http:') return `metadata document on ${url.host}`;
  } catch {
    // Not a URL: an id from dynamic registration or pre-registration.
  }
  return `registered as ${clientId}`;
}

/** What the grant lets the client do, in words. */
function accessOf(grant: OAuthGrant): string {
  if (grant.scopes.includes('mcp:call')) return 'List and call tools';
  if (grant.scopes.includes('mcp:read')) return 'List tools only';
  return 'Nothing (no scope left)';
}

const REVOKE_CONSEQUENCE =
  'Its access and refresh tokens stop working at once: its next call is refused (401) and it has to ask for ' +
  'approval again. The audit keeps what it did.';

/**
 * A list of OAuth grants with a confirmed revoke per row: the signed-in person's own (every workspace) or a
 * workspace's (its owners), which also names the person who approved each client.
 */
function GrantList(props: {
  load: (cursor: string | undefined) => Promise<Page<OAuthGrant>>;
  pageKey: string;
  revokePath: (grant: OAuthGrant) => string;
  showPerson: boolean;
  empty: { title: string; body: string };
  forbiddenHint?: string;
}) {
  const paged = usePaged(props.load, props.pageKey);
  const revoke = useConfirmedDelete<OAuthGrant>({
    noun: ['grant', 'grants'],
    verb: 'revoked',
    label: (grant) => `${grant.clientName} (${grant.toolset})`,
    remove: (grant) => api.del(props.revokePath(grant)),
    onDone: paged.reload,
  });
  const asked = revoke.asked?.[0];
  return (
    <>
      {paged.problem?.status === 403 && props.forbiddenHint ? (
        <p className="hint" role="note">
          {props.forbiddenHint}
        </p>
      ) : null}
      <ProblemBanner problem={paged.problem} />
      <Outcome outcome={revoke.outcome} />
      {paged.items.length > 0 ? (
        <table aria-busy={paged.loading} className="list grants">
          <thead>
            <tr>
              <th>Client</th>
              {props.showPerson ? <th>Approved by</th> : null}
              <th>Toolset</th>
              <th>Access</th>
              <th>Granted</th>
              <th>Last token</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {paged.items.map((grant) => (
              <tr key={grant.id}>
                <td data-label="Client">
                  <div>
                    <strong>{grant.clientName}</strong>
                    <div className="muted client-id" title={grant.clientId}>
                      {clientOrigin(grant.clientId)}
                    </div>
                  </div>
                </td>
                {props.showPerson ? (
                  <td data-label="Approved by">
                    <span title={grant.userId}>{grant.userName ?? `${grant.userId} (gone)`}</span>
                  </td>
                ) : null}
                <td data-label="Toolset">
                  <div>
                    <Link
                      to={`/w/${encodeURIComponent(grant.workspaceId)}/toolsets/${encodeURIComponent(grant.toolset)}`}
                    >
                      {grant.toolset}
                    </Link>
                    <div className="muted">in {grant.workspaceId}</div>
                  </div>
                </td>
                <td data-label="Access">
                  <div>
                    {accessOf(grant)}
                    <div className="muted">{grant.scopes.join(' ')}</div>
                  </div>
                </td>
                <td data-label="Granted">
                  <div>
                    {formatTime(grant.createdAt)}
                    <div className="muted">until {formatTime(grant.expiresAt)}</div>
                  </div>
                </td>
                <td data-label="Last token">{grant.lastTokenAt ? formatTime(grant.lastTokenAt) : 'never'}</td>
                <td className="actions" data-label="Actions">
                  <button type="button" className="danger" onClick={() => revoke.ask([grant])}>
                    Revoke {grant.clientName}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {!paged.loading && !paged.problem && paged.items.length === 0 ? (
        <EmptyState title={props.empty.title}>{props.empty.body}</EmptyState>
      ) : null}
      {paged.problem?.status === 403 ? null : <Pager {...paged} />}
      {asked ? (
        <ConfirmDialog
          title={`Revoke ${asked.clientName}'s access to ${asked.toolset}?`}
          confirmLabel="Revoke access"
          busyLabel="Revoking…"
          {...revoke.dialogProps}
        >
          <p>
            <strong>{asked.clientName}</strong> ({clientOrigin(asked.clientId)}) may {accessOf(asked).toLowerCase()} of
            toolset <code>{asked.toolset}</code> in workspace <code>{asked.workspaceId}</code>
            {props.showPerson ? ` for ${asked.userName ?? asked.userId}` : ''}.
          </p>
          <p>{REVOKE_CONSEQUENCE}</p>
        </ConfirmDialog>
      ) : null}
    </>
  );
}

/** The OAuth clients the signed-in person approved, in every workspace, each revocable. */
export function ConnectedClients() {
  return (
    <section>
      <h1>Your connected clients</h1>
      <p className="hint">
        MCP clients (Claude, ChatGPT, VS Code, Cursor, …) you allowed to use a toolset on your behalf, through its MCP
        URL and the consent page. Revoke one to cut it off at once.
      </p>
      <GrantList
        load={async (cursor) => (await api.get<Page<OAuthGrant>>('/me/oauth-grants', { limit: 20, cursor })).body}
        pageKey="me"
        revokePath={(grant) => `/me/oauth-grants/${encodeURIComponent(grant.id)}`}
        showPerson={false}
        empty={{
          title: 'You have not connected any client.',
          body: "Add a toolset's MCP URL to an MCP client that signs in with OAuth; once you approve it on the consent page it is listed here.",
        }}
      />
    </section>
  );
}

/** Every grant in a workspace, with who approved it: for the workspace's owners. */
export function WorkspaceGrants({ workspaceId }: { workspaceId: string }) {
  return (
    <section>
      <h1>OAuth grants</h1>
      <p className="hint">
        The MCP clients the members of <code>{workspaceId}</code> connected with OAuth. Revoking one cuts that client
        off for that person; they can approve it again.
      </p>
      <GrantList
        load={async (cursor) =>
          (await api.get<Page<OAuthGrant>>(wsPath(workspaceId, 'oauth-grants'), { limit: 20, cursor })).body
        }
        pageKey={workspaceId}
        revokePath={(grant) => wsPath(workspaceId, 'oauth-grants', grant.id)}
        showPerson
        forbiddenHint="Only the owners of this workspace see and revoke its members' OAuth clients. Your own connected clients are under “Your connected clients”."
        empty={{
          title: 'No member has connected an OAuth client here.',
          body: "When someone adds a toolset's MCP URL to an MCP client and approves it, the grant shows here.",
        }}
      />
    </section>
  );
}
