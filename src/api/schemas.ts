import { Type, type TSchema } from '@sinclair/typebox';
import { ACCESS_KEY_KINDS } from '../domain/access-key.js';
import {
  AuthSchemeConfigFields,
  ConnectorCommands,
  ConnectorFields,
  CONNECTOR_STATUSES,
  PROTOCOL_TYPES,
  VersionFields,
} from '../domain/connector.js';
import {
  CONNECTION_STATUSES,
  ConnectionFields,
  ConnectionInput,
  CREDENTIAL_KINDS,
  HEALTH_STATES,
} from '../domain/connection.js';
import { OAUTH_STATES } from '../domain/upstream-oauth.js';
import { Nullable, Slug, Variable } from '../domain/common.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../domain/page.js';
import { ROLES } from '../domain/permissions.js';
import { WorkspaceFields } from '../domain/workspace.js';

const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Timestamp = Type.String({ format: 'date-time' });
const NullableString = Type.Union([Type.String(), Type.Null()]);
const Stored = { createdAt: Timestamp, updatedAt: Timestamp, revision: Type.Integer({ minimum: 1 }) };
/** Server-managed fields a client may send back in a PUT body; they are ignored. */
/** Read-only: minted at creation and never reused, unlike ids and names, which a delete frees for reuse. */
export const Uid = Type.String({
  description:
    'Server-managed and immutable: the resource itself, where its id or name is only an address. A resource deleted and created again under the same id gets another uid.',
});

const Ignored = (names: string[]) =>
  Object.fromEntries(names.map((n) => [n, Type.Optional(Type.Unknown({ description: 'Server-managed; ignored.' }))]));

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    requestId: Type.String(),
    errors: Type.Array(Type.Object({ path: Type.String(), message: Type.String() })),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details.' },
);

export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);

export const pageOf = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: NullableString });

export const WorkspaceView = Type.Object({
  id: Slug,
  uid: Uid,
  ...WorkspaceFields,
  projectId: Type.Integer({ minimum: 1 }),
  ...Stored,
});
export const WorkspacePutBody = Type.Object(
  { ...WorkspaceFields, ...Ignored(['id', 'uid', 'projectId', 'createdAt', 'updatedAt', 'revision']) },
  { additionalProperties: false },
);

export const AuthSchemeConfigView = Type.Object({
  id: Slug,
  schemeType: AuthSchemeConfigFields.schemeType,
  description: NullableString,
  config: Type.Record(Type.String(), Type.Unknown()),
  validationMessages: Type.Array(Type.String()),
});

export const VersionView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: NullableString,
  isLatest: Type.Boolean(),
  isDefault: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  publishedAt: Type.Union([Timestamp, Type.Null()]),
});
export const VersionBody = Type.Object(
  { ...VersionFields, ...Ignored(['id', 'createdAt', 'updatedAt', 'publishedAt']) },
  { additionalProperties: false },
);

export const ConnectorView = Type.Object({
  id: Slug,
  uid: Uid,
  workspaceId: Slug,
  name: Type.String(),
  description: NullableString,
  protocolType: literals(PROTOCOL_TYPES),
  documentationUrl: NullableString,
  iconUrl: NullableString,
  baseUrl: NullableString,
  datasetId: NullableString,
  isPublic: Type.Boolean(),
  tags: Type.Record(Type.String(), Type.Array(Type.String())),
  status: literals(CONNECTOR_STATUSES),
  authSchemeConfigs: Type.Array(AuthSchemeConfigView),
  connectionVariables: Type.Array(Variable),
  versions: Type.Array(VersionView),
  ...Stored,
});
export const ConnectorPutBody = Type.Object(
  {
    ...ConnectorFields,
    ...ConnectorCommands,
    authSchemeConfigs: Type.Optional(Type.Unknown({ description: 'Read-only here: may be echoed back unchanged.' })),
    versions: Type.Optional(Type.Unknown({ description: 'Read-only here: may be echoed back unchanged.' })),
    ...Ignored(['id', 'uid', 'workspaceId', 'createdAt', 'updatedAt', 'revision']),
  },
  { additionalProperties: false },
);
export const AuthSchemeConfigBody = Type.Object(
  { id: Type.Optional(Slug), ...AuthSchemeConfigFields, ...Ignored(['validationMessages']) },
  { additionalProperties: false },
);

