import { useEffect, useState, type FormEvent } from 'react';
import { api, etagOf, wsPath, type Page, type Problem } from './api';
import { ActionButton, CopyButton, ProblemBanner, TextField, errorAt, formatTime, problemOf, useAction } from './forms';
import { Pager, usePaged } from './paging';
import { useQueryParams } from './router';
import {
  BulkBar,
  ConfirmDialog,
  EmptyState,
  FilterSelect,
  Outcome,
  SearchBox,
  SelectAllCell,
  SelectCell,
  deleteEach,
  useSelection,
  type Selection,
} from './ui';
import type { AccessClient, Toolset } from './types';

const ALL = '*';

/** A freshly issued token: shown here once, never again. */
function SecretOnce({ clientId, secret, onDone }: { clientId: string; secret: string; onDone: () => void }) {
  return (
    <div className="banner warning secret-once" role="alert" aria-label="New secret">
      <strong>Copy the secret of {clientId} now: it is shown only this once.</strong>
      <div>plugboard keeps only a digest of it. If it is lost, rotate the secret to get a new one.</div>
      <p>
        <code data-testid="issued-secret">{secret}</code> <CopyButton text={secret} label="Copy secret" />
      </p>
      <button type="button" onClick={onDone}>
        I have stored it: hide the secret
      </button>
    </div>
  );
}

function ToolsetPicker(props: {
  legend: string;
  toolsets: Toolset[];
  value: string[];
  onChange: (value: string[]) => void;
  error?: string;
}) {
  const all = props.value.includes(ALL);
  const toggle = (name: string, on: boolean) =>
    props.onChange(on ? [...props.value.filter((v) => v !== name), name] : props.value.filter((v) => v !== name));
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      <div className="field checkbox">
        <input
          id={`${props.legend}-all`}
          type="checkbox"
          checked={all}
          onChange={(e) => props.onChange(e.target.checked ? [ALL] : [])}
        />
        <label htmlFor={`${props.legend}-all`}>All toolsets of the workspace</label>
      </div>
      {props.toolsets.map((t) => (
        <div className="field checkbox" key={t.name}>
          <input
            id={`${props.legend}-${t.name}`}
            type="checkbox"
            disabled={all}
            checked={all || props.value.includes(t.name)}
            onChange={(e) => toggle(t.name, e.target.checked)}
          />
          <label htmlFor={`${props.legend}-${t.name}`}>{t.name}</label>
        </div>
      ))}
      {props.toolsets.length === 0 ? <p className="muted">No toolsets in this workspace yet.</p> : null}
      {props.error ? (
        <div className="field-error" role="alert">
          {props.error}
        </div>
      ) : null}
    </fieldset>
  );
}

