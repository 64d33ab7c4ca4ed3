import { createHash } from 'node:crypto';
import { DomainError, conflict } from '../domain/errors.js';
import * as records from '../storage/idempotency-repo.js';
import type { StoredResponse } from '../storage/idempotency-repo.js';
import type { Writer } from '../storage/writer.js';
import type { Clock } from './clock.js';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** A claim this old whose request never answered belongs to a process that died: another request may take it. */
export const ABANDONED_CLAIM_MS = 5 * 60 * 1000;

/** What to do with a request that carries an Idempotency-Key. */
export type IdempotencyOutcome =
  | { readonly kind: 'proceed'; readonly scopeKey: string }
  | { readonly kind: 'replay'; readonly response: StoredResponse };

export interface IdempotentRequest {
  readonly principalId: string;
  readonly method: string;
  readonly path: string;
  readonly key: string;
  /** The body as received; the same key with a different body is refused. */
  readonly body: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Idempotency keys (draft-ietf-httpapi-idempotency-key-header): the first response to a key is kept for
 * 24 hours and replayed to every retry with the same body, so a retried write happens once. Keys are scoped
 * to the caller, the method and the path. Records live in the store, so any node can replay them.
 */
export function createIdempotencyService(deps: { writer: Writer; clock: Clock }) {
  const { writer, clock } = deps;

  return {
    async begin(request: IdempotentRequest): Promise<IdempotencyOutcome> {
      const scopeKey = sha256([request.principalId, request.method, request.path, request.key].join('\n'));
      const requestHash = sha256(request.body);
      const now = clock.now();
      const expiresAt = new Date(Date.parse(now) + IDEMPOTENCY_TTL_MS).toISOString();
      const existing = await writer.write((tx) => records.claimKey(tx, { scopeKey, requestHash, now, expiresAt }));
      if (!existing) return { kind: 'proceed', scopeKey };
      if (existing.requestHash !== requestHash) {
        throw new DomainError(
          'idempotency-mismatch',
          'This Idempotency-Key was already used with a different request body; use a new key for a new request.',
        );
      }
      if (existing.response) return { kind: 'replay', response: existing.response };
      const abandoned = Date.parse(now) - Date.parse(existing.createdAt) > ABANDONED_CLAIM_MS;
      if (abandoned && (await writer.write((tx) => records.takeOverKey(tx, scopeKey, existing.createdAt, now)))) {
        return { kind: 'proceed', scopeKey };
      }
      throw conflict('A request with this Idempotency-Key is still being processed; retry it in a moment.');
    },

    /** Keeps the response for replay. */
    complete: (scopeKey: string, response: StoredResponse) =>
      writer.write((tx) => records.completeKey(tx, scopeKey, response)),

    /** Frees the key when the request failed in a way a retry may not (a 5xx, an aborted connection). */
    release: (scopeKey: string) => writer.write((tx) => records.releaseKey(tx, scopeKey)),

    purgeExpired: () => writer.write((tx) => records.deleteExpiredKeys(tx, clock.now())),
  };
}

export type IdempotencyService = ReturnType<typeof createIdempotencyService>;
