import { createHash, randomBytes } from 'node:crypto';
import { conflict, DomainError, notFound, validationFailed } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { decodeCursor, encodeCursor, type Page, type PageRequest } from '../domain/page.js';
import { canGrant, type Role } from '../domain/permissions.js';
import { AcceptInvitationInput, InvitationInput, normalizeEmail } from '../domain/user.js';
import { compileCheck } from '../domain/validate.js';
import type { Db } from '../storage/database.js';
import * as principals from '../storage/principal-repo.js';
import * as users from '../storage/user-repo.js';
import type { InvitationRecord } from '../storage/user-repo.js';
import type { Writer } from '../storage/writer.js';
import { isUniqueViolation } from '../storage/write-conflicts.js';
import { recordChange } from './audit-service.js';
import { authorize } from './authorize.js';
import { writeWithRetry } from './write-retry.js';
import type { Actor } from './actor.js';
import type { Clock } from './clock.js';
import { hashPassword } from './passwords.js';
import { insertNewUser } from './user-service.js';

export const INVITATION_PREFIX = 'pbi_';

const checkInvitation = compileCheck(InvitationInput);
const checkAccept = compileCheck(AcceptInvitationInput);
const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/** A new invitation; its token (in `url`) exists only in this return value. */
export interface IssuedInvitation {
  readonly invitation: InvitationRecord;
  readonly token: string;
  /** The one-time link to send the person: opening it lets them choose a password and join. */
  readonly url: string;
}

/** Why an invitation link cannot be used, in words for the person who opened it. */
const UNUSABLE =
  'This invitation link is not valid: it was already used, has expired or was withdrawn. Ask for a new one.';

export function createInvitationService(deps: {
  db: Db;
  writer: Writer;
  clock: Clock;
  ttlSeconds: number;
  /** The origin people reach this server at (PUBLIC_URL, else the one the caller addressed). */
  baseUrlOf: (requestOrigin: string | undefined) => string;
}) {
  const { db, writer, clock } = deps;

  /** An invitation that may still be accepted, by its token; throws the one `not-found` otherwise. */
  async function usable(token: string): Promise<InvitationRecord> {
    const found =
      token.startsWith(INVITATION_PREFIX) && token.length < 200
        ? await users.findInvitationByHash(db.kysely, digest(token))
        : undefined;
    if (!found || found.acceptedAt !== null || Date.parse(found.expiresAt) <= Date.parse(clock.now())) {
      throw new DomainError('not-found', UNUSABLE);
    }
    return found;
  }

  return {
    /** Invites someone to the workspace with a role no higher than the caller's own. */
    async create(actor: Actor, workspaceId: string, body: unknown): Promise<IssuedInvitation> {
      authorize(actor, 'member:manage', workspaceId);
      const input = checkInvitation(body);
      if (!canGrant(actor.principal.roles.get(workspaceId)!, input.role)) {
        throw validationFailed([{ path: '/role', message: 'is above your own role in this workspace' }]);
      }
      const token = `${INVITATION_PREFIX}${randomBytes(32).toString('base64url')}`;
      return writer.write(async (tx) => {
        const now = clock.now();
        const row = {
          id: newId('inv'),
          workspace_id: workspaceId,
          token_hash: digest(token),
          email: normalizeEmail(input.email),
          display_name: input.displayName ?? null,
          role: input.role,
          created_by: actor.principal.id,
          created_at: now,
          expires_at: new Date(Date.parse(now) + deps.ttlSeconds * 1000).toISOString(),
          accepted_at: null,
          accepted_by: null,
        };
        await users.insertInvitation(tx, row);
        await recordChange(
          tx,
          actor,
          {
            workspaceId,
            action: 'invitation:create',
            resourceType: 'invitation',
            resourceId: row.id,
            fields: ['email', 'role'],
          },
          now,
        );
        const invitation = (await users.findInvitation(tx, workspaceId, row.id))!;
        return { invitation, token, url: `${deps.baseUrlOf(actor.requestOrigin)}/auth/invitations/${token}` };
      });
    },

    async list(actor: Actor, workspaceId: string, request: PageRequest): Promise<Page<InvitationRecord>> {
      authorize(actor, 'member:manage', workspaceId);
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, 'string');
      const rows = await users.listInvitations(db.kysely, workspaceId, after, request.limit + 1);
      const items = rows.slice(0, request.limit);
      return { items, nextCursor: rows.length > request.limit ? encodeCursor(items[items.length - 1]!.id) : null };
    },

    /** Withdraws an invitation; its link stops working. */
    async revoke(actor: Actor, workspaceId: string, id: string): Promise<void> {
      authorize(actor, 'member:manage', workspaceId);
      await writeWithRetry(writer, async (tx) => {
        if (!(await users.deleteInvitation(tx, workspaceId, id))) throw notFound(`Invitation "${id}"`);
        await recordChange(
          tx,
          actor,
          { workspaceId, action: 'invitation:delete', resourceType: 'invitation', resourceId: id, fields: [] },
          clock.now(),
        );
      });
    },

    /** What the link's page shows before it is accepted: the workspace, the role and the address invited. */
    async describe(token: string): Promise<Pick<InvitationRecord, 'workspaceId' | 'email' | 'displayName' | 'role'>> {
      const { workspaceId, email, displayName, role } = await usable(token);
      return { workspaceId, email, displayName, role };
    },

    /**
     * Accepts an invitation once: creates the user with the chosen password and makes them a member. If a user
     * with the invited email exists already, they only become a member (their password is not touched: a link
     * must not let its holder take over an existing account).
     */
    async accept(
      token: string,
      body: unknown,
      requestId: string,
    ): Promise<{ userId: string; email: string; workspaceId: string; role: Role; isNewUser: boolean }> {
      const input = checkAccept(body);
      await usable(token);
      const passwordHash = await hashPassword(input.password);
      try {
        return await writer.write(async (tx) => {
          const invitation = await users.findInvitationByHash(tx, digest(token));
          const now = clock.now();
          if (!invitation || invitation.acceptedAt !== null || Date.parse(invitation.expiresAt) <= Date.parse(now)) {
            throw new DomainError('not-found', UNUSABLE);
          }
          const existing = await users.findUserByEmail(tx, invitation.email);
          const user =
            existing?.user ??
            (await insertNewUser(tx, { email: invitation.email, displayName: input.displayName, passwordHash }, now));
          // Single use: only the first of two racing accepts marks it; the other's transaction is rolled back.
          if (!(await users.markInvitationAccepted(tx, invitation.id, user.id, now)))
            throw new DomainError('not-found', UNUSABLE);
          const role = invitation.role as Role;
          const current = await principals.findMember(tx, invitation.workspaceId, user.id);
          if (current === undefined || !canGrant(current.role, role)) {
            await principals.upsertMembership(tx, invitation.workspaceId, user.id, role, now);
          }
          const actor = {
            principal: { id: user.id, name: user.displayName, status: 'active' as const, roles: new Map() },
            requestId,
          };
          await recordChange(
            tx,
            actor,
            {
              workspaceId: invitation.workspaceId,
              action: 'invitation:accept',
              resourceType: 'member',
              resourceId: user.id,
              fields: ['role'],
            },
            now,
          );
          return {
            userId: user.id,
            email: user.email,
            workspaceId: invitation.workspaceId,
            role,
            isNewUser: existing === undefined,
          };
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict('The invitation is being accepted right now; reload the page.');
        throw error;
      }
    },
  };
}

export type InvitationService = ReturnType<typeof createInvitationService>;
