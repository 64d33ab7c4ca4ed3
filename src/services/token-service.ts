import { createHash, randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { Slug } from '../domain/common.js';
import { forbidden, notFound, unauthenticated } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { compileCheck } from '../domain/validate.js';
import type { Db } from '../storage/database.js';
import * as tokens from '../storage/token-repo.js';
import type { TokenRecord } from '../storage/token-repo.js';
import type { Writer } from '../storage/writer.js';
import { recordChange } from './audit-service.js';
import { authorize } from './authorize.js';
import { writeWithRetry } from './write-retry.js';
import type { Actor, Authenticated } from './actor.js';
import type { Clock } from './clock.js';

export const TOKEN_PREFIX = 'pbt_';
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export const TokenInput = Type.Object(
  {
    ttlSeconds: Type.Optional(
      Type.Integer({
        minimum: 60,
        maximum: 86_400,
        description: `Lifetime in seconds; ${DEFAULT_TOKEN_TTL_SECONDS} when omitted.`,
      }),
    ),
    defaultWorkspaceId: Type.Optional({
      ...Slug,
      description:
        "A workspace you are a member of, for calls that name none; the API key's default workspace when omitted.",
    }),
  },
  { additionalProperties: false },
);
const checkToken = compileCheck(TokenInput);

/** Tokens are 240-bit random values, so, like API keys, a fast digest is enough to store. */
const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** A new token; the plaintext exists only in this return value. */
export interface IssuedToken {
  readonly token: string;
  readonly record: TokenRecord;
}

export function createTokenService(deps: { db: Db; writer: Writer; clock: Clock }) {
  const { db, writer, clock } = deps;

  return {
    /**
     * Issues a short-lived token for the caller's own principal. Only an API key may ask: a token that could
     * mint tokens would never have to expire.
     */
    async issue(actor: Actor, body: unknown): Promise<IssuedToken> {
      const credential = actor.credential;
      if (credential?.kind !== 'api-key')
        throw forbidden('Tokens are issued to API keys only: send "Authorization: Bearer pbk_…".');
      const input = checkToken(body ?? {});
      if (input.defaultWorkspaceId !== undefined) authorize(actor, 'workspace:read', input.defaultWorkspaceId);
      const inherited = credential.defaultWorkspaceId;
      const defaultWorkspaceId =
        input.defaultWorkspaceId ?? (inherited !== null && actor.principal.roles.has(inherited) ? inherited : null);
      const token = `${TOKEN_PREFIX}${randomBytes(30).toString('base64url')}`;
      return writer.write(async (tx) => {
        const now = clock.now();
        const expiresAt = new Date(
          Date.parse(now) + (input.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS) * 1000,
        ).toISOString();
        await tokens.deleteExpiredTokens(tx, actor.principal.id, now);
        const row = {
          id: newId('tok'),
          principal_id: actor.principal.id,
          api_key_id: credential.id,
          token_hash: hashToken(token),
          default_workspace_id: defaultWorkspaceId,
          created_at: now,
          expires_at: expiresAt,
        };
        await tokens.insertToken(tx, row);
        // The audit log is per workspace: a token without a default workspace leaves no event.
        if (defaultWorkspaceId !== null) {
          await recordChange(
            tx,
            actor,
            {
              workspaceId: defaultWorkspaceId,
              action: 'token:create',
              resourceType: 'token',
              resourceId: row.id,
              fields: ['expiresAt'],
            },
            now,
          );
        }
        return {
          token,
          record: { id: row.id, principalId: row.principal_id, defaultWorkspaceId, createdAt: now, expiresAt },
        };
      });
    },

    /** Revokes one of the caller's own tokens; anyone else's does not exist for them. */
    async revoke(actor: Actor, id: string): Promise<void> {
      await writeWithRetry(writer, async (tx) => {
        const token = await tokens.findToken(tx, id);
        if (!token || token.principalId !== actor.principal.id) throw notFound(`Token "${id}"`);
        await tokens.deleteToken(tx, id);
        if (token.defaultWorkspaceId !== null) {
          const change = {
            workspaceId: token.defaultWorkspaceId,
            action: 'token:delete',
            resourceType: 'token',
            resourceId: id,
            fields: [],
          };
          await recordChange(tx, actor, change, clock.now());
        }
      });
    },

    /** Resolves an `X-Auth-Token` to its principal and default workspace; unknown, expired and revoked tokens are refused. */
    async authenticateToken(token: string): Promise<Authenticated> {
      const refused = () => unauthenticated('The token is not valid (unknown, expired or revoked).');
      if (!token.startsWith(TOKEN_PREFIX)) throw refused();
      const found = await tokens.findTokenByHash(db.kysely, hashToken(token));
      if (!found || Date.parse(found.token.expiresAt) <= Date.parse(clock.now())) throw refused();
      if (found.principal.status !== 'active') throw unauthenticated('The principal behind this token is disabled.');
      return {
        principal: found.principal,
        credential: { kind: 'token', id: found.token.id, defaultWorkspaceId: found.token.defaultWorkspaceId },
      };
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
