import type { McpScope } from '../domain/oauth.js';
import type { Role } from '../domain/permissions.js';

/** What the consent page shows: who asks, for what, and what the user's role lets them give. */
export interface ConsentView {
  readonly action: string;
  readonly csrf: string;
  readonly user: string;
  readonly clientName: string;
  readonly clientId: string;
  readonly logoHost: string | undefined;
  readonly redirectHost: string;
  readonly workspaceId: string;
  readonly toolset: string;
  /** The user's role in the workspace; undefined when they are not a member. */
  readonly role: Role | undefined;
  readonly asked: readonly McpScope[];
  readonly granted: readonly McpScope[];
}

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const MEANING: Record<McpScope, string> = {
  'mcp:read': 'list its tools (read)',
  'mcp:call': 'call its tools on your behalf (call)',
};

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}' +
  'dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}' +
  'button{font-size:1rem;padding:.5rem 1.25rem;margin-right:.5rem}.refused{color:#8a1c1c}';

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

/** A page that only says something (an expired request, a stale form). */
export function messagePage(title: string, text: string): string {
  return layout(title, `<h1>${escape(title)}</h1><p>${escape(text)}</p>`);
}

/** The consent page: approve or deny, with everything the decision rests on shown as text, never as markup. */
export function consentPage(view: ConsentView): string {
  const items = view.asked
    .map((scope) =>
      view.granted.includes(scope)
        ? `<li data-scope="${scope}">${escape(MEANING[scope])}</li>`
        : `<li class="refused" data-scope="${scope}">${escape(MEANING[scope])} — not allowed for your role (${escape(view.role ?? 'not a member')})</li>`,
    )
    .join('');
  const canApprove = view.granted.length > 0;
  const body = `
<h1>Connect ${escape(view.clientName)}?</h1>
<p>Signed in as <strong>${escape(view.user)}</strong>.</p>
<dl>
  <dt>Client</dt><dd id="client-name">${escape(view.clientName)}</dd>
  <dt>Client id</dt><dd id="client-id"><code>${escape(view.clientId)}</code></dd>
  <dt>Logo from</dt><dd id="logo-host">${escape(view.logoHost ?? 'no logo')}</dd>
  <dt>Sends you back to</dt><dd id="redirect-host">${escape(view.redirectHost)}</dd>
  <dt>Toolset</dt><dd id="toolset">${escape(view.toolset)} in workspace ${escape(view.workspaceId)}</dd>
</dl>
<p>It asks to:</p>
<ul id="scopes">${items}</ul>
<form method="post" action="${escape(view.action)}">
  <input type="hidden" name="csrf" value="${escape(view.csrf)}">
  ${canApprove ? '<button type="submit" name="decision" value="approve" id="approve">Approve</button>' : ''}
  <button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>`;
  return layout(`Connect ${view.clientName}`, body);
}
