import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, wsPath, type Page, type Problem } from './api';
import {
  ActionButton,
  Field,
  ProblemBanner,
  SelectField,
  TextField,
  VariablesEditor,
  errorAt,
  problemOf,
  useAction,
} from './forms';
import {
  PROTOCOLS,
  createBody,
  discardedEdits,
  emptyForm,
  formOf,
  putBody,
  sameVariables,
  type ConnectorForm,
  type DiscardedEdit,
} from './connector-form';
import { ConfigOrder, ConfigsSection, VersionsSection } from './connector-parts';
import { VersionBadges, connectorConsequence, deleteConnector } from './connectors';
import { Link, navigate } from './router';
import type { Connection, Connector } from './types';
import { ConfirmDialog, NotFound } from './ui';

const SHOWN_PATHS = [
  '/id',
  '/name',
  '/description',
  '/protocolType',
  '/documentationUrl',
  '/iconUrl',
  '/baseUrl',
  '/datasetId',
  '/tags',
  '/authSchemeConfigIds',
  '/connectionVariables',
];

interface Loaded {
  readonly connector: Connector;
  readonly etag: string | null;
}

/** Create a connector, or edit one with PUT + If-Match; a 412 becomes "changed since you opened it". */
export function ConnectorEditor({ workspaceId, connectorId }: { workspaceId: string; connectorId?: string }) {
  const isNew = connectorId === undefined;
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [loadProblem, setLoadProblem] = useState<Problem | null>(null);
  const [form, setForm] = useState<ConnectorForm>(emptyForm);
  const [stale, setStale] = useState(false);
  const [discarded, setDiscarded] = useState<DiscardedEdit[] | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [connectionCount, setConnectionCount] = useState<number | null>(null);
  const path = connectorId === undefined ? '' : wsPath(workspaceId, 'connectors', connectorId);

  const fetchLatest = useCallback(async (): Promise<Loaded> => {
    const reply = await api.get<Connector>(path);
    return { connector: reply.body, etag: reply.etag };
  }, [path]);

  const open = useCallback((next: Loaded) => {
    setLoaded(next);
    setForm(formOf(next.connector));
    setStale(false);
  }, []);

  useEffect(() => {
    if (isNew) return;
    fetchLatest().then(open, (error) => setLoadProblem(problemOf(error)));
    api.get<{ connections: number }>(`${path}/connection-count`).then(
      (reply) => setConnectionCount(reply.body.connections),
      () => setConnectionCount(null),
    );
  }, [isNew, path, fetchLatest, open]);

  const save = useAction(async () => {
    setSaved(null);
    setDiscarded(null);
    if (isNew) {
      const reply = await api.post<Connector>(wsPath(workspaceId, 'connectors'), createBody(form));
      navigate(`/w/${encodeURIComponent(workspaceId)}/connectors/${encodeURIComponent(reply.body.id)}`, {
        replace: true,
      });
      return;
    }
    if (!loaded) return;
    try {
      const reply = await api.put<Connector>(path, putBody(form, loaded.connector), loaded.etag);
      const updated = Number(reply.headers.get('plugboard-connections-updated') ?? '0');
      open({ connector: reply.body, etag: reply.etag });
      setSaved(
        updated > 0 ? `Saved. The variables of ${updated} connection${updated === 1 ? '' : 's'} changed.` : 'Saved.',
      );
    } catch (error) {
      if (problemOf(error).status === 412) setStale(true);
      throw error;
    }
  });

  const [confirmDelete, setConfirmDelete] = useState<{ count: number; names: string[] } | null>(null);
  const askDelete = useAction(async () => {
    const [count, some] = await Promise.all([
      api.get<{ connections: number }>(`${path}/connection-count`),
      api.get<Page<Connection>>(wsPath(workspaceId, 'connections'), { connectorId, limit: 10 }),
    ]);
    setConfirmDelete({ count: count.body.connections, names: some.body.items.map((c) => c.name) });
  });
  const remove = useAction(async () => {
    await deleteConnector(workspaceId, connectorId!, confirmDelete?.count ?? 0, loaded?.etag);
    navigate(`/w/${encodeURIComponent(workspaceId)}/connectors`, { replace: true });
  });

  const reload = useAction(async () => {
    const latest = await fetchLatest();
    if (loaded) setDiscarded(discardedEdits(formOf(loaded.connector), form, formOf(latest.connector)));
    save.setProblem(null);
    open(latest);
  });

  // Sub-resource writes (configs, versions) bump the connector's revision: they reload it afterwards.
  const refresh = useCallback(async () => open(await fetchLatest()), [fetchLatest, open]);

  if (loadProblem?.status === 404)
    return <NotFound workspaceId={workspaceId} what={`There is no connector "${connectorId}".`} />;
  if (loadProblem) return <ProblemBanner problem={loadProblem} />;
  if (!isNew && !loaded) return <p className="loading">Loading connector…</p>;

  const set =
    <K extends keyof ConnectorForm>(key: K) =>
    (value: ConnectorForm[K]) =>
      setForm((f) => ({ ...f, [key]: value }));
  const problem = save.problem;
  const variablesChange = loaded !== null && !sameVariables(form.variables, loaded.connector.connectionVariables);
  const isDirty = loaded !== null && JSON.stringify(form) !== JSON.stringify(formOf(loaded.connector));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void save.run();
  };

  return (
    <section>
      <p>
        <Link to={`/w/${encodeURIComponent(workspaceId)}/connectors`}>← Connectors</Link>
      </p>
      <div className="title-row">
        <h1>{isNew ? 'New connector' : `Connector ${loaded?.connector.name}`}</h1>
        {loaded ? (
          <ActionButton
            className="danger"
            busy={askDelete.busy}
            busyLabel="Checking…"
            onClick={() => void askDelete.run()}
          >
            Delete connector
          </ActionButton>
        ) : null}
      </div>
      <ProblemBanner problem={askDelete.problem ?? remove.problem} />
      {confirmDelete && loaded ? (
        <ConfirmDialog
          title={`Delete connector ${loaded.connector.name}?`}
          confirmLabel={
            confirmDelete.count > 0 ? `Delete connector and ${confirmDelete.count} connections` : 'Delete connector'
          }
          busy={remove.busy}
          onCancel={() => setConfirmDelete(null)}
          onConfirm={() => void remove.run().finally(() => setConfirmDelete(null))}
        >
          <p>{connectorConsequence(confirmDelete.count)}</p>
          {confirmDelete.names.length > 0 ? (
            <ul>
              {confirmDelete.names.map((n) => (
                <li key={n}>{n}</li>
              ))}
              {confirmDelete.count > confirmDelete.names.length ? (
                <li>and {confirmDelete.count - confirmDelete.names.length} more</li>
              ) : null}
            </ul>
          ) : null}
          <p>Its versions and auth-scheme configs go too. This cannot be undone; the audit keeps a record.</p>
        </ConfirmDialog>
      ) : null}
      {loaded ? (
        <p>
          Versions: <VersionBadges connector={loaded.connector} />{' '}
          <span className="muted">revision {loaded.connector.revision}</span>{' '}
          <Link
            to={`/w/${encodeURIComponent(workspaceId)}/audit?resourceType=connector&resourceId=${encodeURIComponent(loaded.connector.id)}`}
          >
            History
          </Link>
        </p>
      ) : null}
      {stale ? (
        <div className="banner warning" role="alert">
          <strong>This connector was changed since you opened it.</strong>
          <div>
            Your changes were not saved. Reload the latest version; the edits it drops will be listed so you can enter
            them again.
          </div>
          <ActionButton busy={reload.busy} busyLabel="Reloading…" onClick={() => void reload.run()}>
            Reload the latest version
          </ActionButton>
        </div>
      ) : (
        <ProblemBanner problem={problem} shownPaths={SHOWN_PATHS} />
      )}
      {reload.problem ? <ProblemBanner problem={reload.problem} /> : null}
      {discarded ? (
        <div className="banner info" role="status">
          <strong>Reloaded the latest version.</strong>
          {discarded.length === 0 ? (
            <div>None of your edits were lost: the latest version already holds them, or you had made none.</div>
          ) : (
            <>
              <div>These edits of yours were not applied; enter them again if you still want them:</div>
              <ul className="discarded">
                {discarded.map((d) => (
                  <li key={d.field}>
                    {d.field}: yours “{d.yours}”, now “{d.now}”
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      ) : null}
      {saved ? (
        <div className="banner ok" role="status">
          {saved}
        </div>
      ) : null}
      <form onSubmit={submit} aria-label={isNew ? 'New connector' : 'Edit connector'}>
        {isNew ? (
          <TextField
            label="Id"
            value={form.id}
            onChange={set('id')}
            error={errorAt(problem, '/id')}
            hint="Letters, digits, _ or -; left empty, the server picks one."
          />
        ) : null}
        <TextField label="Name" value={form.name} onChange={set('name')} error={errorAt(problem, '/name')} required />
        <TextField
          label="Description"
          value={form.description}
          onChange={set('description')}
          error={errorAt(problem, '/description')}
        />
        <SelectField
          label="Protocol"
          value={form.protocolType}
          options={PROTOCOLS.map((p) => [p, p] as const)}
          onChange={set('protocolType')}
          error={errorAt(problem, '/protocolType')}
        />
        <TextField
          label="Base URL"
          value={form.baseUrl}
          onChange={set('baseUrl')}
          error={errorAt(problem, '/baseUrl')}
          placeholder="https://api.example.com"
        />
        <TextField
          label="Documentation URL"
          value={form.documentationUrl}
          onChange={set('documentationUrl')}
          error={errorAt(problem, '/documentationUrl')}
        />
        <TextField
          label="Icon URL"
          value={form.iconUrl}
          onChange={set('iconUrl')}
          error={errorAt(problem, '/iconUrl')}
        />
        {form.protocolType === 'bigquery' ? (
          <TextField
            label="BigQuery dataset"
            value={form.datasetId}
            onChange={set('datasetId')}
            error={errorAt(problem, '/datasetId')}
            placeholder="project.dataset"
          />
        ) : null}
        <SelectField
          label="Status"
          value={form.status}
          options={
            [
              ['active', 'Active'],
              ['disabled', 'Disabled'],
            ] as const
          }
          onChange={set('status')}
        />
        <Field label="Tags" error={errorAt(problem, '/tags')} hint="One per line: key=value1,value2">
          {(id, describedBy) => (
            <textarea
              id={id}
              rows={2}
              value={form.tags}
              aria-describedby={describedBy}
              onChange={(e) => set('tags')(e.target.value)}
            />
          )}
        </Field>
        <div className="field checkbox">
          <input
            id="connector-public"
            type="checkbox"
            checked={form.isPublic}
            onChange={(e) => set('isPublic')(e.target.checked)}
          />
          <label htmlFor="connector-public">Public (may be listed beyond this workspace)</label>
        </div>
        {loaded && loaded.connector.authSchemeConfigs.length > 0 ? (
          <ConfigOrder
            configs={loaded.connector.authSchemeConfigs}
            order={form.configOrder}
            onChange={set('configOrder')}
            error={errorAt(problem, '/authSchemeConfigIds')}
          />
        ) : null}
        <VariablesEditor
          legend="Connection variables"
          value={form.variables}
          onChange={set('variables')}
          problem={problem}
          pointer="/connectionVariables"
        />
        {variablesChange && connectionCount !== null ? (
          <div className="banner warning" role="status" data-testid="variables-impact">
            Saving will replace the variables of {connectionCount} connection{connectionCount === 1 ? '' : 's'} of this
            connector.
          </div>
        ) : null}
        <ActionButton type="submit" className="primary" busy={save.busy} busyLabel="Saving…" disabled={stale}>
          {isNew ? 'Create connector' : 'Save connector'}
        </ActionButton>
      </form>
      {loaded ? (
        <>
          <ConfigsSection
            workspaceId={workspaceId}
            loaded={loaded}
            locked={isDirty}
            onChanged={refresh}
            onStale={() => setStale(true)}
          />
          <VersionsSection
            workspaceId={workspaceId}
            loaded={loaded}
            locked={isDirty}
            onChanged={refresh}
            onStale={() => setStale(true)}
          />
        </>
      ) : null}
    </section>
  );
}
