import { useCallback, useId, useRef, useState, type ButtonHTMLAttributes, type ReactNode } from 'react';
import { ApiError, type FieldError, type Problem } from './api';
import { plainDetail, plainMessage } from './plain-errors';

/** A problem, or any other failure turned into one, so screens only ever show problems. */
export function problemOf(error: unknown): Problem {
  if (error instanceof ApiError) return error.problem;
  return {
    status: 0,
    title: 'Something went wrong',
    detail: error instanceof Error ? error.message : String(error),
    code: 'client',
    errors: [],
  };
}

/** The message of the field at `path` (a JSON Pointer into the request body), if the problem names it. */
export function errorAt(problem: Problem | null, path: string): string | undefined {
  // One message per field: a value that breaks two rules (a pattern and a format, say) needs saying once.
  const found = problem?.errors.filter(
    (e, i, all) =>
      (e.path === path || e.path.startsWith(`${path}/`)) && all.findIndex((other) => other.path === e.path) === i,
  );
  if (!found || found.length === 0) return undefined;
  return found
    .map((e) =>
      e.path === path ? plainMessage(e.message) : `${e.path.slice(path.length + 1)}: ${plainMessage(e.message)}`,
    )
    .join('; ');
}

/**
 * Runs one write at a time: `busy` is true while it is in flight (buttons disable on it) and a failure
 * lands in `problem` for the form to show, banner and fields alike.
 */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const inFlight = useRef(false);
  const actionRef = useRef(action);
  actionRef.current = action;
  const run = useCallback(async (...args: A): Promise<R | undefined> => {
    if (inFlight.current) return undefined;
    inFlight.current = true;
    setBusy(true);
    setProblem(null);
    try {
      return await actionRef.current(...args);
    } catch (error) {
      setProblem(problemOf(error));
      return undefined;
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  }, []);
  return { run, busy, problem, setProblem };
}

/** A label, its control and the API's message for that field, tied together for screen readers. */
export function Field(props: {
  label: string;
  error?: string;
  hint?: ReactNode;
  children: (id: string, describedBy: string | undefined) => ReactNode;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [props.error ? errorId : null, props.hint ? hintId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={props.error ? 'field has-error' : 'field'}>
      <label htmlFor={id}>{props.label}</label>
      {props.children(id, describedBy)}
      {props.hint ? (
        <div className="hint" id={hintId}>
          {props.hint}
        </div>
      ) : null}
      {props.error ? (
        <div className="field-error" id={errorId} role="alert">
          {props.error}
        </div>
      ) : null}
    </div>
  );
}

export function TextField(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string;
  hint?: ReactNode;
  type?: string;
  placeholder?: string;
  required?: boolean;
  autoComplete?: string;
  disabled?: boolean;
}) {
  return (
    <Field label={props.label} error={props.error} hint={props.hint}>
      {(id, describedBy) => (
        <input
          id={id}
          type={props.type ?? 'text'}
          value={props.value}
          placeholder={props.placeholder}
          required={props.required}
          disabled={props.disabled}
          autoComplete={props.autoComplete ?? 'off'}
          aria-invalid={props.error ? true : undefined}
          aria-describedby={describedBy}
          onChange={(event) => props.onChange(event.target.value)}
        />
      )}
    </Field>
  );
}

export function SelectField<T extends string>(props: {
  label: string;
  value: T;
  options: readonly (readonly [T, string])[];
  onChange: (value: T) => void;
  error?: string;
  hint?: ReactNode;
}) {
  return (
    <Field label={props.label} error={props.error} hint={props.hint}>
      {(id, describedBy) => (
        <select
          id={id}
          value={props.value}
          aria-invalid={props.error ? true : undefined}
          aria-describedby={describedBy}
          onChange={(event) => props.onChange(event.target.value as T)}
        >
          {props.options.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** A button for a write: disabled while the write is in flight, and says so. */
export function ActionButton({
  busy,
  busyLabel,
  children,
  disabled,
  ...rest
}: { busy: boolean; busyLabel?: string } & ButtonHTMLAttributes<HTMLButtonElement>) {
  return (
    <button type="button" {...rest} disabled={busy || disabled} aria-busy={busy || undefined}>
      {busy ? (busyLabel ?? 'Working…') : children}
    </button>
  );
}

/** The problem of a failed call: its title and detail, plus field errors no field on the form shows. */
export function ProblemBanner({
  problem,
  shownPaths = [],
}: {
  problem: Problem | null;
  shownPaths?: readonly string[];
}) {
  if (!problem) return null;
  const shown = (e: FieldError) => shownPaths.some((p) => e.path === p || e.path.startsWith(`${p}/`));
  const rest = problem.errors.filter((e) => !shown(e));
  return (
    <div className="banner error" role="alert">
      <strong>
        {problem.title}
        {problem.status ? ` (${problem.status})` : ''}
      </strong>
      <div>
        {
          // The API's own sentence for a validation failure repeats the schema's words; the fields say it plainly.
          problem.code === 'validation-failed' && problem.errors.length > 0
            ? rest.length === 0
              ? 'Nothing was saved or sent: correct the fields marked below.'
              : 'Nothing was saved or sent: correct these.'
            : plainDetail(problem.detail)
        }
      </div>
      {rest.length > 0 ? (
        <ul>
          {rest.map((e) => (
            <li key={`${e.path}:${e.message}`}>
              <code>{e.path || 'body'}</code> {plainMessage(e.message)}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** Name/value rows (connector and connection variables) with add and remove. */
export function VariablesEditor(props: {
  legend: string;
  value: readonly { name: string; value: string }[];
  onChange: (value: { name: string; value: string }[]) => void;
  problem: Problem | null;
  pointer: string;
}) {
  const rows = props.value;
  const set = (index: number, patch: Partial<{ name: string; value: string }>) =>
    props.onChange(rows.map((row, i) => (i === index ? { ...row, ...patch } : row)));
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      {rows.length === 0 ? <p className="muted">None.</p> : null}
      {rows.map((row, index) => (
        <div className="row" key={index}>
          <TextField
            label={`Name ${index + 1}`}
            value={row.name}
            onChange={(name) => set(index, { name })}
            error={errorAt(props.problem, `${props.pointer}/${index}/name`)}
          />
          <TextField
            label={`Value ${index + 1}`}
            value={row.value}
            onChange={(value) => set(index, { value })}
            error={errorAt(props.problem, `${props.pointer}/${index}/value`)}
          />
          <button type="button" className="link" onClick={() => props.onChange(rows.filter((_, i) => i !== index))}>
            Remove {row.name || `row ${index + 1}`}
          </button>
        </div>
      ))}
      <button type="button" onClick={() => props.onChange([...rows, { name: '', value: '' }])}>
        Add variable
      </button>
    </fieldset>
  );
}

/** Copies text; falls back to a hidden textarea where the Clipboard API is not allowed. */
export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    const copied = document.execCommand('copy');
    area.remove();
    if (!copied) throw new Error('The browser did not allow copying; select the text and copy it by hand.');
  }
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <button
      type="button"
      onClick={() => {
        copyText(text).then(
          () => setState('copied'),
          () => setState('failed'),
        );
      }}
    >
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select and copy by hand' : label}
    </button>
  );
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
