import type { TestApp } from './stores.js';

/** The `name=value` of every cookie a reply sets, by name (attributes dropped). */
export function cookiesSet(headers: Record<string, unknown>): Map<string, { value: string; attributes: string }> {
  const raw = headers['set-cookie'];
  const list = raw === undefined ? [] : Array.isArray(raw) ? (raw as string[]) : [raw as string];
  return new Map(
    list.map((line) => {
      const [pair, ...attributes] = line.split(';');
      const at = pair!.indexOf('=');
      return [pair!.slice(0, at).trim(), { value: pair!.slice(at + 1), attributes: attributes.join(';').trim() }];
    }),
  );
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

export interface Browser {
  /** Cookies this "browser" holds, as a browser would send them back. */
  readonly jar: Map<string, string>;
  get(url: string): Promise<{ status: number; headers: Record<string, unknown>; text: string }>;
  post(
    url: string,
    fields: Record<string, string>,
    headers?: Record<string, string>,
  ): Promise<{ status: number; headers: Record<string, unknown>; text: string }>;
  /** The form token of the last page loaded. */
  formToken(text: string): string;
}

/** A minimal cookie-keeping client over `app.server.inject`, sending the Origin a browser on this server would. */
export function browserFor(app: TestApp, origin = 'http://127.0.0.1:8080', remoteAddress = '127.0.0.1'): Browser {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const remember = (headers: Record<string, unknown>) => {
    for (const [name, { value, attributes }] of cookiesSet(headers)) {
      if (/max-age=0/i.test(attributes)) jar.delete(name);
      else jar.set(name, value);
    }
  };
  return {
    jar,
    async get(url) {
      const r = await app.server.inject({
        method: 'GET',
        url,
        remoteAddress,
        headers: jar.size ? { cookie: cookieHeader() } : {},
      });
      remember(r.headers);
      return { status: r.statusCode, headers: r.headers, text: r.body };
    },
    async post(url, fields, headers = {}) {
      const r = await app.server.inject({
        method: 'POST',
        url,
        remoteAddress,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin,
          ...(jar.size ? { cookie: cookieHeader() } : {}),
          ...headers,
        },
        payload: form(fields),
      });
      remember(r.headers);
      return { status: r.statusCode, headers: r.headers, text: r.body };
    },
    formToken(text) {
      const match = /name="form_token" value="([^"]+)"/.exec(text);
      if (!match) throw new Error(`no form token in the page: ${text.slice(0, 300)}`);
      return match[1]!;
    },
  };
}

/** Invites `email` into `workspaceId` with `role` (as the owner key) and accepts it with `password`; the new user's browser is signed in. */
export async function inviteAndJoin(
  app: TestApp,
  input: {
    email: string;
    role: string;
    password: string;
    displayName?: string;
    workspaceId?: string;
    origin?: string;
    /** PUBLIC_URL when it has a path prefix: the link must be under it; the app is reached without it. */
    publicUrl?: string;
  },
): Promise<{ browser: Browser; userId: string }> {
  const workspaceId = input.workspaceId ?? 'default';
  const invited = await app.call('POST', `/api/v1/workspaces/${workspaceId}/invitations`, {
    body: { email: input.email, role: input.role },
  });
  if (invited.status !== 201) throw new Error(`invitation: ${invited.status} ${invited.text}`);
  const link = (invited.body as { url: string }).url;
  if (input.publicUrl !== undefined && !link.startsWith(`${input.publicUrl}/`))
    throw new Error(`the invitation link ${link} is not under PUBLIC_URL ${input.publicUrl}`);
  const path =
    input.publicUrl === undefined
      ? new URL(link).pathname
      : new URL(link).pathname.slice(new URL(input.publicUrl).pathname.length);
  const browser = browserFor(app, input.origin);
  const page = await browser.get(path);
  const accepted = await browser.post(path, {
    form_token: browser.formToken(page.text),
    displayName: input.displayName ?? input.email.split('@')[0]!,
    password: input.password,
  });
  if (accepted.status !== 303) throw new Error(`accepting: ${accepted.status} ${accepted.text}`);
  const me = await app.call('GET', '/api/v1/me', {
    key: null,
    headers: { cookie: `pb_session=${browser.jar.get('pb_session')}` },
  });
  return { browser, userId: (me.body as { principalId: string }).principalId };
}

/** Signs a fresh browser in with the password form; the reply of the POST. */
export async function signIn(app: TestApp, email: string, password: string, origin?: string) {
  const browser = browserFor(app, origin);
  const page = await browser.get('/auth/sign-in?return_to=/console/');
  const reply = await browser.post('/auth/sign-in', {
    form_token: browser.formToken(page.text),
    return_to: '/console/',
    email,
    password,
  });
  return { browser, reply };
}
