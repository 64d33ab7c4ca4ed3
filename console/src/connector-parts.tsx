import { useRef, useState, type DragEvent, type FormEvent } from 'react';
import { api, wsPath } from './api';
import { ActionButton, Field, ProblemBanner, SelectField, TextField, errorAt, problemOf, useAction } from './forms';
import type { AuthSchemeConfig, Connector } from './types';

const SCHEME_TYPES = [
  'none',
  'api-key',
  'basic-auth',
  'bearer',
  'oauth2',
  'oauth2-client-credentials',
  'oauth2-code',
  'hmac',
  'certificate',
] as const;

/** The order in which a connection's credentials are tried: move with the buttons (keyboard) or by dragging. */
export function ConfigOrder(props: {
  configs: AuthSchemeConfig[];
  order: string[];
  onChange: (order: string[]) => void;
  error?: string;
}) {
  const buttons = useRef(new Map<string, HTMLButtonElement | null>());
  const dragged = useRef<string | null>(null);
  const byId = new Map(props.configs.map((c) => [c.id, c]));
  const move = (from: number, to: number, focus?: string) => {
    if (to < 0 || to >= props.order.length) return;
    const next = [...props.order];
    const [id] = next.splice(from, 1);
    next.splice(to, 0, id!);
    props.onChange(next);
    // Focus stays on the same button of the moved item, so repeated presses keep moving it.
    if (focus) requestAnimationFrame(() => buttons.current.get(focus)?.focus());
  };
  const onDrop = (event: DragEvent, target: number) => {
    event.preventDefault();
    const from = dragged.current === null ? -1 : props.order.indexOf(dragged.current);
    if (from >= 0) move(from, target);
    dragged.current = null;
  };
  return (
    <fieldset>
      <legend>Auth-scheme configs</legend>
      <p className="hint">
        Connections try these in this order; the order is saved with the connector. Add or delete configs below the
        form.
      </p>
      <ol className="config-order">
        {props.order.map((id, index) => {
          const config = byId.get(id);
          return (
            <li
              key={id}
              draggable
              onDragStart={() => {
                dragged.current = id;
              }}
              onDragOver={(event) => event.preventDefault()}
              onDrop={(event) => onDrop(event, index)}
            >
              <span className="drag" aria-hidden="true">
                ⠿
              </span>
              <span className="config-text">
                <code>{id}</code> <span className="muted">{config?.schemeType}</span>
                {config?.description ? ` — ${config.description}` : ''}
                {config && config.validationMessages.length > 0 ? (
                  <span className="field-error"> {config.validationMessages.join('; ')}</span>
                ) : null}
              </span>
              <button
                type="button"
                ref={(el) => {
                  buttons.current.set(`${id}:up`, el);
                }}
                aria-label={`Move ${id} up`}
                disabled={index === 0}
                onClick={() => move(index, index - 1, `${id}:${index - 1 === 0 ? 'down' : 'up'}`)}
              >
                ↑
              </button>
              <button
                type="button"
                ref={(el) => {
                  buttons.current.set(`${id}:down`, el);
                }}
                aria-label={`Move ${id} down`}
                disabled={index === props.order.length - 1}
                onClick={() => move(index, index + 1, `${id}:${index + 1 === props.order.length - 1 ? 'up' : 'down'}`)}
              >
                ↓
              </button>
            </li>
          );
        })}
      </ol>
      {props.error ? (
        <div className="field-error" role="alert">
          {props.error}
        </div>
      ) : null}
    </fieldset>
  );
}

interface PartProps {
  workspaceId: string;
  loaded: { connector: Connector; etag: string | null };
  /** True while the connector form above has unsaved edits: a write here would make them stale. */
  locked: boolean;
  onChanged: () => Promise<void>;
  onStale: () => void;
}

/** Runs a sub-resource write guarded by the connector's ETag, then reloads the connector. */
function usePartWrite(props: PartProps) {
  return useAction(async (write: () => Promise<unknown>) => {
    try {
      await write();
    } catch (error) {
      if (problemOf(error).status === 412) props.onStale();
      throw error;
    }
    await props.onChanged();
  });
}

const lockedNote = <p className="hint">Save or reload the connector above before changing this.</p>;

