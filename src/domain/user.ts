import { Type } from '@sinclair/typebox';
import { ROLES } from './permissions.js';

/** Who signed in, as the edges and the authorization server see a user. */
export interface SignedInUser {
  /** The user's id, which is also its principal's id (`usr_…`). */
  readonly userId: string;
  readonly email: string;
  readonly displayName: string;
}

/** An email address as plugboard compares them: trimmed and in lower case. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** One `@` with something on each side and no spaces or control characters; at most 254 characters (RFC 5321). */
export const Email = Type.String({
  minLength: 3,
  maxLength: 254,
  pattern: '^[^\\s@\\x00-\\x1f]+@[^\\s@\\x00-\\x1f]+$',
});

/** What people see in the console and the audit: 1–128 characters, no control characters. */
export const DisplayName = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\x00-\\x1f\\x7f]+$' });

export const Password = Type.String({
  minLength: 10,
  maxLength: 1024,
  description: 'At least 10 characters.',
});

const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));

/** A new user made by an operator (the CLI): a member of one workspace from the start. */
export const NewUserInput = Type.Object(
  { email: Email, displayName: DisplayName, password: Password, role: RoleSchema },
  { additionalProperties: false },
);

/** An invitation to a workspace: who, with which role; they choose their display name and password when accepting. */
export const InvitationInput = Type.Object(
  {
    email: Email,
    displayName: Type.Optional(DisplayName),
    role: RoleSchema,
  },
  { additionalProperties: false },
);

export const AcceptInvitationInput = Type.Object(
  { displayName: DisplayName, password: Password },
  { additionalProperties: false },
);
