import { useEffect, useState, type ChangeEvent, type FormEvent } from 'react';
import { api, wsPath, type Page, type Problem } from './api';
import { ActionButton, Field, ProblemBanner, TextField, errorAt, formatTime, problemOf, useAction } from './forms';
import { Pager, usePaged } from './paging';
import { Link, navigate, useQueryParams } from './router';
import type { Toolset } from './types';
import { Catalogue, ClientSetup } from './toolset-parts';
import {
  BulkBar,
  ConfirmDialog,
  EmptyState,
  FilterSelect,
  NotFound,
  Outcome,
  SearchBox,
  SelectAllCell,
  SelectCell,
  deleteEach,
  useSelection,
} from './ui';

const SETTLED = ['Installed', 'Failed'];
const PHASES = ['Pending', 'Installing', 'Installed', 'Failed'] as const;

export function PhaseBadge({ toolset }: { toolset: Toolset }) {
  const reconciling = toolset.status.observedGeneration !== toolset.generation;
  return (
    <span className={`badge phase-${toolset.status.phase.toLowerCase()}`} data-testid="phase">
      {toolset.status.phase}
      {reconciling && SETTLED.includes(toolset.status.phase) ? ' (updating…)' : ''}
    </span>
  );
}

/** What goes with a toolset when it is deleted. */
const TOOLSET_CONSEQUENCE =
  'Agents calling its MCP URL will get "not found"; access clients that name it keep the name, and get it back if a toolset of that name is imported again.';

