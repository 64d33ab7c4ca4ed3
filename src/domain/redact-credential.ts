/** What every spelling of an injected credential is replaced with in text bound for a client. */
export const REDACTED = '[redacted]';

/** Parts of a credential shorter than this are not redacted on their own: they would garble ordinary text. */
const MIN_PART_LENGTH = 4;

/**
 * The spellings in which a credential sent upstream may come back in an upstream's answer or error: as sent,
 * JSON-escaped (with and without escaped slashes), URL- and form-encoded (a reflected query string), and for
 * an `Authorization`-style value its token alone, plus for Basic the decoded `user:password` and the password.
 * Longest first, so that a spelling is replaced whole before any part of it.
 */
export function credentialSpellings(value: string): readonly string[] {
  const spellings = new Set<string>();
  const add = (form: string, min: number) => {
    if (form.length < min) return;
    const escaped = JSON.stringify(form).slice(1, -1);
    for (const spelling of [
      form,
      escaped,
      escaped.replace(/\//g, '\\/'),
      encodeURIComponent(form),
      new URLSearchParams({ v: form }).toString().slice(2),
    ])
      spellings.add(spelling);
  };
  add(value, 1);
  const scheme = /^([A-Za-z][\w.+-]*)\s+(\S+)$/.exec(value);
  if (scheme) {
    add(scheme[2]!, MIN_PART_LENGTH);
    if (scheme[1]!.toLowerCase() === 'basic') {
      const decoded = Buffer.from(scheme[2]!, 'base64').toString('utf8');
      add(decoded, MIN_PART_LENGTH);
      add(decoded.slice(decoded.indexOf(':') + 1), MIN_PART_LENGTH);
    }
  }
  spellings.delete('');
  return [...spellings].sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of each spelling replaced by {@link REDACTED}. */
export function redactSpellings(text: string, spellings: readonly string[]): string {
  let redacted = text;
  for (const spelling of spellings) if (redacted.includes(spelling)) redacted = redacted.replaceAll(spelling, REDACTED);
  return redacted;
}
