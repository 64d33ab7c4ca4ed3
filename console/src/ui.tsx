import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { Link } from './router';

/**
 * A modal confirmation (the browser's <dialog>: focus moves into it, Escape cancels, the page behind is inert)
 * that says what will go and what goes with it.
 */
export function ConfirmDialog(props: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  /** What the confirm button says while the request is in flight ("Deleting…" unless told). */
  busyLabel?: string;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className="confirm"
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        props.onCancel();
      }}
    >
      <h2 id={titleId}>{props.title}</h2>
      <div className="confirm-body">{props.children}</div>
      <div className="confirm-actions">
        <button type="button" onClick={props.onCancel} autoFocus>
          Cancel
        </button>
        <button
          type="button"
          className="danger"
          disabled={props.busy}
          aria-busy={props.busy || undefined}
          onClick={props.onConfirm}
        >
          {props.busy ? (props.busyLabel ?? 'Deleting…') : props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** What an empty list means and what to do next. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty-state" role="status">
      <p className="empty-title">{title}</p>
      {children ? <div>{children}</div> : null}
    </div>
  );
}

/** A page that does not exist (an unknown address, or a resource that is gone). */
export function NotFound({ workspaceId, what }: { workspaceId?: string; what?: string }) {
  const base = workspaceId ? `/w/${encodeURIComponent(workspaceId)}` : '';
  return (
    <section className="not-found" aria-labelledby="not-found-title">
      <h1 id="not-found-title">Page not found</h1>
      <p>
        {what ?? `There is nothing at ${window.location.pathname}.`} It may have been deleted, or the address is
        mistyped.
      </p>
      {workspaceId ? (
        <ul className="links">
          <li>
            <Link to={`${base}/connectors`}>Connectors</Link>
          </li>
          <li>
            <Link to={`${base}/connections`}>Connections</Link>
          </li>
          <li>
            <Link to={`${base}/toolsets`}>Toolsets</Link>
          </li>
          <li>
            <Link to={`${base}/access-clients`}>Access clients</Link>
          </li>
          <li>
            <Link to={`${base}/members`}>Members</Link>
          </li>
          <li>
            <Link to={`${base}/audit`}>Audit</Link>
          </li>
        </ul>
      ) : (
        <p>
          <Link to="/">Go to the console's start page</Link>
        </p>
      )}
    </section>
  );
}

/** Which rows of the shown page are selected (by key); cleared when the page's rows change. */
export function useSelection(keys: readonly string[]) {
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const signature = keys.join('\u0000');
  useEffect(() => setSelected(new Set()), [signature]);
  const all = keys.length > 0 && keys.every((k) => selected.has(k));
  return {
    selected: keys.filter((k) => selected.has(k)),
    has: (key: string) => selected.has(key),
    toggle: (key: string, on: boolean) =>
      setSelected((s) => {
        const next = new Set(s);
        if (on) next.add(key);
        else next.delete(key);
        return next;
      }),
    all,
    some: !all && keys.some((k) => selected.has(k)),
    toggleAll: (on: boolean) => setSelected(on ? new Set(keys) : new Set()),
    clear: () => setSelected(new Set()),
  };
}

export type Selection = ReturnType<typeof useSelection>;

/** The header cell that selects every row of the page. */
export function SelectAllCell({ selection, noun }: { selection: Selection; noun: string }) {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = selection.some;
  }, [selection.some]);
  return (
    <th className="select">
      <input
        ref={ref}
        type="checkbox"
        aria-label={`Select all ${noun} on this page`}
        checked={selection.all}
        onChange={(e) => selection.toggleAll(e.target.checked)}
      />
    </th>
  );
}

export function SelectCell({ selection, id, label }: { selection: Selection; id: string; label: string }) {
  return (
    <td className="select">
      <input
        type="checkbox"
        aria-label={`Select ${label}`}
        checked={selection.has(id)}
        onChange={(e) => selection.toggle(id, e.target.checked)}
      />
    </td>
  );
}

/** Deletes one after another; reports which failed and why, so nothing fails silently. */
export async function deleteEach(
  items: readonly { id: string; label: string; remove: () => Promise<unknown> }[],
): Promise<{ deleted: number; failures: string[] }> {
  let deleted = 0;
  const failures: string[] = [];
  for (const item of items) {
    try {
      await item.remove();
      deleted++;
    } catch (error) {
      failures.push(`${item.label}: ${(error as Error).message}`);
    }
  }
  return { deleted, failures };
}

