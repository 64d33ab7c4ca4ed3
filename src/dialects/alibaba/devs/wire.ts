import { parseJsonInput } from '../../../domain/json-input.js';
import type { Toolset } from '../../../domain/toolset.js';
import { AlibabaError } from '../errors.js';

/** DevS's API version, which is also the first segment of its paths. */
export const DEVS_VERSION = '2023-07-14';

/** Toolset fields the server manages: accepted in a body (a GET body sent back) and ignored. */
const SERVER_MANAGED = ['uid', 'kind', 'generation', 'createdTime', 'status'];

/** DevS's name of a core field: the same camelCase names, dotted (`spec.schema.detail`). */
export function devsFieldName(path: string): string {
  return path.replace(/^\//, '').replace(/\//g, '.') || 'body';
}

/** The JSON object body DevS sends; anything else is DevS's 400. */
export function jsonObjectOf(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0)
    throw new AlibabaError(400, 'MissingBody', 'The request body is required: a Toolset JSON object.');
  let parsed: unknown;
  try {
    parsed = parseJsonInput(raw.toString('utf8'));
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new AlibabaError(400, 'InvalidParameter', 'The request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AlibabaError(400, 'InvalidParameter', 'The request body must be a Toolset JSON object.');
  }
  return parsed as Record<string, unknown>;
}

/** The writable part of a Toolset body (`name` is taken from the path on update). */
export function writableFieldsOf(body: Record<string, unknown>, keepName: boolean): Record<string, unknown> {
  const fields = { ...body };
  for (const name of SERVER_MANAGED) delete fields[name];
  if (!keepName) delete fields.name;
  return fields;
}

/** UpdateToolset's body as a merge patch over `current`: labels replaced as a whole, everything else merged. */
export function updatePatchOf(fields: Record<string, unknown>, current: Toolset): Record<string, unknown> {
  const labels = fields.labels;
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return fields;
  const dropped = Object.fromEntries(
    Object.keys(current.labels)
      .filter((k) => !(k in labels))
      .map((k) => [k, null]),
  );
  return { ...fields, labels: { ...dropped, ...labels } };
}

/** The Toolset exactly as DevS returns it: no plugboard bookkeeping. */
export function toolsetBody(toolset: Toolset) {
  const { workspaceId: _w, revision: _r, updatedAt: _u, ...body } = toolset;
  return body;
}

/** ListToolsets' query: `keyword`, `labelSelector` (`k=v,k2=v2`), `pageNumber` from 1, `pageSize`. */
export interface ListQuery {
  readonly keyword: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly pageNumber: number;
  readonly pageSize: number;
}

function positiveInteger(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > max)
    throw new AlibabaError(400, 'InvalidParameter', `${name} must be a whole number from 1 to ${max}, not "${value}".`);
  return n;
}

export function listQueryOf(query: Readonly<Record<string, string>>): ListQuery {
  const labels: Record<string, string> = {};
  for (const term of (query.labelSelector ?? '').split(',').filter((t) => t.trim() !== '')) {
    const at = term.indexOf('=');
    if (at <= 0)
      throw new AlibabaError(
        400,
        'InvalidParameter',
        `labelSelector must be key=value pairs separated by commas; "${term}" is not one.`,
      );
    labels[term.slice(0, at).trim()] = term.slice(at + 1).trim();
  }
  return {
    keyword: query.keyword || undefined,
    labels,
    pageNumber: positiveInteger(query.pageNumber, 'pageNumber', 1, 1_000_000),
    pageSize: positiveInteger(query.pageSize, 'pageSize', 10, 100),
  };
}

/** Whether a toolset matches a ListToolsets filter: the keyword in its name or description, every label equal. */
export function matches(toolset: Toolset, query: ListQuery): boolean {
  if (query.keyword !== undefined) {
    const keyword = query.keyword.toLowerCase();
    if (!toolset.name.toLowerCase().includes(keyword) && !(toolset.description ?? '').toLowerCase().includes(keyword))
      return false;
  }
  return Object.entries(query.labels).every(([key, value]) => toolset.labels[key] === value);
}
