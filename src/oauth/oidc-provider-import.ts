/**
 * oidc-provider, imported with its one start-up warning held back. On any runtime before Node.js 22 LTS it writes
 * "Unsupported runtime" to stderr when it is imported, which would break the CLI's promise of one line per outcome
 * (`plugboard --help`, a port in use). The warning is kept in {@link runtimeWarnings} and the server logs it once
 * at start (build-server.ts); any other warning passes through untouched.
 */
import { stripVTControlCharacters } from 'node:util';
import type * as OidcProvider from 'oidc-provider';

const held: string[] = [];
const warn = console.warn;
console.warn = (...args: unknown[]) => {
  const text = args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' ');
  if (/oidc-provider WARNING: Unsupported runtime/.test(text)) held.push(stripVTControlCharacters(text));
  else warn(...args);
};
let loaded: typeof OidcProvider;
try {
  loaded = await import('oidc-provider');
} finally {
  console.warn = warn;
}

export const Provider = loaded.default;
export const errors = loaded.errors;
/** What oidc-provider warned about when it was imported (the runtime), for the server's log. */
export const runtimeWarnings: readonly string[] = held;
