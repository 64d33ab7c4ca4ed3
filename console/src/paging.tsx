import { useCallback, useEffect, useState } from 'react';
import type { Page, Problem } from './api';
import { problemOf } from './forms';

/**
 * Cursor paging over a list endpoint: the API only walks forward, so the cursors of earlier pages are
 * kept here to go back. A change of `key` (a search, a filter) starts again from the first page.
 */
export function usePaged<T>(load: (cursor: string | undefined) => Promise<Page<T>>, key: string) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<Page<T> | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);

  useEffect(() => setCursors([undefined]), [key]);

  const cursor = cursors[cursors.length - 1];
  useEffect(() => {
    let live = true;
    setLoading(true);
    load(cursor)
      .then(
        (result) => {
          if (!live) return;
          setPage(result);
          setProblem(null);
        },
        (error) => live && setProblem(problemOf(error)),
      )
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
    // `load` is rebuilt on every render and left out on purpose: `key` names what it loads.
  }, [cursor, cursors.length, key, tick]);

  return {
    items: page?.items ?? [],
    loading,
    problem,
    pageNumber: cursors.length,
    hasNext: Boolean(page?.nextCursor),
    hasPrevious: cursors.length > 1,
    next: useCallback(() => page?.nextCursor && setCursors((c) => [...c, page.nextCursor ?? undefined]), [page]),
    previous: useCallback(() => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)), []),
    reload: useCallback(() => setTick((t) => t + 1), []),
  };
}

export function Pager(props: {
  pageNumber: number;
  hasPrevious: boolean;
  hasNext: boolean;
  previous: () => void;
  next: () => void;
  loading: boolean;
}) {
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" onClick={props.previous} disabled={!props.hasPrevious || props.loading}>
        Previous page
      </button>
      <span aria-live="polite">Page {props.pageNumber}</span>
      <button type="button" onClick={props.next} disabled={!props.hasNext || props.loading}>
        Next page
      </button>
    </nav>
  );
}
