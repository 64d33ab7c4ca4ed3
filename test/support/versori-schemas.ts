// JSON Schemas of Versori Connect API v1 responses, written from Versori's published API document (Connector,
// Connection, ConnectorVersion, the page types and Error). Stricter than the document in one way: objects
// refuse fields the document does not define, so no plugboard-only field leaks into a Versori body.
import { createAjv } from '../../src/domain/validate.js';

const dateTime = { type: 'string', format: 'date-time' };
const str = { type: 'string' };
const closed = (properties: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

const Message = closed(
  { text: str, severity: { enum: ['info', 'warning', 'error'] }, detail: { type: 'array', items: str } },
  ['text', 'severity'],
);
const configBase = { id: str, description: str, validationMessages: { type: 'array', items: Message } };
const scheme = (schemeType: string, properties: Record<string, unknown> = {}, required: string[] = []) =>
  closed({ ...configBase, schemeType: { const: schemeType }, ...properties }, [
    'id',
    'description',
    'schemeType',
    ...required,
  ]);
const location = { enum: ['query', 'header', 'cookie'] };
const grant = {
  oneOf: [
    closed(
      {
        grantType: { const: 'authorization_code' },
        credentialId: str,
        organisationId: str,
        clientId: str,
        clientSecret: str,
      },
      ['grantType'],
    ),
    closed({ grantType: { const: 'client_credentials' } }, ['grantType']),
    closed(
      { grantType: { const: 'password' }, credentialId: str, organisationId: str, clientId: str, clientSecret: str },
      ['grantType'],
    ),
  ],
};
export const AuthSchemeConfig = {
  oneOf: [
    scheme('none'),
    scheme('api-key', { name: str, in: location }, ['name', 'in']),
    scheme('basic-auth'),
    scheme(
      'oauth2',
      {
        authorizeUrl: { type: 'string', format: 'uri' },
        tokenUrl: { type: 'string', format: 'uri' },
        scopes: { type: 'array', items: closed({ name: str, description: str }, ['name']) },
        defaultScopes: { type: 'array', items: str },
        additionalAuthorizeParams: str,
        additionalTokenParams: str,
        mtlsEnabled: { type: 'boolean' },
        mtlsCredentialId: str,
        grant,
      },
      ['authorizeUrl', 'tokenUrl', 'scopes', 'defaultScopes', 'grant'],
    ),
    scheme(
      'hmac',
      {
        name: str,
        in: location,
        algorithm: { enum: ['sha1', 'sha256', 'sha512'] },
        digestInputs: { type: 'array', items: { enum: ['body', 'url'] } },
      },
      ['name', 'in', 'algorithm', 'digestInputs'],
    ),
    scheme('certificate'),
  ],
};
const Variable = closed({ name: str, value: str }, ['name', 'value']);
const Credential = closed(
  {
    id: str,
    organisationId: str,
    type: {
      enum: [
        'none',
        'string',
        'binary',
        'basic-auth',
        'oauth2-client',
        'oauth2-code',
        'oauth2-password',
        'oauth2-token',
        'custom-function',
        'certificate',
        'jwt-bearer',
      ],
    },
    name: str,
    usages: { type: 'array' },
    errors: { type: 'array', items: str },
    // Secrets are redacted on read: a string credential shows only the mask.
    data: { type: 'object', properties: { value: { const: '******' }, valueBase64: { const: '******' } } },
    expiresAt: dateTime,
  },
  ['id', 'organisationId', 'type', 'name', 'data'],
);
const ConnectionCredential = closed({ id: str, authSchemeConfig: AuthSchemeConfig, credential: Credential }, [
  'id',
  'authSchemeConfig',
  'credential',
]);
export const Connection = closed(
  {
    id: str,
    name: str,
    credentials: {
      ...closed(
        {
          action: { type: 'array', items: ConnectionCredential },
          trigger: { type: 'array', items: ConnectionCredential },
        },
        [],
      ),
      minProperties: 1,
    },
    variables: { type: 'array', items: Variable },
    createdAt: dateTime,
    updatedAt: dateTime,
  },
  ['id', 'name', 'credentials', 'variables', 'createdAt', 'updatedAt'],
);
export const ConnectorVersion = closed(
  {
    id: str,
    name: { type: 'string', not: { enum: ['default', 'latest'] } },
    description: str,
    isLatest: { type: 'boolean' },
    isDefault: { type: 'boolean' },
    createdAt: dateTime,
    updatedAt: dateTime,
    publishedAt: { oneOf: [dateTime, { type: 'null' }] },
    messages: { type: 'array', items: Message },
  },
  ['id', 'name', 'isLatest', 'isDefault', 'createdAt', 'updatedAt', 'publishedAt'],
);
const connectorBase = {
  id: str,
  organisationId: str,
  name: str,
  public: { type: 'boolean' },
  documentationURL: str,
  imageURL: str,
  tags: { type: 'object', additionalProperties: { type: 'array', items: str } },
  authSchemeConfigs: { type: 'array', items: AuthSchemeConfig },
  connectionVariables: { type: 'array', items: Variable },
  connections: { type: 'array', items: Connection },
  versions: { type: 'array', items: ConnectorVersion },
  createdAt: dateTime,
  updatedAt: dateTime,
};
const baseRequired = [
  'id',
  'organisationId',
  'name',
  'public',
  'protocol',
  'authSchemeConfigs',
  'connections',
  'versions',
  'createdAt',
  'updatedAt',
];
export const Connector = {
  oneOf: [
    closed({ ...connectorBase, protocol: { const: 'http' }, baseUrl: str }, [...baseRequired, 'baseUrl']),
    closed({ ...connectorBase, protocol: { const: 'bigquery' }, datasetId: str }, [...baseRequired, 'datasetId']),
  ],
};
const pageInfo = { totalCount: { type: 'integer', minimum: 0 }, next: str, prev: str };
export const ConnectorPage = closed({ ...pageInfo, connectors: { type: 'array', items: Connector } }, [
  'totalCount',
  'connectors',
]);
const ConnectionSummary = closed({ id: str, name: str, createdAt: dateTime, updatedAt: dateTime }, [
  'id',
  'name',
  'createdAt',
  'updatedAt',
]);
export const ConnectorConnectionPage = closed({ ...pageInfo, items: { type: 'array', items: ConnectionSummary } }, [
  'totalCount',
]);
export const ConnectorVersionsPage = closed({ ...pageInfo, items: { type: 'array', items: ConnectorVersion } }, [
  'totalCount',
  'items',
]);
export const VersionResponse = closed({ version: ConnectorVersion }, ['version']);
export const VersoriError = closed(
  {
    code: { type: 'string', minLength: 1 },
    message: { type: 'string', minLength: 1 },
    fields: { type: 'array', items: closed({ field: str, message: str }, ['field', 'message']) },
    details: str,
  },
  ['code', 'message'],
);

const ajv = createAjv();
/** Checks a response body against one of the schemas above; fails with Ajv's errors. */
export function conformsTo(schema: object, body: unknown): string | undefined {
  const validate = ajv.compile(schema);
  return validate(body) ? undefined : ajv.errorsText(validate.errors, { separator: '\n' });
}
