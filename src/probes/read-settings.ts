import type { ProbeResult } from './probe.js';

/** Where a probe connects; `address` is how messages name it. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly address: string;
}

/**
 * Reads a connection's settings for a probe. Each reader takes the accepted keys, first wins
 * (`username` or `user`), and notes a problem instead of throwing, so that `rejection()` can name every
 * bad field in one message before anything connects.
 */
export function readSettings(content: Readonly<Record<string, unknown>>) {
  const problems: string[] = [];
  const pick = (keys: readonly string[]): [string, unknown] => {
    const key = keys.find((k) => content[k] !== undefined && content[k] !== null) ?? keys[0] ?? '';
    return [key, content[key]];
  };

  function text(...keys: readonly string[]): string | undefined {
    const [key, value] = pick(keys);
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    problems.push(`${key} must be text`);
    return undefined;
  }

  function requiredText(...keys: readonly string[]): string {
    const [key, value] = pick(keys);
    if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
      problems.push(`${key} is missing`);
      return '';
    }
    return text(...keys) ?? '';
  }

  // Forms send numbers as text, so "5432" counts as a number.
  function wholeNumber(key: string, range: { readonly min: number; readonly max: number }): number | undefined {
    const value = content[key];
    if (value === undefined || value === null || value === '') return undefined;
    const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof number === 'number' && Number.isInteger(number) && number >= range.min && number <= range.max)
      return number;
    problems.push(`${key} must be a whole number from ${range.min} to ${range.max}`);
    return undefined;
  }

  function endpoint(defaultPort: number): Endpoint {
    const host = requiredText('host');
    const port = wholeNumber('port', { min: 1, max: 65535 }) ?? defaultPort;
    return { host, port, address: `${host.includes(':') ? `[${host}]` : host}:${port}` };
  }

  /** `tls` (or `ssl`) as a yes/no switch; off unless the settings turn it on. */
  function tls(): boolean {
    const [key, value] = pick(['tls', 'ssl']);
    if (value === undefined || value === null || value === false || value === 'false') return false;
    if (value === true || value === 'true') return true;
    problems.push(`${key} must be true or false`);
    return false;
  }

  /** A failed result naming every problem found so far, or `undefined` when the settings are usable. */
  function rejection(): ProbeResult | undefined {
    return problems.length === 0
      ? undefined
      : { ok: false, message: `invalid settings: ${problems.join(', ')}`, latencyMs: 0 };
  }

  return { text, requiredText, wholeNumber, endpoint, tls, rejection };
}
