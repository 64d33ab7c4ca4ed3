import { useEffect, useState, type ChangeEvent, type FormEvent } from 'react';
import { api, wsPath, type Page, type Problem } from './api';
import {
  ActionButton,
  CopyButton,
  Field,
  ProblemBanner,
  TextField,
  errorAt,
  formatTime,
  problemOf,
  useAction,
} from './forms';
import { Pager, usePaged } from './paging';
import { Link, navigate } from './router';
import type { Toolset } from './types';

const SETTLED = ['Installed', 'Failed'];

export function PhaseBadge({ toolset }: { toolset: Toolset }) {
  const reconciling = toolset.status.observedGeneration !== toolset.generation;
  return (
    <span className={`badge phase-${toolset.status.phase.toLowerCase()}`} data-testid="phase">
      {toolset.status.phase}
      {reconciling && SETTLED.includes(toolset.status.phase) ? ' (updating…)' : ''}
    </span>
  );
}

export function ToolsetList({ workspaceId }: { workspaceId: string }) {
  const paged = usePaged(
    async (cursor) => (await api.get<Page<Toolset>>(wsPath(workspaceId, 'toolsets'), { limit: 20, cursor })).body,
    workspaceId,
  );
  const base = `/w/${encodeURIComponent(workspaceId)}/toolsets`;
  return (
    <section>
      <div className="title-row">
        <h1>Toolsets</h1>
        <Link className="button primary" to={`${base}/new`}>
          Import OpenAPI
        </Link>
      </div>
      <ProblemBanner problem={paged.problem} />
      <table aria-busy={paged.loading}>
        <thead>
          <tr>
            <th>Name</th>
            <th>Phase</th>
            <th>Tools</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {paged.items.map((t) => (
            <tr key={t.name}>
              <td>
                <Link to={`${base}/${encodeURIComponent(t.name)}`}>{t.name}</Link>
                {t.description ? <div className="muted">{t.description}</div> : null}
              </td>
              <td>
                <PhaseBadge toolset={t} />
              </td>
              <td>{t.status.outputs.tools.length}</td>
              <td>{formatTime(t.createdTime)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!paged.loading && paged.items.length === 0 ? (
        <p className="muted">No toolsets yet: import an OpenAPI document to make one.</p>
      ) : null}
      <Pager {...paged} />
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

/** A toolset's phase (polled until the reconciler settles), its failure message, tools and MCP URL. */
export function ToolsetDetail({ workspaceId, name }: { workspaceId: string; name: string }) {
  const [toolset, setToolset] = useState<Toolset | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const path = wsPath(workspaceId, 'toolsets', name);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = () => {
      api.get<Toolset>(path).then(
        (reply) => {
          if (!live) return;
          setToolset(reply.body);
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
  if (problem) return <ProblemBanner problem={problem} />;
  if (!toolset) return <p className="loading">Loading toolset…</p>;
  const { status } = toolset;
  return (
    <section>
      <p>
        <Link to={`/w/${encodeURIComponent(workspaceId)}/toolsets`}>← Toolsets</Link>
      </p>
      <h1>Toolset {toolset.name}</h1>
      {toolset.description ? <p>{toolset.description}</p> : null}
      <p>
        Phase: <PhaseBadge toolset={toolset} /> <span className="muted">generation {toolset.generation}</span>
      </p>
      {status.phase === 'Failed' && status.message ? (
        <div className="banner error" role="alert" data-testid="reconcile-message">
          <strong>The last import failed.</strong> {status.message}
          {status.outputs.tools.length > 0 ? <div>The tools of the last good document are still served.</div> : null}
        </div>
      ) : null}
      <section className="panel" aria-label="MCP server">
        <h2>MCP server</h2>
        <p>
          <code data-testid="mcp-url">{status.outputs.mcpServerConfig.url}</code>{' '}
          <CopyButton text={status.outputs.mcpServerConfig.url} label="Copy MCP URL" />
        </p>
        <p className="hint">
          Transport {status.outputs.mcpServerConfig.transportType}; send an access client's secret as{' '}
          <code>Authorization: Bearer …</code>.
        </p>
      </section>
      <h2>Tools ({status.outputs.tools.length})</h2>
      <ul className="tools">
        {status.outputs.tools.map((tool) => (
          <li key={tool.name}>
            <details>
              <summary>
                <code>{tool.name}</code> — {tool.description || <span className="muted">no description</span>}
              </summary>
              <pre aria-label={`Input schema of ${tool.name}`}>{JSON.stringify(tool.inputSchema, null, 2)}</pre>
            </details>
          </li>
        ))}
      </ul>
    </section>
  );
}
