/** The connector form's state, and how it turns into the native API's create and PUT bodies. */
import type { Connector, Variable } from './types';

export interface ConnectorForm {
  id: string;
  name: string;
  description: string;
  protocolType: string;
  documentationUrl: string;
  iconUrl: string;
  baseUrl: string;
  datasetId: string;
  isPublic: boolean;
  status: 'active' | 'disabled';
  tags: string;
  configOrder: string[];
  variables: Variable[];
}

export const PROTOCOLS = ['http', 'bigquery', 'mysql', 'postgresql', 'mcp'] as const;

export const FIELD_LABELS: Record<string, string> = {
  name: 'Name',
  description: 'Description',
  protocolType: 'Protocol',
  documentationUrl: 'Documentation URL',
  iconUrl: 'Icon URL',
  baseUrl: 'Base URL',
  datasetId: 'BigQuery dataset',
  isPublic: 'Public',
  status: 'Status',
  tags: 'Tags',
  configOrder: 'Auth-scheme config order',
  variables: 'Connection variables',
};

export function emptyForm(): ConnectorForm {
  return {
    id: '',
    name: '',
    description: '',
    protocolType: 'http',
    documentationUrl: '',
    iconUrl: '',
    baseUrl: '',
    datasetId: '',
    isPublic: false,
    status: 'active',
    tags: '',
    configOrder: [],
    variables: [],
  };
}

/** Tags as text: one key per line, `key=value1,value2`. */
function tagsToText(tags: Record<string, string[]>): string {
  return Object.entries(tags)
    .map(([key, values]) => `${key}=${values.join(',')}`)
    .join('\n');
}

function tagsFromText(text: string): Record<string, string[]> {
  const tags: Record<string, string[]> = {};
  for (const line of text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    const at = line.indexOf('=');
    const key = (at < 0 ? line : line.slice(0, at)).trim();
    const values =
      at < 0
        ? []
        : line
            .slice(at + 1)
            .split(',')
            .map((v) => v.trim())
            .filter(Boolean);
    tags[key] = values;
  }
  return tags;
}

export function formOf(connector: Connector): ConnectorForm {
  return {
    id: connector.id,
    name: connector.name,
    description: connector.description ?? '',
    protocolType: connector.protocolType,
    documentationUrl: connector.documentationUrl ?? '',
    iconUrl: connector.iconUrl ?? '',
    baseUrl: connector.baseUrl ?? '',
    datasetId: connector.datasetId ?? '',
    isPublic: connector.isPublic,
    status: connector.status,
    tags: tagsToText(connector.tags),
    configOrder: connector.authSchemeConfigs.map((c) => c.id),
    variables: connector.connectionVariables.map((v) => ({ ...v })),
  };
}

const orNull = (value: string) => (value.trim() === '' ? null : value.trim());

function fieldsOf(form: ConnectorForm) {
  return {
    name: form.name.trim(),
    description: orNull(form.description),
    protocolType: form.protocolType,
    documentationUrl: orNull(form.documentationUrl),
    iconUrl: orNull(form.iconUrl),
    baseUrl: orNull(form.baseUrl),
    datasetId: orNull(form.datasetId),
    isPublic: form.isPublic,
    status: form.status,
    tags: tagsFromText(form.tags),
  };
}

export function createBody(form: ConnectorForm) {
  return { ...(form.id.trim() ? { id: form.id.trim() } : {}), ...fieldsOf(form), connectionVariables: form.variables };
}

export const sameVariables = (a: readonly Variable[], b: readonly Variable[]) =>
  JSON.stringify(a) === JSON.stringify(b);

/**
 * A full replacement of the connector. The order and the variables go only when they changed: variables
 * sent rewrite the variables of every connection of the connector.
 */
export function putBody(form: ConnectorForm, loaded: Connector) {
  const loadedOrder = loaded.authSchemeConfigs.map((c) => c.id);
  return {
    ...fieldsOf(form),
    ...(JSON.stringify(form.configOrder) !== JSON.stringify(loadedOrder)
      ? { authSchemeConfigIds: form.configOrder }
      : {}),
    ...(sameVariables(form.variables, loaded.connectionVariables) ? {} : { connectionVariables: form.variables }),
  };
}

function display(value: unknown): string {
  if (Array.isArray(value))
    return (
      value
        .map((v) => (typeof v === 'object' && v ? `${(v as Variable).name}=${(v as Variable).value}` : String(v)))
        .join(', ') || '(none)'
    );
  if (value === '' || value === null || value === undefined) return '(empty)';
  if (typeof value === 'string') return value;
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}

export interface DiscardedEdit {
  readonly field: string;
  readonly yours: string;
  readonly now: string;
}

/**
 * The edits a reload throws away: fields the user changed from what they opened that the latest version
 * does not already hold. Shown to the user, so that a reload keeps nothing, and loses nothing, silently.
 */
export function discardedEdits(opened: ConnectorForm, yours: ConnectorForm, latest: ConnectorForm): DiscardedEdit[] {
  return (Object.keys(FIELD_LABELS) as (keyof ConnectorForm)[])
    .filter(
      (k) =>
        JSON.stringify(yours[k]) !== JSON.stringify(opened[k]) &&
        JSON.stringify(yours[k]) !== JSON.stringify(latest[k]),
    )
    .map((k) => ({ field: FIELD_LABELS[k] ?? k, yours: display(yours[k]), now: display(latest[k]) }));
}
