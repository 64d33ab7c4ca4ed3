import { parseJsonInput } from '../../../domain/json-input.js';
import { AlibabaError } from '../errors.js';

/** Model Studio's API version these routes speak. */
export const BAILIAN_VERSION = '2023-12-29';

/** Where Model Studio's connector type and file-connector settings live among a plugboard connector's tags. */
export const TYPE_TAG = 'bailian.connectorType';
export const FILE_CONFIG_TAG = 'bailian.fileConnectorConfig';

/** Model Studio's names of plugboard's connector fields, for messages that name the field. */
export function bailianFieldName(path: string): string {
  if (path === '/name') return 'ConnectorName';
  if (path === '/description') return 'Description';
  if (path.startsWith(`/tags/${TYPE_TAG}`)) return 'ConnectorType';
  if (path.startsWith(`/tags/${FILE_CONFIG_TAG}`)) return 'FileConnectorConfig';
  return path.replace(/^\//, '');
}

/** A required form parameter: absent or empty is Model Studio's `Missing<Name>`. */
export function requiredParameter(parameters: Readonly<Record<string, string>>, name: string): string {
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

/** `FileConnectorConfig` is a JSON string of one object or an array of them (SDK versions differ). */
export function fileConnectorConfigOf(value: string | undefined): string[] {
  if (value === undefined || value === '') return [];
  let parsed: unknown;
  try {
    parsed = parseJsonInput(value, '/FileConnectorConfig');
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new AlibabaError(400, 'InvalidParameter', 'FileConnectorConfig must be a JSON object or array of objects.');
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  if (!items.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item))) {
    throw new AlibabaError(400, 'InvalidParameter', 'FileConnectorConfig must be a JSON object or array of objects.');
  }
  return items.map((item) => JSON.stringify(item));
}

/** Every Model Studio answer: `{Code, Data, Message, RequestId, Status, Success}`. */
export function bailianSuccess(requestId: string, data: Record<string, unknown>) {
  return { Code: 'Success', Data: data, Message: 'success', RequestId: requestId, Status: '200', Success: true };
}

/** The connector as GetConnector's `Data`. */
export function connectorData(connector: {
  id: string;
  name: string;
  description: string | null;
  tags: Readonly<Record<string, readonly string[]>>;
}) {
  return {
    ConnectorId: connector.id,
    ConnectorName: connector.name,
    ConnectorType: connector.tags[TYPE_TAG]?.[0] ?? '',
    Description: connector.description ?? '',
  };
}
