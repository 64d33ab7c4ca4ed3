import { useEffect, useState } from 'react';
import {
  api,
  onUnauthorized,
  request,
  session,
  sessionCsrfToken,
  signOutSession,
  type Page,
  type Problem,
} from './api';
import { problemOf } from './forms';
import { Link, navigate, segmentsOf, usePath } from './router';
import { SignIn } from './sign-in';
import type { Me, Role, Workspace } from './types';
import { ConnectorList } from './connectors';
import { ConnectorEditor } from './connector-editor';
import { ConnectionList } from './connections';
import { ConnectionEditor } from './connection-editor';
import { ToolsetDetail, ToolsetImport, ToolsetList } from './toolsets';
import { AccessClients } from './access-clients';
import { AuditTimeline } from './audit';
import { ConnectedClients, WorkspaceGrants } from './oauth-grants';
import { Members } from './people';
import { ThemeToggle } from './theme';
import { EmptyState, NotFound } from './ui';

const SECTIONS = [
  ['connectors', 'Connectors'],
  ['connections', 'Connections'],
  ['toolsets', 'Toolsets'],
  ['access-clients', 'Access clients'],
  ['members', 'Members'],
  ['oauth-grants', 'OAuth grants'],
  ['audit', 'Audit'],
] as const;

/** Sections only some roles can use: hidden from the others (the API refuses them anyway). */
const SECTION_ROLES: Partial<Record<(typeof SECTIONS)[number][0], readonly Role[]>> = {
  'oauth-grants': ['owner'],
};

/** Addresses outside any workspace. */
const TOP_LEVEL = new Set(['connected-clients']);

export function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [notice, setNotice] = useState<Problem | null>(null);
  const [checking, setChecking] = useState(session.key() !== null || sessionCsrfToken() !== null);

  // A key kept from earlier in this tab is checked once; a 401 anywhere later signs out with the reason.
  useEffect(() => {
    const stop = onUnauthorized((problem) => {
      session.clear();
      setMe(null);
      setNotice(problem);
    });
    if (session.key() !== null) {
      api
        .get<Me>('/me')
        .then(
          (reply) => setMe(reply.body),
          (error) => setNotice(problemOf(error)),
        )
        .finally(() => setChecking(false));
    } else if (sessionCsrfToken() !== null) {
      // Signed in as a person (the session cookie): no key to check, and a stale session just shows the sign-in.
      request<Me>('GET', '/me', { key: '' })
        .then(
          (reply) => setMe(reply.body),
          () => undefined,
        )
        .finally(() => setChecking(false));
    }
    return stop;
  }, []);

  if (checking) return <p className="loading">Checking your key…</p>;
  if (!me) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(key, who) => {
          session.setKey(key);
          setNotice(null);
          setMe(who);
        }}
      />
    );
  }
  return (
    <Shell
      me={me}
      onSignOut={() => {
        if (session.key() === null) void signOutSession();
        session.clear();
        setMe(null);
        navigate('/', { replace: true });
      }}
    />
  );
}

