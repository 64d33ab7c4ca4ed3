import { Type, type TSchema } from '@sinclair/typebox';
import type { AuthSchemeConfig, AuthSchemeConfigInput } from '../../domain/connector.js';
import { compileCheck } from '../../domain/validate.js';
import { ReadOnly, discriminated, prefixed } from './wire.js';

const ConfigBase = {
  id: Type.String({ minLength: 1 }),
  description: Type.Union([Type.String(), Type.Null()]),
  validationMessages: ReadOnly,
};
const Location = Type.Union([Type.Literal('query'), Type.Literal('header'), Type.Literal('cookie')]);
const Url = Type.String({ format: 'uri' });
const config = <P extends Record<string, TSchema>>(schemeType: string, properties: P) =>
  Type.Object({ ...ConfigBase, schemeType: Type.Literal(schemeType), ...properties }, { additionalProperties: false });
const Grant = Type.Union([
  Type.Object(
    {
      grantType: Type.Literal('authorization_code'),
      credentialId: Type.Optional(Type.String()),
      organisationId: Type.Optional(Type.String()),
      clientId: Type.Optional(Type.String()),
      clientSecret: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
  Type.Object({ grantType: Type.Literal('client_credentials') }, { additionalProperties: false }),
  Type.Object(
    {
      grantType: Type.Literal('password'),
      credentialId: Type.Optional(Type.String()),
      organisationId: Type.Optional(Type.String()),
      clientId: Type.Optional(Type.String()),
      clientSecret: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
]);
const configChecks = {
  none: compileCheck(config('none', {})),
  'api-key': compileCheck(config('api-key', { name: Type.String({ minLength: 1 }), in: Location })),
  'basic-auth': compileCheck(config('basic-auth', {})),
  oauth2: compileCheck(
    config('oauth2', {
      authorizeUrl: Url,
      tokenUrl: Url,
      scopes: Type.Array(
        Type.Object(
          { name: Type.String(), description: Type.Optional(Type.String()) },
          { additionalProperties: false },
        ),
      ),
      defaultScopes: Type.Array(Type.String()),
      additionalAuthorizeParams: Type.Optional(Type.String()),
      additionalTokenParams: Type.Optional(Type.String()),
      mtlsEnabled: Type.Optional(Type.Boolean()),
      mtlsCredentialId: Type.Optional(Type.String()),
      grant: Grant,
    }),
  ),
  hmac: compileCheck(
    config('hmac', {
      name: Type.String({ minLength: 1 }),
      in: Location,
      algorithm: Type.Union([Type.Literal('sha1'), Type.Literal('sha256'), Type.Literal('sha512')]),
      digestInputs: Type.Array(Type.Union([Type.Literal('body'), Type.Literal('url')])),
    }),
  ),
  certificate: compileCheck(config('certificate', {})),
};

/** A Versori AuthSchemeConfig as the core's config: scheme-specific fields go into `config`. */
export function decodeAuthSchemeConfig(body: unknown, pathPrefix = ''): AuthSchemeConfigInput {
  try {
    const checked = discriminated<Record<string, unknown>>(body, 'schemeType', configChecks);
    const { id, description, schemeType, ...settings } = checked;
    delete settings.validationMessages; // read-only: sent back from a GET, never stored
    return {
      id: id as string,
      schemeType: schemeType as AuthSchemeConfigInput['schemeType'],
      description: (description as string | null) ?? null,
      config: settings,
    };
  } catch (error) {
    throw prefixed(error, pathPrefix);
  }
}

export function authSchemeConfigOut(config: AuthSchemeConfig) {
  return {
    ...config.config,
    id: config.id,
    description: config.description ?? '',
    schemeType: config.schemeType,
    validationMessages: config.validationMessages.map((text) => ({ text, severity: 'warning' as const })),
  };
}