/** A bar above a list: how many rows are chosen, and a delete for all of them. */
export function BulkBar({ count, noun, onDelete }: { count: number; noun: string; onDelete: () => void }) {
  if (count === 0) return null;
  return (
    <div className="bulk-bar" role="region" aria-label="Selected rows">
      <span>
        {count} {noun} selected
      </span>
      <button type="button" className="danger" onClick={onDelete}>
        Delete selected ({count})
      </button>
    </div>
  );
}

/** What a delete (or a revocation) did: how many went, which failed and why. */
export interface DeleteOutcome {
  deleted: number;
  failures: string[];
  noun: string;
  /** The verb in the past tense, "deleted" unless told ("revoked", "withdrawn"). */
  verb?: string;
}

/** The outcome of a delete (bulk or single), announced. */
export function Outcome({ outcome }: { outcome: DeleteOutcome | null }) {
  if (!outcome) return null;
  const verb = outcome.verb ?? 'deleted';
  return (
    <div className={`banner ${outcome.failures.length > 0 ? 'error' : 'ok'}`} role="status">
      {outcome.deleted > 0 ? `${verb[0]!.toUpperCase()}${verb.slice(1)} ${outcome.deleted} ${outcome.noun}.` : null}
      {outcome.failures.length > 0 ? (
        <>
          <div>These could not be {verb}:</div>
          <ul>
            {outcome.failures.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}

/** A name search kept in the address (?q=): typing searches once it pauses, Enter at once. */
export function SearchBox({
  label,
  value,
  onSearch,
}: {
  label: string;
  value: string;
  onSearch: (value: string) => void;
}) {
  const id = useId();
  const [text, setText] = useState(value);
  const latest = useRef(value);
  latest.current = value;
  useEffect(() => setText(value), [value]);
  useEffect(() => {
    if (text.trim() === latest.current) return;
    const timer = setTimeout(() => onSearch(text.trim()), 250);
    return () => clearTimeout(timer);
    // onSearch is rebuilt on every render; the text is what matters.
  }, [text]);
  return (
    <form
      role="search"
      className="search"
      onSubmit={(event) => {
        event.preventDefault();
        onSearch(text.trim());
      }}
    >
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="search"
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder="name contains…"
      />
      <button type="submit">Search</button>
    </form>
  );
}

/** A filter <select> with its label, for a list's toolbar. */
export function FilterSelect(props: {
  label: string;
  value: string;
  options: readonly (readonly [string, string])[];
  onChange: (value: string) => void;
}) {
  const id = useId();
  return (
    <div className="filter">
      <label htmlFor={id}>{props.label}</label>
      <select id={id} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        {props.options.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </div>
  );
}

/**
 * A confirmed delete (or revocation) of one or more rows of a list: `ask` opens the confirmation with the rows,
 * `dialogProps` wires a <ConfirmDialog>, and the outcome (how many went, which failed and why) is kept for
 * <Outcome>. The rows go one by one (deleteEach), then `onDone` reloads the list.
 */
export function useConfirmedDelete<T>(options: {
  /** The noun for one row and for several ("grant", "grants"). */
  noun: readonly [string, string];
  verb?: string;
  label: (item: T) => string;
  remove: (item: T) => Promise<unknown>;
  onDone: () => void;
}) {
  const [asked, setAsked] = useState<T[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<DeleteOutcome | null>(null);
  const run = () => {
    if (!asked) return;
    setBusy(true);
    void deleteEach(
      asked.map((item) => ({
        id: options.label(item),
        label: options.label(item),
        remove: () => options.remove(item),
      })),
    ).then((result) => {
      setBusy(false);
      setAsked(null);
      setOutcome({ ...result, noun: options.noun[result.deleted === 1 ? 0 : 1], verb: options.verb });
      options.onDone();
    });
  };
  return {
    /** The rows waiting for confirmation; null when no confirmation is open. */
    asked,
    ask: (items: T[]) => {
      setOutcome(null);
      setAsked(items);
    },
    outcome,
    dialogProps: { busy, onCancel: () => setAsked(null), onConfirm: run },
  };
}
