import { parseJsonInput } from '../../../domain/json-input.js';
import type { Connection } from '../../../domain/connection.js';
import { AlibabaError } from '../errors.js';
import { cutText } from '../../../domain/cut-text.js';

/** The DataWorks API version these actions speak (the connection family; 2024-05-18 renamed it). */
export const DATAWORKS_VERSION = '2020-05-18';

/** The connection actions of that version plugboard serves. */
export const DATAWORKS_ACTIONS = [
  'CreateConnection',
  'ListConnections',
  'UpdateConnection',
  'DeleteConnection',
  'TestNetworkConnection',
] as const;
export type DataWorksAction = (typeof DATAWORKS_ACTIONS)[number];

/** DataWorks' name of a core connection field, for messages that name the field (`/content/host` → `Content.host`). */
export function dataworksFieldName(path: string): string {
  const names: Record<string, string> = {
    name: 'Name',
    type: 'ConnectionType',
    envType: 'EnvType',
    description: 'Description',
    status: 'Status',
    content: 'Content',
  };
  const [first = '', ...rest] = path.replace(/^\//, '').split('/');
  return [names[first] ?? first, ...rest].filter((part) => part !== '').join('.') || 'request';
}

/** A required parameter: absent or blank is DataWorks' `Missing<Name>`. */
export function required(parameters: Readonly<Record<string, string>>, name: string): string {
  const value = parameters[name];
  if (value === undefined || value.trim() === '') {
    throw new AlibabaError(
      400,
      `Missing${name}`,
      `The input parameter "${name}" that is mandatory for processing this request is not supplied.`,
    );
  }
  return value;
}

const invalid = (name: string, rule: string, value: string) =>
  new AlibabaError(
    400,
    'InvalidParameter',
    `Specified parameter ${name} is not valid: ${rule}, not ${JSON.stringify(cutText(value, 65))}.`,
  );

/** A Long id (`ConnectionId`, `ProjectId`): digits only, at least 1. Larger than any stored id is still well formed. */
export function longOf(value: string, name: string): number {
  if (!/^\d{1,19}$/.test(value) || /^0+$/.test(value))
    throw invalid(name, 'it must be a positive whole number (Long)', value);
  return Number(value);
}

/** A 1-based page number or a page size, with its default when absent. */
export function pageParameterOf(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = /^\d{1,7}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= max)) throw invalid(name, `it must be a whole number from 1 to ${max}`, value);
  return n;
}

/** `EnvType`: 0 development, 1 production. */
export function envTypeOf(value: string): 0 | 1 {
  if (value !== '0' && value !== '1') throw invalid('EnvType', 'it must be 0 (development) or 1 (production)', value);
  return value === '1' ? 1 : 0;
}

/**
 * `Status` as DataWorks scripts send it: `ENABLED` / `DISABLED` (the documented values), or the numbers
 * ListConnections answers with (1 enabled, 2 disabled); the seed's example `0` reads as enabled.
 */
export function statusOf(value: string): Connection['status'] {
  const upper = value.trim().toUpperCase();
  if (upper === 'ENABLED' || upper === '1' || upper === '0') return 'active';
  if (upper === 'DISABLED' || upper === '2') return 'disabled';
  throw invalid('Status', 'it must be ENABLED or DISABLED', value);
}

/** `RegionId` is part of every DataWorks call; plugboard has one region, so any well-formed id is accepted. */
export function regionIdOf(value: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(value)) throw invalid('RegionId', 'it must look like cn-shanghai', value);
  return value;
}

/** `Content`: the connection's settings as a JSON object in a string. */
export function contentOf(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseJsonInput(value, '/content');
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new AlibabaError(
      400,
      'InvalidParameter',
      `Specified parameter Content is not valid: it must be a JSON object in a string (${error.message}).`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AlibabaError(
      400,
      'InvalidParameter',
      'Specified parameter Content is not valid: it must be a JSON object such as {"host":"db","port":3306,"username":"u","password":"p"}.',
    );
  }
  return parsed as Record<string, unknown>;
}

/** The common answer of every DataWorks action: `{RequestId, HttpStatusCode, Data, Success}`. */
export function dataworksSuccess(requestId: string, data: unknown) {
  return { RequestId: requestId, HttpStatusCode: 200, Data: data, Success: true };
}

/** ListConnections' filters, all optional. */
export interface ConnectionFilter {
  readonly name?: string;
  readonly type?: string;
  readonly subType?: string;
  readonly envType?: 0 | 1;
  readonly status?: Connection['status'];
}

export function filterOf(parameters: Readonly<Record<string, string>>): ConnectionFilter {
  const given = (name: string) =>
    parameters[name] === undefined || parameters[name] === '' ? undefined : parameters[name];
  const envType = given('EnvType');
  const status = given('Status');
  return {
    name: given('Name')?.toLowerCase(),
    type: given('ConnectionType')?.toLowerCase(),
    subType: given('SubType'),
    envType: envType === undefined ? undefined : envTypeOf(envType),
    status: status === undefined ? undefined : statusOf(status),
  };
}

/** Whether a connection passes ListConnections' filters. `Name` matches part of the name, as DataWorks does. */
export function matches(connection: Connection, filter: ConnectionFilter): boolean {
  return (
    (filter.name === undefined || connection.name.toLowerCase().includes(filter.name)) &&
    (filter.type === undefined || connection.type === filter.type) &&
    // plugboard keeps no subtype: a subtype filter matches nothing.
    filter.subType === undefined &&
    (filter.envType === undefined || connection.envType === filter.envType) &&
    (filter.status === undefined || connection.status === filter.status)
  );
}

const CONNECT_STATUS = { unknown: 0, ok: 1, failing: 2 } as const;

/** One entry of ListConnections' `Connections`: secrets inside `Content` are already masked by the core. */
export function connectionItem(connection: Connection, projectId: number) {
  return {
    Id: connection.id,
    Name: connection.name,
    ConnectionType: connection.type,
    SubType: '',
    Content: JSON.stringify(connection.content),
    Description: connection.description ?? '',
    EnvType: connection.envType,
    Status: connection.status === 'active' ? 1 : 2,
    ConnectStatus: CONNECT_STATUS[connection.health.state],
    ProjectId: projectId,
    TenantId: 1,
    Operator: '',
    Shared: false,
    Sequence: connection.id,
    GmtCreate: connection.createdAt,
    GmtModified: connection.updatedAt,
  };
}
