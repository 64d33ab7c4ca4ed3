import { readFileSync } from 'node:fs';

/** plugboard's own name and version, from package.json. */
export const VERSION_INFO: { readonly name: string; readonly version: string } = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
) as { name: string; version: string };
