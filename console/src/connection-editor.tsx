import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, wsPath, type Problem } from './api';
import {
  ActionButton,
  Field,
  ProblemBanner,
  SelectField,
  TextField,
  VariablesEditor,
  errorAt,
  formatTime,
  problemOf,
  useAction,
} from './forms';
import {
  MASK,
  TEMPLATES,
  changedFields,
  connectionBody,
  connectionFormOf,
  emptyConnectionForm,
  looksSecret,
  rowsOf,
  type ConnectionForm,
  type SettingRow,
} from './connection-form';
import { OAuthPanel } from './connection-oauth';
import { ENV_TYPES, HealthBadge, useConnectors } from './connections';
import { Link, navigate } from './router';
import type { Connection, Health, Variable } from './types';
import { ConfirmDialog, NotFound } from './ui';

const SHOWN_PATHS = ['/name', '/type', '/envType', '/connectorId', '/description', '/content', '/variables'];

function SettingsEditor(props: {
  rows: SettingRow[];
  onChange: (rows: SettingRow[]) => void;
  problem: Problem | null;
}) {
  const set = (index: number, patch: Partial<SettingRow>) =>
    props.onChange(props.rows.map((r, i) => (i === index ? { ...r, ...patch } : r)));
  return (
    <fieldset>
      <legend>Settings</legend>
      <p className="hint">
        Secret settings are write-only: a stored one shows as {MASK} and is kept unless you type a new value.
      </p>
      {props.rows.map((row, index) => {
        const secret = row.storedSecret || looksSecret(row.key);
        const error = errorAt(props.problem, `/content/${row.key.trim()}`);
        return (
          <div className="row" key={index}>
            {row.storedSecret ? (
              <div className="field">
                <span className="label">Setting</span>
                <code>{row.key}</code>
              </div>
            ) : (
              <TextField label={`Setting ${index + 1} name`} value={row.key} onChange={(key) => set(index, { key })} />
            )}
            <TextField
              label={row.key.trim() || `Setting ${index + 1} value`}
              type={secret ? 'password' : 'text'}
              value={row.value}
              placeholder={row.storedSecret ? MASK : undefined}
              autoComplete={secret ? 'new-password' : 'off'}
              hint={
                row.storedSecret
                  ? row.value === ''
                    ? 'Stored; leave empty to keep it.'
                    : 'Will replace the stored value.'
                  : undefined
              }
              error={error}
              onChange={(value) => set(index, { value })}
            />
            <button
              type="button"
              className="link"
              onClick={() => props.onChange(props.rows.filter((_, i) => i !== index))}
            >
              Remove {row.key || `setting ${index + 1}`}
            </button>
          </div>
        );
      })}
      <button
        type="button"
        onClick={() => props.onChange([...props.rows, { key: '', value: '', storedSecret: false, kind: 'string' }])}
      >
        Add setting
      </button>
    </fieldset>
  );
}

/**
 * The variables a connector defines, as one labelled field each (its default shown), plus any others the
 * connection has: a form, not free name/value rows.
 */
function ConnectorVariables(props: {
  connectorName: string;
  defined: readonly Variable[];
  value: Variable[];
  onChange: (value: Variable[]) => void;
  problem: Problem | null;
}) {
  const names = new Set(props.defined.map((v) => v.name));
  const valueOf = (name: string) => props.value.find((v) => v.name === name)?.value ?? '';
  const others = props.value.filter((v) => !names.has(v.name));
  const setDefined = (name: string, value: string) => {
    const exists = props.value.some((v) => v.name === name);
    props.onChange(
      exists ? props.value.map((v) => (v.name === name ? { name, value } : v)) : [...props.value, { name, value }],
    );
  };
  const indexOf = (name: string) => props.value.findIndex((v) => v.name === name);
  return (
    <fieldset>
      <legend>Variables</legend>
      <p className="hint">Defined by the connector {props.connectorName}; its defaults are shown under each field.</p>
      <div className="kv-form">
        {props.defined.map((v) => (
          <TextField
            key={v.name}
            label={v.name}
            value={valueOf(v.name)}
            onChange={(value) => setDefined(v.name, value)}
            hint={v.value === '' ? 'No default.' : `Default: ${v.value}`}
            error={errorAt(props.problem, `/variables/${indexOf(v.name)}`)}
          />
        ))}
      </div>
      {others.length > 0 ? (
        <VariablesEditor
          legend="Other variables"
          value={others}
          onChange={(next) => props.onChange([...props.value.filter((v) => names.has(v.name)), ...next])}
          problem={null}
          pointer="/variables"
        />
      ) : null}
    </fieldset>
  );
}

