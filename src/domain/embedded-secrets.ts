import { isSecretParameter } from './secret-keys.js';

/** Where a secret sits inside a longer string: `[start, end)`. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

// `scheme://`, also nested as JDBC writes it (`jdbc:mysql://`).
const URL_START = /^[a-z][a-z0-9+.-]*:(?:[a-z][a-z0-9+.-]*:)*\/\//i;

/**
 * The secrets inside one setting's text: the password of a URL's userinfo (RFC 3986 §3.2.1 deprecates it,
 * DSNs still use it), URL query and fragment parameters named like credentials (`?token=`, `api_key`, `sig`,
 * `#access_token=`), and `Password=` (or `pwd=`) of keyword connection strings, ADO.NET (`;`) and libpq (spaces)
 * alike. Found the same way in plaintext and in the stored form, where each span holds a sealed value.
 */
export function secretSpans(text: string): Span[] {
  const start = URL_START.exec(text);
  if (start) return urlSpans(text, start[0].length);
  // Every keyword pair holds an `=`: most settings (a user name, a host) have none and need no walk.
  if (!text.includes('=')) return [];
  // ADO.NET separates pairs with `;` and lets values hold spaces; libpq separates them with spaces.
  return keywordSpans(text, 0, text.length, text.includes(';') ? ';' : ' \t\r\n');
}

function urlSpans(text: string, authorityStart: number): Span[] {
  const spans: Span[] = [];
  const stop = text.slice(authorityStart).search(/[/?#]/);
  const authorityEnd = stop === -1 ? text.length : authorityStart + stop;
  const at = text.lastIndexOf('@', authorityEnd - 1);
  if (at >= authorityStart) {
    const colon = text.indexOf(':', authorityStart);
    if (colon !== -1 && colon + 1 < at) spans.push({ start: colon + 1, end: at });
  }
  const query = text.indexOf('?', authorityEnd);
  const hash = text.indexOf('#', authorityEnd);
  if (query !== -1 && (hash === -1 || query < hash))
    spans.push(...parameterSpans(text, query + 1, hash === -1 ? text.length : hash));
  if (hash !== -1) spans.push(...parameterSpans(text, hash + 1, text.length));
  return spans;
}

/** `name=value` pairs between `from` and `to`, split by `&` (or `;`), whose name is a credential's. */
function parameterSpans(text: string, from: number, to: number): Span[] {
  return keywordSpans(text, from, to, '&;');
}

/** One pass over the text (a value may be megabytes long): each pair's first `=` is noted on the way. */
function keywordSpans(text: string, from: number, to: number, separators: string): Span[] {
  const spans: Span[] = [];
  let pairStart = from;
  let equals = -1;
  for (let i = from; i <= to; i++) {
    if (i < to && !separators.includes(text[i]!)) {
      if (equals === -1 && text[i] === '=') equals = i;
      continue;
    }
    if (equals !== -1 && equals + 1 < i) {
      const name = safeDecode(text.slice(pairStart, equals).trim());
      if (name !== '' && isSecretParameter(name)) spans.push({ start: equals + 1, end: i });
    }
    pairStart = i + 1;
    equals = -1;
  }
  return spans;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `text` with each span replaced by what `replace` makes of its content (and its index). */
export function replaceSpans(
  text: string,
  spans: readonly Span[],
  replace: (part: string, index: number) => string,
): string {
  let out = '';
  let at = 0;
  spans.forEach((span, index) => {
    out += text.slice(at, span.start) + replace(text.slice(span.start, span.end), index);
    at = span.end;
  });
  return out + text.slice(at);
}
