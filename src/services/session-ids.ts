import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * What a gateway session id carries: who opened it, for which toolset, and until when it is good. The uids
 * make it good for those very resources only: not for a toolset or client created later under the same names.
 */
export interface SessionClaims {
  readonly workspaceId: string;
  readonly toolset: string;
  readonly toolsetUid: string;
  readonly clientId: string;
  readonly clientUid: string;
  readonly protocolVersion: string;
  /** The client declared URL-mode elicitation at initialize (MCP 2025-11-25): it can be sent to a connect link. */
  readonly elicitsUrl?: true;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
}

/** Signing keys by id: the first signs, every one verifies (so a master-key rotation does not end sessions). */
export interface SessionKeys {
  readonly activeKeyId: string;
  key(id: string): Buffer | undefined;
}

const mac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest('base64url');

/**
 * Session ids that any node can check on its own: `<key id>.<claims, base64url JSON>.<HMAC-SHA256>`, with a
 * random part so that no two are alike. Only visible ASCII, as MCP requires of a session id.
 */
export function createSessionIds(keys: SessionKeys) {
  return {
    issue(claims: SessionClaims): string {
      const key = keys.key(keys.activeKeyId)!;
      const body = Buffer.from(JSON.stringify({ ...claims, n: randomBytes(12).toString('base64url') })).toString(
        'base64url',
      );
      const signed = `${keys.activeKeyId}.${body}`;
      return `${signed}.${mac(key, signed)}`;
    },
    /** The claims of a well-formed id with a valid signature, else undefined; expiry is the caller's to check. */
    verify(id: string): SessionClaims | undefined {
      if (id.length > 2048) return undefined;
      const last = id.lastIndexOf('.');
      const first = id.indexOf('.');
      if (first <= 0 || last === first) return undefined;
      const key = keys.key(id.slice(0, first));
      if (!key) return undefined;
      const given = Buffer.from(id.slice(last + 1));
      const expected = Buffer.from(mac(key, id.slice(0, last)));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      try {
        const claims = JSON.parse(
          Buffer.from(id.slice(first + 1, last), 'base64url').toString('utf8'),
        ) as SessionClaims;
        return typeof claims.expiresAt === 'number' ? claims : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

export type SessionIds = ReturnType<typeof createSessionIds>;

/** What the store keeps of an ended session: a digest, never the id itself. */
export const sessionHash = (id: string) => createHash('sha256').update(id).digest('hex');
