import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/** Where the console is mounted; client-side routes live below it and the server answers them with index.html. */
const BASE = '/console';
const CHANGE = 'plugboard:navigate';

function subscribe(callback: () => void) {
  window.addEventListener('popstate', callback);
  window.addEventListener(CHANGE, callback);
  return () => {
    window.removeEventListener('popstate', callback);
    window.removeEventListener(CHANGE, callback);
  };
}

function currentPath(): string {
  const path = window.location.pathname.startsWith(BASE)
    ? window.location.pathname.slice(BASE.length)
    : window.location.pathname;
  return path === '' ? '/' : path;
}

/** The route below /console, e.g. "/w/default/connectors". */
export function usePath(): string {
  return useSyncExternalStore(subscribe, currentPath);
}

export function useQuery(): URLSearchParams {
  const search = useSyncExternalStore(subscribe, () => window.location.search);
  return new URLSearchParams(search);
}

/**
 * Filters kept in the address's query, so that a view can be shared: the current values and a setter that
 * replaces them in place (no new history entry per keystroke). Empty values leave the address.
 */
export function useQueryParams(): [URLSearchParams, (changes: Record<string, string | null | undefined>) => void] {
  const params = useQuery();
  const set = (changes: Record<string, string | null | undefined>) => {
    const next = new URLSearchParams(window.location.search);
    for (const [name, value] of Object.entries(changes)) {
      if (value === undefined || value === null || value === '') next.delete(name);
      else next.set(name, value);
    }
    const search = next.toString();
    window.history.replaceState(null, '', `${window.location.pathname}${search ? `?${search}` : ''}`);
    window.dispatchEvent(new Event(CHANGE));
  };
  return [params, set];
}

export function navigate(to: string, options: { replace?: boolean } = {}) {
  const url = `${BASE}${to}`;
  if (options.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event(CHANGE));
}

/** Splits a route into its segments, decoded. */
export function segmentsOf(path: string): string[] {
  return path
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponent(s));
}

/** A real link (open in a new tab works) that navigates in place on a plain click. */
export function Link({ to, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={`${BASE}${to}`} onClick={onClick} {...rest} />;
}