function CreateClient({
  workspaceId,
  toolsets,
  onCreated,
}: {
  workspaceId: string;
  toolsets: Toolset[];
  onCreated: (client: AccessClient, secret: string) => void;
}) {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [allowed, setAllowed] = useState<string[]>([]);
  const [rateLimit, setRateLimit] = useState('');
  const create = useAction(async () => {
    const body = {
      ...(id.trim() ? { id: id.trim() } : {}),
      name: name.trim(),
      description: description.trim() || null,
      toolsets: allowed,
      rateLimit: rateLimit.trim() === '' ? null : Number(rateLimit),
    };
    const reply = await api.post<AccessClient & { secret: string }>(wsPath(workspaceId, 'access-clients'), body);
    const { secret, ...client } = reply.body;
    setId('');
    setName('');
    setDescription('');
    setAllowed([]);
    setRateLimit('');
    onCreated(client, secret);
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void create.run();
  };
  const problem = create.problem;
  return (
    <section className="panel">
      <h2>New access client</h2>
      <ProblemBanner problem={problem} shownPaths={['/id', '/name', '/description', '/toolsets', '/rateLimit']} />
      <form onSubmit={submit} aria-label="New access client">
        <TextField
          label="Client id"
          value={id}
          onChange={setId}
          error={errorAt(problem, '/id')}
          hint="Letters, digits and -; left empty, the server picks one."
        />
        <TextField label="Client name" value={name} onChange={setName} error={errorAt(problem, '/name')} required />
        <TextField
          label="Client description"
          value={description}
          onChange={setDescription}
          error={errorAt(problem, '/description')}
        />
        <ToolsetPicker
          legend="Allowed toolsets"
          toolsets={toolsets}
          value={allowed}
          onChange={setAllowed}
          error={errorAt(problem, '/toolsets')}
        />
        <TextField
          label="Rate limit (calls per second)"
          type="number"
          value={rateLimit}
          onChange={setRateLimit}
          error={errorAt(problem, '/rateLimit')}
          hint="Empty for the server default."
        />
        <ActionButton type="submit" className="primary" busy={create.busy} busyLabel="Creating…">
          Create access client
        </ActionButton>
      </form>
    </section>
  );
}

/** One client's row: rotate, disable or enable, and its allowed toolsets, each guarded by its ETag. */
function ClientRow({
  workspaceId,
  client,
  toolsets,
  onIssued,
  onChanged,
  selection,
  onDelete,
}: {
  workspaceId: string;
  client: AccessClient;
  toolsets: Toolset[];
  onIssued: (clientId: string, secret: string) => void;
  onChanged: () => void;
  selection: Selection;
  onDelete: () => void;
}) {
  const path = wsPath(workspaceId, 'access-clients', client.id);
  const [editing, setEditing] = useState(false);
  const [allowed, setAllowed] = useState<string[]>(client.toolsets);
  useEffect(() => setAllowed(client.toolsets), [client.toolsets]);
  const write = useAction(async (change: Partial<AccessClient>) => {
    const current = await api.get<AccessClient>(path);
    // The list may be older than the client: a change made since it was read is shown, never overwritten.
    if (current.body.revision !== client.revision) {
      onChanged();
      throw new Error(
        `${client.id} was changed since the list was loaded; the list now shows the latest version. Try again.`,
      );
    }
    const next = { ...client, ...change };
    await api.put(
      path,
      {
        name: next.name,
        description: next.description,
        toolsets: next.toolsets,
        rateLimit: next.rateLimit,
        status: next.status,
      },
      current.etag,
    );
    setEditing(false);
    onChanged();
  });
  const rotate = useAction(async () => {
    const reply = await api.post<AccessClient & { secret: string }>(`${path}/secrets`, {});
    onIssued(client.id, reply.body.secret);
    onChanged();
  });
  const busy = write.busy || rotate.busy;
  const live = client.secrets.filter((s) => s.expiresAt === null || new Date(s.expiresAt) > new Date());
  return (
    <tr>
      <SelectCell selection={selection} id={client.id} label={client.id} />
      <td data-label="Client">
        <code>{client.id}</code>
        <div>{client.name}</div>
      </td>
      <td data-label="Status">
        <span className={`badge status-${client.status}`}>{client.status}</span>
      </td>
      <td data-label="Allowed toolsets">
        {client.toolsets.length === 0 ? (
          <span className="muted">none</span>
        ) : (
          client.toolsets.map((t) => (t === ALL ? 'all' : t)).join(', ')
        )}
      </td>
      <td data-label="Secrets">
        {live.map((s) => (
          <div key={s.id}>
            <code>{s.prefix}…</code>{' '}
            <span className="muted">{s.expiresAt ? `until ${formatTime(s.expiresAt)}` : formatTime(s.createdAt)}</span>
          </div>
        ))}
      </td>
      <td className="actions" data-label="Actions">
        <ActionButton busy={rotate.busy} busyLabel="Rotating…" disabled={busy} onClick={() => void rotate.run()}>
          Rotate secret of {client.id}
        </ActionButton>
        <ActionButton
          busy={write.busy}
          disabled={busy}
          onClick={() => void write.run({ status: client.status === 'active' ? 'disabled' : 'active' })}
        >
          {client.status === 'active' ? `Disable ${client.id}` : `Enable ${client.id}`}
        </ActionButton>
        <button type="button" aria-expanded={editing} onClick={() => setEditing(!editing)}>
          Allowed toolsets of {client.id}
        </button>
        <button type="button" className="danger" disabled={busy} onClick={onDelete}>
          Delete {client.id}
        </button>
        {editing ? (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void write.run({ toolsets: allowed });
            }}
            aria-label={`Allowed toolsets of ${client.id}`}
          >
            <ToolsetPicker
              legend={`Toolsets ${client.id} may call`}
              toolsets={toolsets}
              value={allowed}
              onChange={setAllowed}
              error={errorAt(write.problem, '/toolsets')}
            />
            <ActionButton type="submit" busy={write.busy} disabled={busy}>
              Save toolsets
            </ActionButton>
          </form>
        ) : null}
        <ProblemBanner problem={write.problem ?? rotate.problem} shownPaths={editing ? ['/toolsets'] : []} />
      </td>
    </tr>
  );
}

const CLIENT_CONSEQUENCE =
  'Its secrets stop working at once: agents using them get 401 from the gateway. The audit keeps its history.';

