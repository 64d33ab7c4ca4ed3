import { replaceSealedIn } from './secrets.js';

/**
 * The paths sealed values are bound to inside their resource (see the vault's SealPlace). A path names a field
 * by what stays with it when a list is reordered (a credential's kind and scheme config, a config's id), so
 * that a kept secret still opens where it was kept. The same paths serve sealing, opening and `keys rewrap`.
 */

/** A JSON-pointer reference token (RFC 6901): `~` and `/` escaped. */
export const pointerToken = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** A connection credential's secret, by its kind and auth-scheme config. */
export const credentialSecretPath = (credential: { readonly kind: string; readonly authSchemeConfigId: string }) =>
  `/credentials/${pointerToken(credential.kind)}/${pointerToken(credential.authSchemeConfigId)}/secret`;

/** The settings of a connector's auth-scheme config, by the config's id. */
export const authSchemeConfigPath = (id: string) => `/authSchemeConfigs/${pointerToken(id)}/config`;

/** The secret of a signing key (AccessKey pair, AK/SK). */
export const ACCESS_KEY_SECRET_PATH = '/secret';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Rebuilds a JSON value with every sealed value replaced by `replace(sealed, path)`, path being `base` + the JSON
 * pointer of the string that holds it (a value sealed inside a longer string, a URL's password, is bound to
 * the setting that holds it).
 */
export function mapSealedAt(value: unknown, base: string, replace: (sealed: string, path: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item, index) => mapSealedAt(item, `${base}/${index}`, replace));
  if (isRecord(value))
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) => [key, mapSealedAt(child, `${base}/${pointerToken(key)}`, replace)]),
    );
  return typeof value === 'string' ? replaceSealedIn(value, (sealed) => replace(sealed, base)) : value;
}

/** The stored columns that hold sealed values. */
export type SealedColumn = 'content' | 'credentials' | 'auth_scheme_configs' | 'secret' | 'spec' | 'tokens';

/** Rebuilds a stored column's JSON value with each sealed value replaced, given the path it is bound to. */
export function mapSealedInColumn(
  column: SealedColumn,
  value: unknown,
  replace: (sealed: string, path: string) => string,
): unknown {
  switch (column) {
    case 'content':
    case 'spec':
    case 'tokens':
      return mapSealedAt(value, `/${column}`, replace);
    case 'secret':
      return mapSealedAt(value, ACCESS_KEY_SECRET_PATH, replace);
    case 'credentials':
      return Array.isArray(value)
        ? value.map((c: { kind: string; authSchemeConfigId: string; secret: unknown }) => ({
            ...c,
            secret: mapSealedAt(c.secret, credentialSecretPath(c), replace),
          }))
        : value;
    case 'auth_scheme_configs':
      return Array.isArray(value)
        ? value.map((c: { id: string; config: unknown }) => ({
            ...c,
            config: mapSealedAt(c.config, authSchemeConfigPath(c.id), replace),
          }))
        : value;
  }
}
