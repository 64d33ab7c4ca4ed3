/** The connection form's state: settings rows with write-only secrets, and the body they turn into. */
import type { Connection, Variable } from './types';

/** What every read shows in place of a secret; writing it back keeps the stored value. */
export const MASK = '******';

// The same names the server treats as secret (src/domain/secrets.ts): the form hides what is typed into them.
const SECRET_KEYS = [
  'password',
  'secret',
  'token',
  'apikey',
  'accesskeysecret',
  'privatekey',
  'clientsecret',
  'bearertoken',
  'refreshtoken',
  'accesstoken',
  'auth',
  'sslkey',
];

export const looksSecret = (key: string) => SECRET_KEYS.includes(key.toLowerCase().replace(/[_-]/g, ''));

export interface SettingRow {
  key: string;
  /** What the user typed; for a stored secret, '' means "keep what is stored". */
  value: string;
  /** The server holds a secret here and shows only the mask. */
  storedSecret: boolean;
  /** The JSON type the value had, so that a port stays a number. */
  kind: 'string' | 'number' | 'boolean' | 'json';
}

export interface ConnectionForm {
  name: string;
  type: string;
  envType: '0' | '1';
  connectorId: string;
  description: string;
  status: 'active' | 'disabled';
  settings: SettingRow[];
  variables: Variable[];
}

export const TEMPLATES: Record<string, [string, string][]> = {
  mysql: [
    ['host', '127.0.0.1'],
    ['port', '3306'],
    ['username', ''],
    ['password', ''],
    ['database', ''],
  ],
  postgresql: [
    ['host', '127.0.0.1'],
    ['port', '5432'],
    ['username', ''],
    ['password', ''],
    ['database', ''],
  ],
  http: [['url', 'https://']],
  redis: [
    ['host', '127.0.0.1'],
    ['port', '6379'],
  ],
};

export function rowsOf(template: [string, string][]): SettingRow[] {
  return template.map(([key, value]) => ({
    key,
    value,
    storedSecret: false,
    kind: key === 'port' ? 'number' : 'string',
  }));
}

export function emptyConnectionForm(): ConnectionForm {
  return {
    name: '',
    type: 'mysql',
    envType: '0',
    connectorId: '',
    description: '',
    status: 'active',
    settings: rowsOf(TEMPLATES.mysql!),
    variables: [],
  };
}

function rowOf(key: string, value: unknown): SettingRow {
  if (value === MASK) return { key, value: '', storedSecret: true, kind: 'string' };
  if (typeof value === 'number') return { key, value: String(value), storedSecret: false, kind: 'number' };
  if (typeof value === 'boolean') return { key, value: String(value), storedSecret: false, kind: 'boolean' };
  if (typeof value === 'string') return { key, value, storedSecret: false, kind: 'string' };
  return { key, value: JSON.stringify(value), storedSecret: false, kind: 'json' };
}

export function connectionFormOf(connection: Connection): ConnectionForm {
  return {
    name: connection.name,
    type: connection.type,
    envType: connection.envType === 1 ? '1' : '0',
    connectorId: connection.connectorId ?? '',
    description: connection.description ?? '',
    status: connection.status,
    settings: Object.entries(connection.content).map(([key, value]) => rowOf(key, value)),
    variables: connection.variables.map((v) => ({ ...v })),
  };
}

function valueOf(row: SettingRow): unknown {
  // An untouched stored secret goes back as the mask, which keeps it; typing replaces it.
  if (row.storedSecret && row.value === '') return MASK;
  const text = row.value;
  if (row.kind === 'number' && /^-?\d+(\.\d+)?$/.test(text.trim())) return Number(text.trim());
  if (row.kind === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  if (row.kind === 'json') {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

export function connectionBody(form: ConnectionForm, loaded: Connection | null) {
  const content = Object.fromEntries(
    form.settings.filter((r) => r.key.trim() !== '').map((r) => [r.key.trim(), valueOf(r)]),
  );
  return {
    // A connection's connector is chosen once, at creation.
    connectorId: loaded ? loaded.connectorId : form.connectorId || null,
    name: form.name.trim(),
    type: form.type.trim(),
    envType: form.envType === '1' ? 1 : 0,
    description: form.description.trim() || null,
    status: form.status,
    content,
    variables: form.variables,
    // A full replacement: the credentials go back as they were read (masked secrets are kept).
    credentials: loaded?.credentials ?? null,
  };
}

/** Names of the fields a reload would drop, for the "changed since you opened it" notice. */
export function changedFields(opened: ConnectionForm, yours: ConnectionForm): string[] {
  const labels: Record<keyof ConnectionForm, string> = {
    name: 'Name',
    type: 'Type',
    envType: 'Environment',
    connectorId: 'Connector',
    description: 'Description',
    status: 'Status',
    settings: 'Settings',
    variables: 'Variables',
  };
  return (Object.keys(labels) as (keyof ConnectionForm)[])
    .filter((k) => JSON.stringify(opened[k]) !== JSON.stringify(yours[k]))
    .map((k) => labels[k]);
}