export function ToolsetList({ workspaceId }: { workspaceId: string }) {
  const [params, setParams] = useQueryParams();
  const query = params.get('q') ?? '';
  const phase = params.get('phase') ?? '';
  const paged = usePaged(
    async (cursor) =>
      (await api.get<Page<Toolset>>(wsPath(workspaceId, 'toolsets'), { limit: 20, cursor, q: query, phase })).body,
    `${workspaceId}\u0000${query}\u0000${phase}`,
  );
  const selection = useSelection(paged.items.map((t) => t.name));
  const [confirm, setConfirm] = useState<string[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ deleted: number; failures: string[]; noun: string } | null>(null);
  const base = `/w/${encodeURIComponent(workspaceId)}/toolsets`;
  return (
    <section>
      <div className="title-row">
        <h1>Toolsets</h1>
        <Link className="button primary" to={`${base}/new`}>
          Import OpenAPI
        </Link>
      </div>
      <div className="toolbar">
        <SearchBox label="Search by name" value={query} onSearch={(q) => setParams({ q })} />
        <FilterSelect
          label="Phase"
          value={phase}
          options={[['', 'Any phase'] as const, ...PHASES.map((p) => [p, p] as const)]}
          onChange={(value) => setParams({ phase: value })}
        />
      </div>
      <ProblemBanner problem={paged.problem} />
      <Outcome outcome={outcome} />
      <BulkBar count={selection.selected.length} noun="toolsets" onDelete={() => setConfirm(selection.selected)} />
      {paged.items.length > 0 ? (
        <table aria-busy={paged.loading} className="list">
          <thead>
            <tr>
              <SelectAllCell selection={selection} noun="toolsets" />
              <th>Name</th>
              <th>Phase</th>
              <th>Tools</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {paged.items.map((t) => (
              <tr key={t.name}>
                <SelectCell selection={selection} id={t.name} label={t.name} />
                <td data-label="Name">
                  <Link to={`${base}/${encodeURIComponent(t.name)}`}>{t.name}</Link>
                  {t.description ? <div className="muted">{t.description}</div> : null}
                </td>
                <td data-label="Phase">
                  <PhaseBadge toolset={t} />
                </td>
                <td data-label="Tools">{t.status.outputs.tools.length}</td>
                <td data-label="Created">{formatTime(t.createdTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {!paged.loading && paged.items.length === 0 ? (
        query || phase ? (
          <EmptyState title="No toolset matches these filters.">
            <button type="button" onClick={() => setParams({ q: null, phase: null })}>
              Clear the filters
            </button>
          </EmptyState>
        ) : (
          <EmptyState title="No toolsets yet.">
            A toolset turns an OpenAPI document into tools that agents call through the MCP gateway.{' '}
            <Link to={`${base}/new`}>Import an OpenAPI document</Link>.
          </EmptyState>
        )
      ) : null}
      <Pager {...paged} />
      {confirm ? (
        <ConfirmDialog
          title={`Delete ${confirm.length} toolset${confirm.length === 1 ? '' : 's'}?`}
          confirmLabel="Delete toolsets"
          busy={busy}
          onCancel={() => setConfirm(null)}
          onConfirm={() => {
            setBusy(true);
            void deleteEach(
              confirm.map((name) => ({
                id: name,
                label: name,
                remove: () => api.del(wsPath(workspaceId, 'toolsets', name)),
              })),
            ).then((result) => {
              setBusy(false);
              setConfirm(null);
              setOutcome({ ...result, noun: result.deleted === 1 ? 'toolset' : 'toolsets' });
              paged.reload();
            });
          }}
        >
          <ul>
            {confirm.map((name) => (
              <li key={name}>
                <strong>{name}</strong>
              </li>
            ))}
          </ul>
          <p>{TOOLSET_CONSEQUENCE} This cannot be undone.</p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}

/** Import an OpenAPI (or Swagger 2.0) document, pasted or read from a file, as a new toolset. */
export function ToolsetImport({ workspaceId }: { workspaceId: string }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [baseUrl, setBaseUrl] = useState('');
  const [document, setDocument] = useState('');
  const [fileNote, setFileNote] = useState<string | null>(null);
  const create = useAction(async () => {
    const body = {
      name: name.trim(),
      description: description.trim() || null,
      spec: { schema: { type: 'OpenAPI', detail: document }, ...(baseUrl.trim() ? { baseUrl: baseUrl.trim() } : {}) },
    };
    const reply = await api.post<Toolset>(wsPath(workspaceId, 'toolsets'), body);
    navigate(`/w/${encodeURIComponent(workspaceId)}/toolsets/${encodeURIComponent(reply.body.name)}`, {
      replace: true,
    });
  });
  const onFile = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (!file) return;
    file.text().then(
      (text) => {
        setDocument(text);
        setFileNote(`Read ${file.name} (${text.length} characters).`);
        if (name === '')
          setName(
            file.name
              .replace(/\.(ya?ml|json)$/i, '')
              .toLowerCase()
              .replace(/[^a-z0-9_-]+/g, '-')
              .replace(/^[^a-z0-9]+/, '')
              .slice(0, 64),
          );
      },
      (error: Error) => create.setProblem(problemOf(error)),
    );
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void create.run();
  };
  const problem = create.problem;
  return (
    <section>
      <p>
        <Link to={`/w/${encodeURIComponent(workspaceId)}/toolsets`}>← Toolsets</Link>
      </p>
      <h1>Import an OpenAPI document</h1>
      <ProblemBanner problem={problem} shownPaths={['/name', '/description', '/spec/schema', '/spec/baseUrl']} />
      <form onSubmit={submit} aria-label="Import toolset">
        <TextField
          label="Toolset name"
          value={name}
          onChange={setName}
          error={errorAt(problem, '/name')}
          required
          hint="Lower-case letters, digits, - and _; it is part of the MCP URL."
        />
        <TextField
          label="Description"
          value={description}
          onChange={setDescription}
          error={errorAt(problem, '/description')}
        />
        <Field
          label="OpenAPI file"
          hint={fileNote ?? 'YAML or JSON: OpenAPI 3.0/3.1 or Swagger 2.0. Or paste it below.'}
        >
          {(id, describedBy) => (
            <input
              id={id}
              type="file"
              accept=".yaml,.yml,.json,application/json,application/yaml,text/yaml"
              aria-describedby={describedBy}
              onChange={onFile}
            />
          )}
        </Field>
        <Field label="OpenAPI document" error={errorAt(problem, '/spec/schema')}>
          {(id, describedBy) => (
            <textarea
              id={id}
              rows={12}
              className="code"
              value={document}
              aria-describedby={describedBy}
              onChange={(e) => setDocument(e.target.value)}
              required
            />
          )}
        </Field>
        <TextField
          label="Upstream base URL (optional)"
          value={baseUrl}
          onChange={setBaseUrl}
          error={errorAt(problem, '/spec/baseUrl')}
          hint="Where tool calls go, in place of the document's server URL."
        />
        <ActionButton type="submit" className="primary" busy={create.busy} busyLabel="Importing…">
          Import toolset
        </ActionButton>
      </form>
    </section>
  );
}

/** A toolset's phase (polled until the reconciler settles), its failure message, catalogue, tools and MCP URL. */
export function ToolsetDetail({ workspaceId, name }: { workspaceId: string; name: string }) {
  const [loaded, setLoaded] = useState<{ toolset: Toolset; etag: string | null } | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [confirm, setConfirm] = useState(false);
  const path = wsPath(workspaceId, 'toolsets', name);
  const remove = useAction(async () => {
    await api.del(path, loaded?.etag);
    navigate(`/w/${encodeURIComponent(workspaceId)}/toolsets`, { replace: true });
  });
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = () => {
      api.get<Toolset>(path).then(
        (reply) => {
          if (!live) return;
          setLoaded({ toolset: reply.body, etag: reply.etag });
          const settled =
            SETTLED.includes(reply.body.status.phase) && reply.body.status.observedGeneration === reply.body.generation;
          if (!settled) timer = setTimeout(poll, 500);
        },
        (error) => live && setProblem(problemOf(error)),
      );
    };
    poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [path]);
  if (problem?.status === 404) return <NotFound workspaceId={workspaceId} what={`There is no toolset "${name}".`} />;
  if (problem) return <ProblemBanner problem={problem} />;
  if (!loaded) return <p className="loading">Loading toolset…</p>;
  const { toolset } = loaded;
  const { status } = toolset;
  const failed = status.phase === 'Failed';
  const served = status.outputs.tools.length > 0 && !failed;
  return (
    <section>
      <p>
        <Link to={`/w/${encodeURIComponent(workspaceId)}/toolsets`}>← Toolsets</Link>
      </p>
      <div className="title-row">
        <h1>Toolset {toolset.name}</h1>
        <button type="button" className="danger" onClick={() => setConfirm(true)}>
          Delete toolset
        </button>
      </div>
      {toolset.description ? <p>{toolset.description}</p> : null}
      <dl className="kv">
        <dt>Phase</dt>
        <dd>
          <PhaseBadge toolset={toolset} />
        </dd>
        <dt>Generation</dt>
        <dd>{toolset.generation}</dd>
        <dt>Source</dt>
        <dd>{toolset.spec.schema.type}</dd>
        <dt>History</dt>
        <dd>
          <Link
            to={`/w/${encodeURIComponent(workspaceId)}/audit?resourceType=toolset&resourceId=${encodeURIComponent(toolset.name)}`}
          >
            Audit events of this toolset
          </Link>
        </dd>
      </dl>
      {failed && status.message ? (
        <div className="banner error" role="alert" data-testid="reconcile-message">
          <strong>The last import failed.</strong> {status.message}
          <div>
            A failed toolset offers no MCP URL: import a corrected document (or delete this toolset) to serve tools.
          </div>
          {status.outputs.tools.length > 0 ? (
            <div>
              Agents already set up keep getting the {status.outputs.tools.length} tools of the last good document until
              then.
            </div>
          ) : null}
        </div>
      ) : null}
      <ProblemBanner problem={remove.problem} />
      {served ? (
        <ClientSetup toolset={toolset} />
      ) : !failed ? (
        <p className="hint">The MCP URL appears here once the import has finished and produced tools.</p>
      ) : null}
      <Catalogue workspaceId={workspaceId} toolset={toolset} canTry={served} />
      {confirm ? (
        <ConfirmDialog
          title={`Delete toolset ${toolset.name}?`}
          confirmLabel="Delete toolset"
          busy={remove.busy}
          onCancel={() => setConfirm(false)}
          onConfirm={() => void remove.run().finally(() => setConfirm(false))}
        >
          <p>
            Its {status.outputs.tools.length} tools go with it. {TOOLSET_CONSEQUENCE}
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
