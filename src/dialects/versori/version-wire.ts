import { Type, type Static } from '@sinclair/typebox';
import type { ConnectorVersion } from '../../domain/connector.js';
import { validationFailed } from '../../domain/errors.js';
import { compileCheck } from '../../domain/validate.js';
import { OptionalText, ReadOnly } from './wire.js';

export const decodeVersionCreate = compileCheck(
  Type.Object(
    { name: Type.String(), fromVersion: Type.Optional(Type.String({ minLength: 1 })) },
    { additionalProperties: false },
  ),
);

const VersionUpdate = Type.Object(
  {
    id: Type.Optional(Type.String()),
    name: Type.String(),
    description: OptionalText,
    isLatest: Type.Optional(Type.Boolean()),
    isDefault: Type.Optional(Type.Boolean()),
    createdAt: Type.Optional(Type.String()),
    updatedAt: ReadOnly,
    publishedAt: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    messages: ReadOnly,
  },
  { additionalProperties: false },
);
export const decodeVersionUpdate = compileCheck(VersionUpdate);
export type VersionUpdate = Static<typeof VersionUpdate>;

/** A version update may send the read-only fields back, but not change them. */
export function checkVersionReadOnly(current: ConnectorVersion, body: VersionUpdate): void {
  const errors: { path: string; message: string }[] = [];
  if (body.id !== undefined && body.id !== current.id) errors.push({ path: '/id', message: 'is read-only' });
  if (body.createdAt !== undefined && Date.parse(body.createdAt) !== Date.parse(current.createdAt))
    errors.push({ path: '/createdAt', message: 'is read-only' });
  const publishedAt = body.publishedAt === undefined ? current.publishedAt : body.publishedAt;
  if (
    (publishedAt === null) !== (current.publishedAt === null) ||
    (publishedAt !== null && Date.parse(publishedAt) !== Date.parse(current.publishedAt!))
  ) {
    errors.push({ path: '/publishedAt', message: 'is read-only: use …/publish or …/unpublish' });
  }
  if (errors.length > 0) throw validationFailed(errors);
}

export const versionOut = (v: ConnectorVersion) => ({
  id: v.id,
  name: v.name,
  description: v.description ?? '',
  isLatest: v.isLatest,
  isDefault: v.isDefault,
  createdAt: v.createdAt,
  updatedAt: v.updatedAt,
  publishedAt: v.publishedAt,
});
