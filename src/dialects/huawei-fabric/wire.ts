import { Type, type Static } from '@sinclair/typebox';
import { ACCESS_CLIENT_ID_PATTERN, type AccessClient } from '../../domain/access-client.js';

// Field names and limits of the DataArts Fabric access-client pages (seed UpdateAccessClient, wire/huawei-sdk-hmac.md).

export const ClientIdParams = Type.Object({
  client_id: Type.String({ pattern: ACCESS_CLIENT_ID_PATTERN, description: '1–64 letters, digits and hyphens.' }),
});
export type ClientIdParams = Static<typeof ClientIdParams>;

const Name = Type.String({ minLength: 1, maxLength: 64 });
const NetworkId = Type.String({ minLength: 1, maxLength: 64 });

/** PUT /v1/access-clients/{client_id}: only the name can change, and it may be left out. */
export const UpdateBody = Type.Object({ name: Type.Optional(Name) }, { additionalProperties: false });
export type UpdateBody = Static<typeof UpdateBody>;

/**
 * POST /v1/access-clients. In Fabric an access client is a VPC endpoint; plugboard has no network to put it
 * in, so the network fields are checked and echoed back in the answer but mean nothing here.
 */
export const CreateBody = Type.Object(
  {
    name: Name,
    vpc_id: Type.Optional(NetworkId),
    subnet_id: Type.Optional(NetworkId),
    subnet_ids: Type.Optional(Type.Array(NetworkId, { maxItems: 20 })),
    access_connections: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }), { maxItems: 20 })),
  },
  { additionalProperties: false },
);
export type CreateBody = Static<typeof CreateBody>;

export const DEFAULT_LIMIT = 10;

export const ListQuery = Type.Object({
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  name: Type.Optional(Name),
  id: Type.Optional(Type.String({ pattern: ACCESS_CLIENT_ID_PATTERN })),
});
export type ListQuery = Static<typeof ListQuery>;

/** Fabric's lifecycle words; a client plugboard has disabled is not one Fabric can describe, so it says so plainly. */
const STATUS = { active: 'RUNNING', disabled: 'DISABLED' } as const;

/** An access client as Fabric shows it (show, update, and each item of a list). */
export function toFabricClient(client: AccessClient) {
  return {
    id: client.id,
    name: client.name,
    description: client.description,
    status: STATUS[client.status],
    create_time: client.createdAt,
    update_time: client.updatedAt,
  };
}

/** The created client, with the network fields the caller sent and the gateway token it gets this once. */
export function toCreatedClient(client: AccessClient, body: CreateBody, secret: string) {
  return {
    ...toFabricClient(client),
    vpc_id: body.vpc_id ?? null,
    subnet_ids: body.subnet_ids ?? (body.subnet_id === undefined ? [] : [body.subnet_id]),
    access_connections: body.access_connections ?? [],
    secret,
  };
}

export function toFabricList(page: { items: readonly AccessClient[]; total: number }) {
  return { access_client_infos: page.items.map(toFabricClient), total: page.total };
}
