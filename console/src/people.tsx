import { useState, type FormEvent } from 'react';
import { api, etagOf, wsPath, type Page } from './api';
import {
  ActionButton,
  CopyButton,
  ProblemBanner,
  SelectField,
  TextField,
  errorAt,
  formatTime,
  useAction,
} from './forms';
import { Pager, usePaged } from './paging';
import { ConfirmDialog, EmptyState, Outcome, useConfirmedDelete } from './ui';
import type { Invitation, Member, Role } from './types';

const ROLES: readonly Role[] = ['owner', 'admin', 'editor', 'viewer'];
const ROLE_WORDS: Record<Role, string> = {
  owner: 'Owner — everything, including OAuth grants and deleting the workspace',
  admin: 'Admin — members, invitations and API keys, and all an editor does',
  editor: 'Editor — connectors, connections, toolsets, access clients; calls tools',
  viewer: 'Viewer — reads everything, lists tools, changes nothing',
};

/** The roles someone with `mine` may hand out: their own and below (the API refuses any other). */
function rolesUpTo(mine: Role | undefined): Role[] {
  const at = mine ? ROLES.indexOf(mine) : -1;
  return at < 0 ? [] : ROLES.slice(at);
}

/** Whether a role may invite (member:manage, admin and above). */
const canInvite = (role: Role | undefined) => role === 'owner' || role === 'admin';

function invitationState(invitation: Invitation): 'accepted' | 'expired' | 'pending' {
  if (invitation.acceptedAt !== null) return 'accepted';
  return Date.parse(invitation.expiresAt) <= Date.now() ? 'expired' : 'pending';
}

/** A fresh invitation's link: shown here once, never again (the server keeps only its digest). */
function LinkOnce({ invitation, url, onDone }: { invitation: Invitation; url: string; onDone: () => void }) {
  return (
    <div className="banner warning secret-once" role="alert" aria-label="Invitation link">
      <strong>
        Send this link to {invitation.email} now: it is shown only this once, and works once, until{' '}
        {formatTime(invitation.expiresAt)}.
      </strong>
      <div>
        Opening it, they choose a display name and a password and join as {invitation.role}. If it is lost, withdraw the
        invitation and invite again.
      </div>
      <p className="url-row">
        <code data-testid="invitation-url">{url}</code> <CopyButton text={url} label="Copy invitation link" />
      </p>
      <button type="button" onClick={onDone}>
        I have sent it: hide the link
      </button>
    </div>
  );
}