function TestPanel({
  path,
  health,
  dirty,
  onTested,
}: {
  path: string;
  health: Health;
  dirty: boolean;
  onTested: () => Promise<void>;
}) {
  const [result, setResult] = useState<{ health: Health; latencyMs: number } | null>(null);
  const test = useAction(async () => {
    setResult((await api.post<{ health: Health; latencyMs: number }>(`${path}/test`)).body);
    await onTested();
  });
  const shown = result?.health ?? health;
  return (
    <section className="panel" aria-label="Connection test">
      <h2>Health</h2>
      <p>
        <HealthBadge health={shown} /> {shown.message ?? ''}{' '}
        <span className="muted">checked {formatTime(shown.checkedAt)}</span>
      </p>
      {result ? (
        <div
          className={`banner ${result.health.state === 'ok' ? 'ok' : 'error'}`}
          role="status"
          data-testid="test-result"
        >
          Test result: <strong>{result.health.state}</strong> — {result.health.message ?? 'no message'} (
          {Math.round(result.latencyMs)} ms)
        </div>
      ) : null}
      <ProblemBanner problem={test.problem} />
      {dirty ? <p className="hint">The test uses the saved settings: save first to test your changes.</p> : null}
      <ActionButton busy={test.busy} busyLabel="Testing…" onClick={() => void test.run()}>
        Test connection
      </ActionButton>
    </section>
  );
}

