import type { FastifyReply } from 'fastify';

/** Text made safe for HTML content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const PAGE_POLICY = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/** The pages load nothing but their own stylesheet, post only to this server, and are never framed. */
const SECURITY_HEADERS = {
  'content-security-policy': `${PAGE_POLICY}; form-action 'self'`,
  'x-content-type-options': 'nosniff',
  // Not no-referrer: under it browsers send `Origin: null` with the pages' own form posts, which the origin check refuses.
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

export const STYLESHEET = `body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
main{max-width:24rem;margin:10vh auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;border:1px solid #aab;border-radius:4px}
button,.button{display:block;width:100%;margin-top:1.2rem;padding:.6rem;font:inherit;border:0;border-radius:4px;background:#2856c6;color:#fff;text-align:center;text-decoration:none;cursor:pointer}
.secondary{background:#e6e9f0;color:#1d2330}.error{background:#fde8e8;color:#8a1c1c;padding:.6rem;border-radius:4px}
.hint{color:#556;font-size:.9rem}`;

/**
 * A page of its own (sign-in, invitation); `basePath` is PUBLIC_URL's path prefix, which its links carry. A page
 * whose form is answered with a redirect to another origin (a connect link's, to the provider) sets
 * `redirectsAway`: browsers apply form-action to the redirects after a post too, so that page goes without it (its
 * form still posts to this server; nothing on it comes from anyone but plugboard).
 */
export function sendPage(
  reply: FastifyReply,
  status: number,
  title: string,
  body: string,
  basePath = '',
  options: { redirectsAway?: boolean } = {},
): FastifyReply {
  return reply
    .code(status)
    .headers(options.redirectsAway ? { ...SECURITY_HEADERS, 'content-security-policy': PAGE_POLICY } : SECURITY_HEADERS)
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
        `<title>${escapeHtml(title)} · plugboard</title><link rel="stylesheet" href="${escapeHtml(basePath)}/auth/style.css"></head>` +
        `<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`,
    );
}

/** An error box, announced to screen readers. */
export const errorBox = (message: string | undefined) =>
  message === undefined ? '' : `<p class="error" role="alert">${escapeHtml(message)}</p>`;

/**
 * Where to go after signing in: a path on this server only. An absolute URL (`https://…`), a scheme-relative one
 * (`//host`) or a backslash trick (`/\\host`, which browsers read as `//host`) would make the page an open redirect.
 */
export function safeReturnTo(value: unknown, fallback = '/console/', basePath = ''): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return fallback;
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\')) return fallback;
  if ([...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return fallback;
  // A path as the browser saw it, under PUBLIC_URL's prefix, is kept as the route it names (redirects add it back).
  if (basePath !== '' && value.startsWith(`${basePath}/`)) return safeReturnTo(value.slice(basePath.length), fallback);
  return value;
}
