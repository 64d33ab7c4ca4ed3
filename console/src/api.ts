/** The console's only way to the server: the native API under /api/v1, with the key from session storage. */

const KEY_STORAGE = 'plugboard.apiKey';
const WORKSPACE_STORAGE = 'plugboard.workspace';

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/** An RFC 9457 problem document as the native API sends it. */
export interface Problem {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly code: string;
  readonly requestId?: string;
  readonly errors: readonly FieldError[];
}

/** A failed call: the problem the server answered with, or one made up for a network failure. */
export class ApiError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail || problem.title);
    this.name = 'ApiError';
    this.problem = problem;
  }
  get status(): number {
    return this.problem.status;
  }
}

export interface Reply<T> {
  readonly body: T;
  readonly etag: string | null;
  readonly headers: Headers;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY_STORAGE),
  setKey: (key: string) => sessionStorage.setItem(KEY_STORAGE, key),
  workspace: (): string | null => sessionStorage.getItem(WORKSPACE_STORAGE),
  setWorkspace: (id: string) => sessionStorage.setItem(WORKSPACE_STORAGE, id),
  clear: () => {
    sessionStorage.removeItem(KEY_STORAGE);
    sessionStorage.removeItem(WORKSPACE_STORAGE);
  },
};

/**
 * The CSRF token of a password (or single sign-on) session: the server sets it in a readable cookie beside the
 * HttpOnly session cookie, and wants it back in X-CSRF-Token on every write. Null when no person is signed in.
 */
export function sessionCsrfToken(): string | null {
  const match = /(?:^|;\s*)pb_csrf=([^;]+)/.exec(document.cookie);
  return match ? match[1]! : null;
}

/** Ends the person's session on the server (the cookies go with it). */
export async function signOutSession(): Promise<void> {
  const csrf = sessionCsrfToken();
  if (csrf === null) return;
  await fetch('/auth/sign-out', { method: 'POST', headers: { 'x-csrf-token': csrf }, redirect: 'manual' });
}

type Listener = (problem: Problem) => void;
const unauthorizedListeners = new Set<Listener>();

/** Called when a signed-in call is answered 401: the key was revoked or the session is stale. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

function problemFrom(status: number, body: unknown, statusText: string): Problem {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Partial<Problem>;
  return {
    status,
    title: typeof b.title === 'string' ? b.title : statusText || `HTTP ${status}`,
    detail: typeof b.detail === 'string' ? b.detail : `The server answered ${status} ${statusText}.`,
    code: typeof b.code === 'string' ? b.code : 'unknown',
    requestId: typeof b.requestId === 'string' ? b.requestId : undefined,
    errors: Array.isArray(b.errors)
      ? (b.errors as unknown[]).filter(
          (e): e is FieldError =>
            typeof (e as Partial<FieldError> | null)?.path === 'string' &&
            typeof (e as Partial<FieldError> | null)?.message === 'string',
        )
      : [],
  };
}

export interface RequestOptions {
  readonly body?: unknown;
  readonly ifMatch?: string | null;
  readonly query?: Record<string, string | number | undefined | null>;
  /** Use this key instead of the stored one (sign-in checks a key before keeping it). */
  readonly key?: string;
}

/** One API call. Resolves with the parsed body and ETag; rejects with an ApiError carrying the problem. */
export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<Reply<T>> {
  const key = options.key ?? session.key();
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (key) headers.authorization = `Bearer ${key}`;
  // Without a key the session cookie authenticates, and a write must carry its CSRF token.
  const csrf = key ? null : sessionCsrfToken();
  if (csrf !== null && method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrf;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.ifMatch) headers['if-match'] = options.ifMatch;
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const url = `/api/v1${path}${search.size > 0 ? `?${search}` : ''}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError({
      status: 0,
      title: 'Network error',
      detail: `The server could not be reached: ${(error as Error).message}`,
      code: 'network',
      errors: [],
    });
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const problem = problemFrom(response.status, parsed, response.statusText);
    if (response.status === 401 && options.key === undefined)
      unauthorizedListeners.forEach((listener) => listener(problem));
    throw new ApiError(problem);
  }
  return { body: parsed as T, etag: response.headers.get('etag'), headers: response.headers };
}

export const api = {
  get: <T>(path: string, query?: RequestOptions['query']) => request<T>('GET', path, { query }),
  post: <T>(path: string, body?: unknown, query?: RequestOptions['query']) =>
    request<T>('POST', path, { body: body ?? {}, query }),
  put: <T>(path: string, body: unknown, ifMatch: string | null) => request<T>('PUT', path, { body, ifMatch }),
  del: (path: string, ifMatch?: string | null, query?: RequestOptions['query']) =>
    request<undefined>('DELETE', path, { ifMatch, query }),
};

/** Path of a workspace's collection, with every segment escaped. */
/**
 * The strong ETag the server gives a resource state (src/domain/etag.ts: revision and creation time), so that a
 * delete chosen from a list is refused with 412 when the row changed since the list was read. (A connection's tag
 * also carries a digest of its OAuth state after a dot, which If-Match ignores: this form matches it.)
 */
export function etagOf(resource: { revision: number; createdAt: string }): string {
  return `"${resource.revision}-${Date.parse(resource.createdAt).toString(36)}"`;
}

export function wsPath(workspaceId: string, ...segments: (string | number)[]): string {
  return ['/workspaces', workspaceId, ...segments]
    .map((s, i) => (i === 0 ? s : encodeURIComponent(String(s))))
    .join('/');
}