/** Create or edit a connection; secrets stay masked and untouched unless retyped. */
export function ConnectionEditor({ workspaceId, connectionId }: { workspaceId: string; connectionId?: string }) {
  const isNew = connectionId === undefined;
  const path = isNew ? '' : wsPath(workspaceId, 'connections', connectionId);
  const connectors = useConnectors(workspaceId);
  const [loaded, setLoaded] = useState<{ connection: Connection; etag: string | null } | null>(null);
  const [loadProblem, setLoadProblem] = useState<Problem | null>(null);
  const [form, setForm] = useState<ConnectionForm>(emptyConnectionForm);
  const [stale, setStale] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  const open = useCallback((connection: Connection, etag: string | null) => {
    setLoaded({ connection, etag });
    setForm(connectionFormOf(connection));
    setStale(false);
  }, []);
  const fetchLatest = useCallback(async () => {
    const reply = await api.get<Connection>(path);
    open(reply.body, reply.etag);
  }, [path, open]);

  useEffect(() => {
    if (!isNew) fetchLatest().catch((error) => setLoadProblem(problemOf(error)));
  }, [isNew, fetchLatest]);

  const save = useAction(async () => {
    setNotice(null);
    if (isNew) {
      const reply = await api.post<Connection>(wsPath(workspaceId, 'connections'), connectionBody(form, null));
      navigate(`/w/${encodeURIComponent(workspaceId)}/connections/${reply.body.id}`, { replace: true });
      return;
    }
    if (!loaded) return;
    try {
      const reply = await api.put<Connection>(path, connectionBody(form, loaded.connection), loaded.etag);
      open(reply.body, reply.etag);
      setNotice('Saved.');
    } catch (error) {
      if (problemOf(error).status === 412) setStale(true);
      throw error;
    }
  });
  // A test records its result in the connection's health, which moves its revision on: take the new ETag when
  // nothing else changed, so that the open form can still be saved. Any other change is left for the 412.
  const adoptTestResult = useCallback(async () => {
    if (!loaded) return;
    const reply = await api.get<Connection>(path);
    const latest = reply.body;
    const onlyHealth =
      latest.revision === loaded.connection.revision + 1 &&
      JSON.stringify(connectionFormOf(latest)) === JSON.stringify(connectionFormOf(loaded.connection));
    if (onlyHealth) setLoaded({ connection: latest, etag: reply.etag });
  }, [loaded, path]);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const remove = useAction(async () => {
    await api.del(path, loaded?.etag);
    navigate(`/w/${encodeURIComponent(workspaceId)}/connections`, { replace: true });
  });
  const reload = useAction(async () => {
    const dropped = loaded ? changedFields(connectionFormOf(loaded.connection), form) : [];
    await fetchLatest();
    save.setProblem(null);
    setNotice(
      dropped.length > 0
        ? `Reloaded the latest version. Your edits to ${dropped.join(', ')} were not applied; enter them again if you still want them.`
        : 'Reloaded the latest version.',
    );
  });

  if (loadProblem?.status === 404)
    return <NotFound workspaceId={workspaceId} what={`There is no connection ${connectionId}.`} />;
  if (loadProblem) return <ProblemBanner problem={loadProblem} />;
  if (!isNew && !loaded) return <p className="loading">Loading connection…</p>;
  const connector = connectors.find((c) => c.id === (loaded ? loaded.connection.connectorId : form.connectorId));
  const set =
    <K extends keyof ConnectionForm>(key: K) =>
    (value: ConnectionForm[K]) =>
      setForm((f) => ({ ...f, [key]: value }));
  const setType = (type: string) =>
    setForm((f) => {
      // A new connection's settings follow its type until the user edits them.
      const untouched =
        isNew &&
        f.settings.every(
          (r) =>
            r.value === '' || Object.values(TEMPLATES).some((t) => t.some(([k, v]) => k === r.key && v === r.value)),
        );
      return { ...f, type, settings: untouched && TEMPLATES[type] ? rowsOf(TEMPLATES[type]) : f.settings };
    });
  const problem = save.problem;
  const dirty = loaded !== null && JSON.stringify(form) !== JSON.stringify(connectionFormOf(loaded.connection));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void save.run();
  };
  return (
    <section>
      <p>
        <Link to={`/w/${encodeURIComponent(workspaceId)}/connections`}>← Connections</Link>
      </p>
      <div className="title-row">
        <h1>{isNew ? 'New connection' : `Connection ${loaded?.connection.name}`}</h1>
        {loaded ? (
          <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
            Delete connection
          </button>
        ) : null}
      </div>
      <ProblemBanner problem={remove.problem} />
      {confirmDelete && loaded ? (
        <ConfirmDialog
          title={`Delete connection ${loaded.connection.name}?`}
          confirmLabel="Delete connection"
          busy={remove.busy}
          onCancel={() => setConfirmDelete(false)}
          onConfirm={() => void remove.run().finally(() => setConfirmDelete(false))}
        >
          <p>
            Its settings, variables and stored secrets go with it
            {loaded.connection.credentials.length > 0
              ? `, and its ${loaded.connection.credentials.length} credential${loaded.connection.credentials.length === 1 ? '' : 's'}`
              : ''}
            . This cannot be undone; the audit keeps a record.
          </p>
        </ConfirmDialog>
      ) : null}
      {loaded ? (
        <p>
          <Link
            to={`/w/${encodeURIComponent(workspaceId)}/audit?resourceType=connection&resourceId=${loaded.connection.id}`}
          >
            History
          </Link>
        </p>
      ) : null}
      {stale ? (
        <div className="banner warning" role="alert">
          <strong>This connection was changed since you opened it.</strong>
          <div>Your changes were not saved. Reload the latest version; the fields it drops will be named.</div>
          <ActionButton busy={reload.busy} busyLabel="Reloading…" onClick={() => void reload.run()}>
            Reload the latest version
          </ActionButton>
        </div>
      ) : (
        <ProblemBanner problem={problem} shownPaths={SHOWN_PATHS} />
      )}
      {notice ? (
        <div className="banner ok" role="status">
          {notice}
        </div>
      ) : null}
      {/* Where the connection stands with its provider comes first: it is what a person opening it needs to know. */}
      {loaded ? <OAuthPanel path={path} connection={loaded.connection} connector={connector} /> : null}
      <form onSubmit={submit} aria-label={isNew ? 'New connection' : 'Edit connection'}>
        <TextField label="Name" value={form.name} onChange={set('name')} error={errorAt(problem, '/name')} required />
        <Field
          label="Type"
          error={errorAt(problem, '/type')}
          hint="mysql, postgresql, http, redis, or another lower-case name"
        >
          {(id, describedBy) => (
            <>
              <input
                id={id}
                list="connection-types"
                value={form.type}
                aria-describedby={describedBy}
                onChange={(e) => setType(e.target.value)}
                required
              />
              <datalist id="connection-types">
                {Object.keys(TEMPLATES).map((t) => (
                  <option key={t} value={t} />
                ))}
              </datalist>
            </>
          )}
        </Field>
        <SelectField
          label="Environment"
          value={form.envType}
          options={ENV_TYPES}
          onChange={set('envType')}
          error={errorAt(problem, '/envType')}
        />
        {isNew ? (
          <SelectField
            label="Connector"
            value={form.connectorId}
            options={[['', '(none)'] as const, ...connectors.map((c) => [c.id, c.name] as const)]}
            onChange={set('connectorId')}
            error={errorAt(problem, '/connectorId')}
            hint="Its connection variables become this connection's starting variables."
          />
        ) : (
          <dl className="kv">
            <dt>Connector</dt>
            <dd>
              {loaded?.connection.connectorId ? (
                <Link
                  to={`/w/${encodeURIComponent(workspaceId)}/connectors/${encodeURIComponent(loaded.connection.connectorId)}`}
                >
                  {connector?.name ?? loaded.connection.connectorId}
                </Link>
              ) : (
                '(none)'
              )}
            </dd>
            <dt>Belongs to</dt>
            <dd id="connection-owner">
              {loaded?.connection.ownerUserId
                ? `user ${loaded.connection.ownerUserId}: only their own calls of per-user toolsets use it`
                : 'everyone (shared)'}
            </dd>
          </dl>
        )}
        <TextField
          label="Description"
          value={form.description}
          onChange={set('description')}
          error={errorAt(problem, '/description')}
        />
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
        <SettingsEditor rows={form.settings} onChange={set('settings')} problem={problem} />
        {connector && connector.connectionVariables.length > 0 ? (
          <ConnectorVariables
            connectorName={connector.name}
            defined={connector.connectionVariables}
            value={form.variables}
            onChange={set('variables')}
            problem={problem}
          />
        ) : (
          <VariablesEditor
            legend="Variables"
            value={form.variables}
            onChange={set('variables')}
            problem={problem}
            pointer="/variables"
          />
        )}
        {loaded && loaded.connection.credentials.length > 0 ? (
          <p className="muted">
            Credentials: {loaded.connection.credentials.map((c) => `${c.kind} via ${c.authSchemeConfigId}`).join(', ')}{' '}
            (kept as they are).
          </p>
        ) : null}
        <ActionButton type="submit" className="primary" busy={save.busy} busyLabel="Saving…" disabled={stale}>
          {isNew ? 'Create connection' : 'Save connection'}
        </ActionButton>
      </form>
      {loaded ? (
        <TestPanel path={path} health={loaded.connection.health} dirty={dirty} onTested={adoptTestResult} />
      ) : null}
    </section>
  );
}