function InviteForm(props: {
  workspaceId: string;
  roles: Role[];
  onInvited: (invitation: Invitation, url: string) => void;
}) {
  const [email, setEmail] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState<Role>(props.roles.includes('editor') ? 'editor' : props.roles[0]!);
  const invite = useAction(async () => {
    const reply = await api.post<Invitation & { url: string }>(wsPath(props.workspaceId, 'invitations'), {
      email: email.trim(),
      ...(displayName.trim() ? { displayName: displayName.trim() } : {}),
      role,
    });
    const { url, ...invitation } = reply.body;
    setEmail('');
    setDisplayName('');
    props.onInvited(invitation, url);
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void invite.run();
  };
  return (
    <section className="panel">
      <h2>Invite a colleague</h2>
      <ProblemBanner problem={invite.problem} shownPaths={['/email', '/displayName', '/role']} />
      {/* The API checks the address (and says what is wrong in words), not the browser's own bubble. */}
      <form onSubmit={submit} aria-label="Invite a colleague" noValidate>
        <TextField
          label="Email"
          type="email"
          value={email}
          onChange={setEmail}
          required
          error={errorAt(invite.problem, '/email')}
        />
        <TextField
          label="Display name (optional)"
          value={displayName}
          onChange={setDisplayName}
          error={errorAt(invite.problem, '/displayName')}
          hint="A suggestion they can change when they accept."
        />
        <SelectField
          label="Role"
          value={role}
          options={props.roles.map((r) => [r, ROLE_WORDS[r]] as const)}
          onChange={setRole}
          error={errorAt(invite.problem, '/role')}
          hint="No higher than your own."
        />
        <ActionButton type="submit" className="primary" busy={invite.busy} busyLabel="Inviting…">
          Create invitation link
        </ActionButton>
      </form>
    </section>
  );
}

function Invitations({ workspaceId, reloadKey }: { workspaceId: string; reloadKey: number }) {
  const paged = usePaged(
    async (cursor) => (await api.get<Page<Invitation>>(wsPath(workspaceId, 'invitations'), { limit: 20, cursor })).body,
    `${workspaceId}\u0000${reloadKey}`,
  );
  const withdraw = useConfirmedDelete<Invitation>({
    noun: ['invitation', 'invitations'],
    verb: 'withdrawn',
    label: (invitation) => invitation.email,
    remove: (invitation) => api.del(wsPath(workspaceId, 'invitations', invitation.id)),
    onDone: paged.reload,
  });
  const asked = withdraw.asked?.[0];
  return (
    <section>
      <h2>Invitations</h2>
      <ProblemBanner problem={paged.problem} />
      <Outcome outcome={withdraw.outcome} />
      {paged.items.length > 0 ? (
        <table aria-busy={paged.loading} className="list invitations">
          <thead>
            <tr>
              <th>Email</th>
              <th>Role</th>
              <th>State</th>
              <th>Invited</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {paged.items.map((invitation) => {
              const state = invitationState(invitation);
              return (
                <tr key={invitation.id}>
                  <td data-label="Email">
                    <div>
                      {invitation.email}
                      {invitation.displayName ? <div className="muted">{invitation.displayName}</div> : null}
                    </div>
                  </td>
                  <td data-label="Role">{invitation.role}</td>
                  <td data-label="State">
                    <div>
                      <span className={`badge invitation-${state}`}>{state}</span>
                      <div className="muted">
                        {state === 'accepted'
                          ? formatTime(invitation.acceptedAt)
                          : `${state === 'expired' ? 'expired' : 'until'} ${formatTime(invitation.expiresAt)}`}
                      </div>
                    </div>
                  </td>
                  <td data-label="Invited">{formatTime(invitation.createdAt)}</td>
                  <td className="actions" data-label="Actions">
                    {state === 'pending' ? (
                      <button type="button" className="danger" onClick={() => withdraw.ask([invitation])}>
                        Withdraw invitation of {invitation.email}
                      </button>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {!paged.loading && !paged.problem && paged.items.length === 0 ? (
        <EmptyState title="No invitations yet.">Invite a colleague with the form below.</EmptyState>
      ) : null}
      <Pager {...paged} />
      {asked ? (
        <ConfirmDialog
          title={`Withdraw the invitation of ${asked.email}?`}
          confirmLabel="Withdraw invitation"
          busyLabel="Withdrawing…"
          {...withdraw.dialogProps}
        >
          <p>
            The link sent to {asked.email} stops working at once; opening it says it is no longer valid. You can invite
            them again.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}

/** A member's row; admins and owners change its role (up to their own) or remove it, with the API's refusals shown. */
function MemberRow(props: {
  workspaceId: string;
  member: Member;
  roles: Role[] | null;
  onChanged: () => void;
  onRemove: () => void;
}) {
  const { member } = props;
  const [role, setRole] = useState<Role>(member.role);
  const save = useAction(async () => {
    // The member as listed: a role changed meanwhile by someone else is refused (412), not overwritten.
    await api.put(wsPath(props.workspaceId, 'members', member.principalId), { role }, etagOf(member));
    props.onChanged();
  });
  // A role the viewer of the page cannot hand out is shown, not offered.
  const options = props.roles && !props.roles.includes(member.role) ? [member.role, ...props.roles] : props.roles;
  return (
    <tr>
      <td data-label="Name">
        <div>
          {member.name}
          <div className="muted">
            <code>{member.principalId}</code>
          </div>
        </div>
      </td>
      <td data-label="Kind">{member.kind === 'user' ? 'Person' : 'API key (service)'}</td>
      <td data-label="Role">{member.role}</td>
      <td data-label="Status">
        <span className={`badge status-${member.status}`}>{member.status}</span>
      </td>
      <td data-label="Member since">{formatTime(member.createdAt)}</td>
      {options ? (
        <td className="actions" data-label="Actions">
          <form
            className="inline-form"
            aria-label={`Role of ${member.name}`}
            onSubmit={(event) => {
              event.preventDefault();
              void save.run();
            }}
          >
            <select
              aria-label={`New role of ${member.name}`}
              value={role}
              onChange={(event) => setRole(event.target.value as Role)}
            >
              {options.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
            <ActionButton type="submit" busy={save.busy} busyLabel="Saving…" disabled={role === member.role}>
              Change role of {member.name}
            </ActionButton>
          </form>
          <button type="button" className="danger" onClick={props.onRemove}>
            Remove {member.name}
          </button>
          <ProblemBanner problem={save.problem} />
        </td>
      ) : null}
    </tr>
  );
}

/** Who has a role in the workspace; admins and owners also invite people and see the invitations. */
export function Members({ workspaceId, role }: { workspaceId: string; role: Role | undefined }) {
  const [issued, setIssued] = useState<{ invitation: Invitation; url: string } | null>(null);
  const [invitationsShown, setInvitationsShown] = useState(0);
  const paged = usePaged(
    async (cursor) => (await api.get<Page<Member>>(wsPath(workspaceId, 'members'), { limit: 20, cursor })).body,
    workspaceId,
  );
  const manage = canInvite(role);
  const remove = useConfirmedDelete<Member>({
    noun: ['member', 'members'],
    verb: 'removed',
    label: (member) => member.name,
    remove: (member) => api.del(wsPath(workspaceId, 'members', member.principalId), etagOf(member)),
    onDone: paged.reload,
  });
  const removing = remove.asked?.[0];
  return (
    <section>
      <h1>Members</h1>
      <p className="hint">
        People (who sign in with a password or single sign-on) and service principals (API keys) with a role in{' '}
        <code>{workspaceId}</code>.
      </p>
      {issued ? <LinkOnce {...issued} onDone={() => setIssued(null)} /> : null}
      <ProblemBanner problem={paged.problem} />
      <Outcome outcome={remove.outcome} />
      {paged.items.length > 0 ? (
        <table aria-busy={paged.loading} className="list members">
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>Role</th>
              <th>Status</th>
              <th>Member since</th>
              {manage ? <th>Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {paged.items.map((member) => (
              <MemberRow
                key={`${member.principalId}:${member.role}`}
                workspaceId={workspaceId}
                member={member}
                roles={manage ? rolesUpTo(role) : null}
                onChanged={paged.reload}
                onRemove={() => remove.ask([member])}
              />
            ))}
          </tbody>
        </table>
      ) : null}
      {!paged.loading && !paged.problem && paged.items.length === 0 ? <EmptyState title="No members." /> : null}
      <Pager {...paged} />
      {manage ? (
        <>
          <Invitations workspaceId={workspaceId} reloadKey={invitationsShown} />
          <InviteForm
            workspaceId={workspaceId}
            roles={rolesUpTo(role)}
            onInvited={(invitation, url) => {
              setIssued({ invitation, url });
              setInvitationsShown((n) => n + 1);
              window.scrollTo({ top: 0 });
            }}
          />
        </>
      ) : (
        <p className="hint">Admins and owners invite people and see the invitations.</p>
      )}
      {removing ? (
        <ConfirmDialog
          title={`Remove ${removing.name} from ${workspaceId}?`}
          confirmLabel="Remove member"
          busyLabel="Removing…"
          {...remove.dialogProps}
        >
          <p>
            {removing.kind === 'user'
              ? `${removing.name} loses access to this workspace, and so do the MCP clients they connected to its toolsets.`
              : `The API keys of ${removing.name} stop working in this workspace.`}{' '}
            Their account and the audit stay; invite them again to bring them back.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