export function AccessClients({ workspaceId }: { workspaceId: string }) {
  const [toolsets, setToolsets] = useState<Toolset[]>([]);
  const [issued, setIssued] = useState<{ clientId: string; secret: string } | null>(null);
  const [toolsetProblem, setToolsetProblem] = useState<Problem | null>(null);
  const [params, setParams] = useQueryParams();
  const query = params.get('q') ?? '';
  const status = params.get('status') ?? '';
  const paged = usePaged(
    async (cursor) =>
      (
        await api.get<Page<AccessClient>>(wsPath(workspaceId, 'access-clients'), {
          limit: 20,
          cursor,
          q: query,
          status,
        })
      ).body,
    `${workspaceId}\u0000${query}\u0000${status}`,
  );
  const selection = useSelection(paged.items.map((c) => c.id));
  const [confirm, setConfirm] = useState<string[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ deleted: number; failures: string[]; noun: string } | null>(null);
  useEffect(() => {
    api.get<Page<Toolset>>(wsPath(workspaceId, 'toolsets'), { limit: 100 }).then(
      (reply) => setToolsets(reply.body.items),
      (error) => setToolsetProblem(problemOf(error)),
    );
  }, [workspaceId]);
  return (
    <section>
      <h1>Access clients</h1>
      <p className="hint">
        Access clients call the MCP gateway with a bearer secret, limited to their allowed toolsets.
      </p>
      {issued ? <SecretOnce clientId={issued.clientId} secret={issued.secret} onDone={() => setIssued(null)} /> : null}
      <div className="toolbar">
        <SearchBox label="Search by name" value={query} onSearch={(q) => setParams({ q })} />
        <FilterSelect
          label="Status"
          value={status}
          options={[
            ['', 'Any status'],
            ['active', 'Active'],
            ['disabled', 'Disabled'],
          ]}
          onChange={(value) => setParams({ status: value })}
        />
      </div>
      <ProblemBanner problem={paged.problem ?? toolsetProblem} />
      <Outcome outcome={outcome} />
      <BulkBar
        count={selection.selected.length}
        noun="access clients"
        onDelete={() => setConfirm(selection.selected)}
      />
      {paged.items.length > 0 ? (
        <table aria-busy={paged.loading} className="list clients">
          <thead>
            <tr>
              <SelectAllCell selection={selection} noun="access clients" />
              <th>Client</th>
              <th>Status</th>
              <th>Allowed toolsets</th>
              <th>Secrets</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {paged.items.map((client) => (
              <ClientRow
                key={client.id}
                workspaceId={workspaceId}
                client={client}
                toolsets={toolsets}
                onIssued={(clientId, secret) => setIssued({ clientId, secret })}
                onChanged={paged.reload}
                selection={selection}
                onDelete={() => setConfirm([client.id])}
              />
            ))}
          </tbody>
        </table>
      ) : null}
      {!paged.loading && paged.items.length === 0 ? (
        query || status ? (
          <EmptyState title="No access client matches these filters.">
            <button type="button" onClick={() => setParams({ q: null, status: null })}>
              Clear the filters
            </button>
          </EmptyState>
        ) : (
          <EmptyState title="No access clients yet.">
            An agent needs one to call the MCP gateway: create it with the form below, then give the agent its secret.
          </EmptyState>
        )
      ) : null}
      <Pager {...paged} />
      <CreateClient
        workspaceId={workspaceId}
        toolsets={toolsets}
        onCreated={(client, secret) => {
          setIssued({ clientId: client.id, secret });
          paged.reload();
        }}
      />
      {confirm ? (
        <ConfirmDialog
          title={`Delete ${confirm.length === 1 ? `access client ${confirm[0]}` : `${confirm.length} access clients`}?`}
          confirmLabel={confirm.length === 1 ? 'Delete access client' : 'Delete access clients'}
          busy={busy}
          onCancel={() => setConfirm(null)}
          onConfirm={() => {
            setBusy(true);
            void deleteEach(
              confirm.map((id) => {
                const seen = paged.items.find((client) => client.id === id);
                return {
                  id,
                  label: id,
                  remove: () => api.del(wsPath(workspaceId, 'access-clients', id), seen ? etagOf(seen) : undefined),
                };
              }),
            ).then((result) => {
              setBusy(false);
              setConfirm(null);
              setOutcome({ ...result, noun: result.deleted === 1 ? 'access client' : 'access clients' });
              paged.reload();
            });
          }}
        >
          <ul>
            {confirm.map((id) => (
              <li key={id}>
                <code>{id}</code>
              </li>
            ))}
          </ul>
          <p>{CLIENT_CONSEQUENCE} This cannot be undone.</p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
