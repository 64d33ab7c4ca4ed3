import { createHash, createHmac, randomBytes } from 'node:crypto';
import { unauthenticated } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Principal, Role } from '../domain/permissions.js';
import { normalizeEmail, NewUserInput, type SignedInUser } from '../domain/user.js';
import { compileCheck } from '../domain/validate.js';
import type { Db } from '../storage/database.js';
import * as principals from '../storage/principal-repo.js';
import * as users from '../storage/user-repo.js';
import type { UserRecord } from '../storage/user-repo.js';
import type { Tx } from '../storage/engine.js';
import type { Writer } from '../storage/writer.js';
import { recordChange } from './audit-service.js';
import type { Authenticated } from './actor.js';
import type { Clock } from './clock.js';
import { createDecoyHash, hashPassword, verifyPassword } from './passwords.js';

export const SESSION_PREFIX = 'pbs_';
export type { SignedInUser };

/** Sessions and lockout, from the configuration (docs/people.md). */
export interface UserSettings {
  readonly sessionTtlSeconds: number;
  readonly sessionIdleSeconds: number;
  /** Failed sign-ins in a row that lock an account. */
  readonly lockoutAttempts: number;
  readonly lockoutSeconds: number;
}

/** A new session; the plaintext token exists only here (and in the browser's cookie). */
export interface IssuedSession {
  readonly token: string;
  readonly csrfToken: string;
  readonly expiresAt: string;
  readonly user: SignedInUser;
}

/** The one answer to every failed password sign-in, whatever the reason: it must not tell whether the account exists. */
export const SIGN_IN_REFUSED = 'The email address or password is not right (or the account is locked for a while).';

/** Session tokens are 256-bit random values: a fast digest is enough to store. */
const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * The CSRF token of a session: derived from the session token (an HMAC under it), so it needs no storage, is
 * the same on every node, and cannot be computed by anyone who does not hold the cookie.
 */
export function csrfTokenOf(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('plugboard csrf').digest('base64url');
}

const toSignedIn = (user: UserRecord): SignedInUser => ({
  userId: user.id,
  email: user.email,
  displayName: user.displayName,
});

const plusSeconds = (at: string, seconds: number) => new Date(Date.parse(at) + seconds * 1000).toISOString();

/**
 * Creates a user (a principal of kind `user`) with a password and a role in one workspace. Used by the CLI and by
 * accepting an invitation. Throws on a duplicate email (a unique violation the caller words).
 */
export async function insertNewUser(
  tx: Tx,
  input: { email: string; displayName: string; passwordHash: string | null },
  now: string,
): Promise<UserRecord> {
  const id = newId('usr');
  const email = normalizeEmail(input.email);
  await principals.insertPrincipal(tx, {
    id,
    name: input.displayName,
    kind: 'user',
    status: 'active',
    created_at: now,
  });
  await users.insertUser(tx, {
    id,
    email,
    display_name: input.displayName,
    password_hash: input.passwordHash,
    failed_sign_ins: 0,
    locked_until: null,
    created_at: now,
    updated_at: now,
  });
  return { id, email, displayName: input.displayName, status: 'active', createdAt: now };
}

const checkNewUser = compileCheck(NewUserInput);

/** `plugboard users create`: a user with a password and a role in an existing workspace. */
export async function createUserWithPassword(
  writer: Writer,
  clock: Clock,
  workspaceId: string,
  body: unknown,
): Promise<UserRecord & { role: Role }> {
  const input = checkNewUser(body);
  const passwordHash = await hashPassword(input.password);
  return writer.write(async (tx) => {
    const now = clock.now();
    const user = await insertNewUser(tx, { ...input, passwordHash }, now);
    await principals.upsertMembership(tx, workspaceId, user.id, input.role, now);
    const actor = { principal: { id: user.id, name: user.displayName, status: 'active' as const, roles: new Map() } };
    await recordChange(
      tx,
      { ...actor, requestId: 'cli' },
      { workspaceId, action: 'user:create', resourceType: 'user', resourceId: user.id, fields: ['email', 'role'] },
      now,
    );
    return { ...user, role: input.role };
  });
}