function Shell({ me, onSignOut }: { me: Me; onSignOut: () => void }) {
  const path = usePath();
  const [workspaces, setWorkspaces] = useState<Workspace[] | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const segments = segmentsOf(path);
  const workspaceId = segments[0] === 'w' ? segments[1] : undefined;
  const section = segments[2] ?? 'connectors';

  useEffect(() => {
    api.get<Page<Workspace>>('/workspaces', { limit: 100 }).then(
      (reply) => setWorkspaces(reply.body.items),
      (error) => setProblem(problemOf(error)),
    );
  }, []);

  // Without a workspace in the address, open the last one used in this tab, or the first.
  const topLevel = segments.length === 1 && TOP_LEVEL.has(segments[0]!);
  const unknownPath = path !== '/' && segments[0] !== 'w' && !topLevel;
  useEffect(() => {
    if (workspaceId || !workspaces || unknownPath || topLevel) return;
    const remembered = session.workspace();
    const target = workspaces.find((w) => w.id === remembered) ?? workspaces[0];
    if (target) navigate(`/w/${encodeURIComponent(target.id)}/connectors`, { replace: true });
  }, [workspaceId, workspaces, unknownPath, topLevel]);

  useEffect(() => {
    if (workspaceId) session.setWorkspace(workspaceId);
  }, [workspaceId]);

  // On a page outside any workspace the sections lead back to the last workspace used.
  const navWorkspace = workspaceId ?? (topLevel ? (session.workspace() ?? workspaces?.[0]?.id) : undefined);
  const role = navWorkspace ? (me.roles[navWorkspace] as Role | undefined) : undefined;
  const known = workspaces ?? [];
  const options =
    workspaceId && !known.some((w) => w.id === workspaceId)
      ? [...known, { id: workspaceId, name: workspaceId }]
      : known;
  return (
    <div className="shell">
      <header>
        <span className="brand">plugboard</span>
        <label className="workspace-switch">
          Workspace{' '}
          <select
            value={navWorkspace ?? ''}
            onChange={(event) => navigate(`/w/${encodeURIComponent(event.target.value)}/${section}`)}
          >
            {options.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name === w.id ? w.id : `${w.name} (${w.id})`}
              </option>
            ))}
          </select>
        </label>
        <nav aria-label="Sections">
          {navWorkspace
            ? SECTIONS.filter(([id]) => {
                const allowed = SECTION_ROLES[id];
                return !allowed || (role !== undefined && allowed.includes(role));
              }).map(([id, label]) => (
                <Link
                  key={id}
                  to={`/w/${encodeURIComponent(navWorkspace)}/${id}`}
                  aria-current={workspaceId && section === id ? 'page' : undefined}
                >
                  {label}
                </Link>
              ))
            : null}
          <Link to="/connected-clients" aria-current={topLevel ? 'page' : undefined}>
            Your connected clients
          </Link>
        </nav>
        <span className="who">
          {me.name} ({navWorkspace ? (me.roles[navWorkspace] ?? 'no role') : '—'})
        </span>
        <ThemeToggle />
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main>
        {problem ? (
          <div className="banner error" role="alert">
            {problem.detail}
          </div>
        ) : null}
        {workspaces && workspaces.length === 0 ? (
          <EmptyState title="This key belongs to no workspace.">
            Ask an admin to add its principal to a workspace (
            <code>POST /api/v1/workspaces/&#123;id&#125;/members</code>), or sign in with another key.
          </EmptyState>
        ) : null}
        {unknownPath ? <NotFound /> : null}
        {topLevel ? <ConnectedClients /> : null}
        {workspaceId ? (
          <Screen
            key={workspaceId}
            workspaceId={workspaceId}
            role={me.roles[workspaceId] as Role | undefined}
            segments={segments.slice(2)}
          />
        ) : null}
      </main>
    </div>
  );
}

function Screen({ workspaceId, role, segments }: { workspaceId: string; role: Role | undefined; segments: string[] }) {
  const [section, id] = segments;
  switch (section ?? 'connectors') {
    case 'connectors':
      if (id === 'new') return <ConnectorEditor workspaceId={workspaceId} />;
      return id ? (
        <ConnectorEditor key={id} workspaceId={workspaceId} connectorId={id} />
      ) : (
        <ConnectorList workspaceId={workspaceId} />
      );
    case 'connections':
      if (id === 'new') return <ConnectionEditor workspaceId={workspaceId} />;
      return id ? (
        <ConnectionEditor key={id} workspaceId={workspaceId} connectionId={id} />
      ) : (
        <ConnectionList workspaceId={workspaceId} />
      );
    case 'toolsets':
      if (id === 'new') return <ToolsetImport workspaceId={workspaceId} />;
      return id ? (
        <ToolsetDetail key={id} workspaceId={workspaceId} name={id} />
      ) : (
        <ToolsetList workspaceId={workspaceId} />
      );
    case 'access-clients':
      return id ? <NotFound workspaceId={workspaceId} /> : <AccessClients workspaceId={workspaceId} />;
    case 'members':
      return id ? <NotFound workspaceId={workspaceId} /> : <Members workspaceId={workspaceId} role={role} />;
    case 'oauth-grants':
      return id ? <NotFound workspaceId={workspaceId} /> : <WorkspaceGrants workspaceId={workspaceId} />;
    case 'audit':
      return id ? <NotFound workspaceId={workspaceId} /> : <AuditTimeline workspaceId={workspaceId} />;
    default:
      return <NotFound workspaceId={workspaceId} />;
  }
}