export const ConnectionView = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  uid: Uid,
  workspaceId: Slug,
  connectorId: Type.Union([Slug, Type.Null()]),
  name: Type.String(),
  type: Type.String(),
  envType: Type.Union([Type.Literal(0), Type.Literal(1)]),
  description: NullableString,
  status: literals(CONNECTION_STATUSES),
  content: Type.Record(Type.String(), Type.Unknown()),
  variables: Type.Array(Variable),
  credentials: Type.Array(
    Type.Object({
      kind: literals(CREDENTIAL_KINDS),
      authSchemeConfigId: Type.String(),
      secret: Type.Union([Type.Literal('******'), Type.Null()]),
    }),
  ),
  health: Type.Object({
    state: literals(HEALTH_STATES),
    checkedAt: Type.Union([Timestamp, Type.Null()]),
    message: NullableString,
  }),
  oauth: Type.Optional(
    Type.Union([
      Type.Object(
        {
          state: literals(OAUTH_STATES),
          schemeType: Type.Union([Type.Literal('oauth2-code'), Type.Literal('oauth2-client-credentials')]),
          scope: NullableString,
          connectedAt: Timestamp,
          lastRefreshAt: Type.Union([Timestamp, Type.Null()]),
          expiresAt: Type.Union([Timestamp, Type.Null()], { description: 'When the access token expires.' }),
          lastError: Type.Union([Type.String(), Type.Null()], {
            description: 'What went wrong with the last token request, in words (never a secret).',
          }),
          lastErrorAt: Type.Union([Timestamp, Type.Null()]),
        },
        {
          description:
            "Managed OAuth: where the connection's tokens stand (the tokens themselves are never returned). Null until the connection is first connected (or, for client credentials, first used).",
        },
      ),
      Type.Null(),
    ]),
  ),
  ownerUserId: Type.Union([Type.String(), Type.Null()], {
    description:
      'The person this connection belongs to (their user id), or null for a shared connection. Only that person and workspace owners and admins see it; its tokens go only into that person\'s own calls of per-user toolsets (docs/people.md, "Per-user connections").',
  }),
  ...Stored,
});
export const ConnectionPutBody = Type.Object(
  {
    connectorId: Nullable(Slug),
    ...ConnectionFields,
    ownerUserId: ConnectionInput.properties.ownerUserId,
    ...Ignored(['id', 'uid', 'workspaceId', 'health', 'oauth', 'createdAt', 'updatedAt', 'revision']),
  },
  { additionalProperties: false },
);

export const MemberView = Type.Object({
  principalId: Type.String(),
  name: Type.String(),
  kind: literals(['user', 'service']),
  status: literals(['active', 'disabled']),
  role: literals(ROLES),
  createdAt: Timestamp,
  revision: Type.Integer({ description: 'Moves on with every role change; the ETag names it.' }),
});

export const InvitationView = Type.Object({
  id: Type.String(),
  workspaceId: Type.String(),
  email: Type.String(),
  displayName: NullableString,
  role: literals(ROLES),
  createdBy: Type.String({ description: 'The principal who invited.' }),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  acceptedAt: Type.Union([Timestamp, Type.Null()]),
  acceptedBy: Type.Union([Type.String({ description: 'The user who accepted.' }), Type.Null()]),
});

export const ApiKeyView = Type.Object({
  id: Type.String(),
  principalId: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the key, to recognise it.' }),
  defaultWorkspaceId: NullableString,
  createdAt: Timestamp,
});

export const AccessKeyView = Type.Object({
  id: Type.String({ description: 'The AccessKey id (alibaba) or AK (huawei); it names the key in signed requests.' }),
  kind: literals(ACCESS_KEY_KINDS),
  name: Type.String(),
  principalId: Type.String(),
  defaultWorkspaceId: NullableString,
  status: literals(['active', 'disabled']),
  createdAt: Timestamp,
  revision: Type.Integer({ description: 'Moves on with every rename, disabling or enabling; the ETag names it.' }),
});

export const TokenView = Type.Object({
  id: Type.String(),
  principalId: Type.String(),
  defaultWorkspaceId: NullableString,
  createdAt: Timestamp,
  expiresAt: Timestamp,
});

/** A merge-patch body: any JSON object; the service validates the merged result. */
export const MergePatchBody = Type.Record(Type.String(), Type.Unknown(), { description: 'RFC 7396 JSON merge patch.' });

export const AuditEventView = Type.Object({
  id: Type.Integer(),
  at: Timestamp,
  principalId: Type.String(),
  principalName: Type.Union([Type.String(), Type.Null()], {
    description: "Who acted, by name as it is now: a user's display name or a key's name; null once deleted.",
  }),
  workspaceId: Type.String(),
  action: Type.String({ description: 'e.g. connector:update' }),
  resourceType: Type.String(),
  resourceId: Type.String(),
  requestId: Type.String(),
  fromRevision: Type.Union([Type.Integer(), Type.Null()]),
  toRevision: Type.Union([Type.Integer(), Type.Null()]),
  changedFields: Type.Array(Type.String(), { description: 'Names of the fields that changed; never their values.' }),
  client: Type.Union(
    [
      Type.Object({
        id: Type.String({ description: "The OAuth client's id (a registered id or a metadata document's URL)." }),
        name: Type.Union([Type.String(), Type.Null()], {
          description:
            'Its name as a grant of the workspace records it now, else as it was when the event was recorded.',
        }),
      }),
      Type.Null(),
    ],
    {
      description:
        'The OAuth client a user acted through (a tool call with an OAuth token, a grant, a token issued); null otherwise.',
    },
  ),
});