export function ConfigsSection(props: PartProps) {
  const { connector, etag } = props.loaded;
  const base = wsPath(props.workspaceId, 'connectors', connector.id, 'auth-scheme-configs');
  const [id, setId] = useState('');
  const [schemeType, setSchemeType] = useState<(typeof SCHEME_TYPES)[number]>('api-key');
  const [description, setDescription] = useState('');
  const [config, setConfig] = useState('{"name": "X-Api-Key", "in": "header"}');
  const [doomed, setDoomed] = useState('');
  const write = usePartWrite(props);
  const add = (event: FormEvent) => {
    event.preventDefault();
    void write.run(async () => {
      let parsed: unknown;
      try {
        parsed = config.trim() === '' ? null : JSON.parse(config);
      } catch (error) {
        throw new Error(`Config is not valid JSON: ${(error as Error).message}`, { cause: error });
      }
      await api.post(base, {
        ...(id.trim() ? { id: id.trim() } : {}),
        schemeType,
        description: description.trim() || null,
        config: parsed,
      });
      setId('');
      setDescription('');
    });
  };
  return (
    <section className="panel">
      <h2>Add or delete auth-scheme configs</h2>
      <ProblemBanner problem={write.problem} shownPaths={['/id', '/schemeType', '/description', '/config']} />
      {connector.authSchemeConfigs.length > 0 ? (
        <div className="row">
          <SelectField
            label="Config to delete"
            value={doomed || connector.authSchemeConfigs[0]!.id}
            options={connector.authSchemeConfigs.map((c) => [c.id, `${c.id} (${c.schemeType})`] as const)}
            onChange={setDoomed}
          />
          <ActionButton
            busy={write.busy}
            disabled={props.locked}
            className="danger"
            onClick={() => {
              const id = doomed || connector.authSchemeConfigs[0]!.id;
              void write.run(() => api.del(`${base}/${encodeURIComponent(id)}`, etag)).then(() => setDoomed(''));
            }}
          >
            Delete config {doomed || connector.authSchemeConfigs[0]!.id}
          </ActionButton>
        </div>
      ) : (
        <p className="muted">No auth-scheme configs yet: connections of this connector send no credentials.</p>
      )}
      {props.locked ? lockedNote : null}
      <form onSubmit={add} aria-label="Add an auth-scheme config">
        <TextField
          label="Config id"
          value={id}
          onChange={setId}
          error={errorAt(write.problem, '/id')}
          hint="Left empty, the server picks one."
        />
        <SelectField
          label="Scheme type"
          value={schemeType}
          options={SCHEME_TYPES.map((t) => [t, t] as const)}
          onChange={setSchemeType}
          error={errorAt(write.problem, '/schemeType')}
        />
        <TextField
          label="Config description"
          value={description}
          onChange={setDescription}
          error={errorAt(write.problem, '/description')}
        />
        <Field label="Settings (JSON)" error={errorAt(write.problem, '/config')}>
          {(fieldId) => <textarea id={fieldId} rows={2} value={config} onChange={(e) => setConfig(e.target.value)} />}
        </Field>
        <ActionButton type="submit" busy={write.busy} busyLabel="Adding…" disabled={props.locked}>
          Add config
        </ActionButton>
      </form>
    </section>
  );
}

export function VersionsSection(props: PartProps) {
  const { connector, etag } = props.loaded;
  const base = wsPath(props.workspaceId, 'connectors', connector.id, 'versions');
  const [name, setName] = useState('');
  const [makeDefault, setMakeDefault] = useState(false);
  const write = usePartWrite(props);
  const add = (event: FormEvent) => {
    event.preventDefault();
    void write.run(async () => {
      await api.post(base, { name: name.trim(), ...(makeDefault ? { isDefault: true } : {}) });
      setName('');
      setMakeDefault(false);
    });
  };
  return (
    <section className="panel">
      <h2>Versions</h2>
      <ProblemBanner problem={write.problem} shownPaths={['/name']} />
      <table>
        <thead>
          <tr>
            <th>Version</th>
            <th>Flags</th>
            <th>Created</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {connector.versions.map((v) => (
            <tr key={v.id}>
              <td>{v.name}</td>
              <td>
                {v.isDefault ? <span className="badge default">default</span> : null}
                {v.isLatest ? <span className="badge latest">latest</span> : null}
              </td>
              <td>{new Date(v.createdAt).toLocaleString()}</td>
              <td>
                {!v.isDefault ? (
                  <ActionButton
                    busy={write.busy}
                    disabled={props.locked}
                    onClick={() =>
                      void write.run(() =>
                        api.put(
                          `${base}/${encodeURIComponent(v.id)}`,
                          { name: v.name, description: v.description, isDefault: true },
                          etag,
                        ),
                      )
                    }
                  >
                    Make {v.name} default
                  </ActionButton>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.locked ? lockedNote : null}
      <form onSubmit={add} aria-label="Add a version">
        <TextField
          label="Version name"
          value={name}
          onChange={setName}
          error={errorAt(write.problem, '/name')}
          placeholder="v1"
        />
        <div className="field checkbox">
          <input
            id="version-default"
            type="checkbox"
            checked={makeDefault}
            onChange={(e) => setMakeDefault(e.target.checked)}
          />
          <label htmlFor="version-default">Make it the default</label>
        </div>
        <ActionButton type="submit" busy={write.busy} busyLabel="Adding…" disabled={props.locked || name.trim() === ''}>
          Add version
        </ActionButton>
      </form>
    </section>
  );
}