export function createUserService(deps: { db: Db; writer: Writer; clock: Clock; settings: UserSettings }) {
  const { db, writer, clock, settings } = deps;
  // Made once, lazily: the hash an unknown email's password is checked against, so it costs what a known one does.
  let decoy: Promise<string> | undefined;
  const decoyHash = () => (decoy ??= createDecoyHash());

  /** A session for a user who just proved who they are. */
  async function openSession(tx: Tx, user: UserRecord, method: 'password' | 'oidc', now: string) {
    const token = `${SESSION_PREFIX}${randomBytes(32).toString('base64url')}`;
    const expiresAt = plusSeconds(now, settings.sessionTtlSeconds);
    await users.insertSession(tx, {
      id: newId('ses'),
      user_id: user.id,
      token_hash: digest(token),
      method,
      created_at: now,
      last_seen_at: now,
      expires_at: expiresAt,
    });
    return { token, csrfToken: csrfTokenOf(token), expiresAt, user: toSignedIn(user) };
  }

  /** Audits a lockout in every workspace the user belongs to (the audit log is per workspace). */
  async function auditLockout(tx: Tx, principal: Principal, requestId: string, now: string) {
    for (const workspaceId of principal.roles.keys()) {
      await recordChange(
        tx,
        { principal, requestId },
        { workspaceId, action: 'user:lock', resourceType: 'user', resourceId: principal.id, fields: ['lockedUntil'] },
        now,
      );
    }
  }

  /**
   * Signs in with email and password. Every failure — unknown email, wrong password, locked account, disabled
   * user — throws the same `unauthenticated` error after the same scrypt work, so that the answer tells nothing
   * about the account. `settings.lockoutAttempts` failures in a row lock the account for `lockoutSeconds`.
   */
  async function signInWithPassword(input: {
    email: string;
    password: string;
    requestId: string;
  }): Promise<IssuedSession> {
    const email = normalizeEmail(input.email);
    const found = email.length > 254 ? undefined : await users.findUserByEmail(db.kysely, email);
    const matches = await verifyPassword(input.password.slice(0, 1024), found?.passwordHash ?? (await decoyHash()));
    if (!found) throw unauthenticated(SIGN_IN_REFUSED);
    const now = clock.now();
    const isLocked = found.lockedUntil !== null && Date.parse(found.lockedUntil) > Date.parse(now);
    if (matches && !isLocked && found.user.status === 'active' && found.passwordHash !== null) {
      return writer.write(async (tx) => {
        if (found.failedSignIns > 0 || found.lockedUntil !== null)
          await users.setSignInFailures(tx, found.user.id, 0, null);
        return openSession(tx, found.user, 'password', now);
      });
    }
    if (!isLocked) {
      await writer.write(async (tx) => {
        // Counted from the row as it is now, so that concurrent failures each count.
        const current = (await users.findUserById(tx, found.user.id))!;
        const failures = current.failedSignIns + 1;
        if (failures < settings.lockoutAttempts) return users.setSignInFailures(tx, found.user.id, failures, null);
        await users.setSignInFailures(tx, found.user.id, 0, plusSeconds(now, settings.lockoutSeconds));
        const principal = await principals.loadPrincipal(tx, {
          id: found.user.id,
          name: found.user.displayName,
          status: found.user.status,
        });
        await auditLockout(tx, principal, input.requestId, now);
      });
    }
    throw unauthenticated(SIGN_IN_REFUSED);
  }

  /** A valid session's user and principal; undefined for an unknown, expired, idle or signed-out one. */
  async function findLiveSession(token: string) {
    if (!token.startsWith(SESSION_PREFIX) || token.length > 200) return undefined;
    const found = await users.findSessionByHash(db.kysely, digest(token));
    if (!found || found.user.status !== 'active') return undefined;
    const now = Date.parse(clock.now());
    const lastSeen = Date.parse(found.session.last_seen_at);
    if (Date.parse(found.session.expires_at) <= now || now - lastSeen >= settings.sessionIdleSeconds * 1000) {
      return undefined;
    }
    // The idle clock is moved forward at most once a minute (or a quarter of the idle time), not on every request.
    if (now - lastSeen >= Math.min(60_000, (settings.sessionIdleSeconds * 1000) / 4)) {
      await writer.write((tx) => users.touchSession(tx, found.session.id, new Date(now).toISOString()));
    }
    return found;
  }

  return {
    signInWithPassword,

    /**
     * Opens a session for a user an external OpenID Connect provider vouched for, matched by verified email only.
     * Undefined when no user has that email (there is no sign-up through the provider).
     */
    async signInWithVerifiedEmail(email: string): Promise<IssuedSession | undefined> {
      const found = await users.findUserByEmail(db.kysely, normalizeEmail(email));
      if (!found || found.user.status !== 'active') return undefined;
      const now = clock.now();
      if (found.lockedUntil !== null && Date.parse(found.lockedUntil) > Date.parse(now)) return undefined;
      return writer.write((tx) => openSession(tx, found.user, 'oidc', now));
    },

    /** The user behind a session cookie; null when the session is unknown, expired, idle too long or signed out. */
    async authenticateSession(sessionToken: string): Promise<SignedInUser | null> {
      const found = await findLiveSession(sessionToken);
      return found ? toSignedIn(found.user) : null;
    },

    /** Like `authenticateSession`, as the native API authenticates a request: the principal and its roles. */
    async authenticateSessionCredential(sessionToken: string): Promise<Authenticated> {
      const found = await findLiveSession(sessionToken);
      if (!found) throw unauthenticated('The session is not valid (expired, signed out or unknown): sign in again.');
      return {
        principal: found.principal,
        credential: { kind: 'session', id: found.session.id, defaultWorkspaceId: null },
      };
    },

    /** Ends a session (sign-out); an unknown token is already signed out. */
    async signOut(sessionToken: string): Promise<void> {
      if (!sessionToken.startsWith(SESSION_PREFIX)) return;
      const found = await users.findSessionByHash(db.kysely, digest(sessionToken));
      if (found) await writer.write((tx) => users.deleteSession(tx, found.session.id));
    },

    /** The user's role in a workspace, or undefined when they are not a member there. */
    async membership(userId: string, workspaceId: string): Promise<Role | undefined> {
      return (await principals.findMember(db.kysely, workspaceId, userId))?.role;
    },

    /** The user's principal with its role in every workspace; undefined for an unknown user. */
    async principalOf(userId: string): Promise<Principal | undefined> {
      const found = await users.findUserById(db.kysely, userId);
      if (!found) return undefined;
      return principals.loadPrincipal(db.kysely, {
        id: userId,
        name: found.user.displayName,
        status: found.user.status,
      });
    },

    /** Deletes sessions past their expiry or idle time (housekeeping; they are refused anyway). */
    async purgeStaleSessions(): Promise<number> {
      const now = clock.now();
      return writer.write((tx) => users.deleteStaleSessions(tx, now, plusSeconds(now, -settings.sessionIdleSeconds)));
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
