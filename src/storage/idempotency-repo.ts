import type { IdempotencyRow } from './schema.js';
import type { Executor } from './engine.js';

export interface StoredResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface IdempotencyRecord {
  readonly requestHash: string;
  readonly state: IdempotencyRow['state'];
  readonly createdAt: string;
  readonly response?: StoredResponse;
}

const toRecord = (row: IdempotencyRow): IdempotencyRecord => ({
  requestHash: row.request_hash,
  state: row.state,
  createdAt: row.created_at,
  response:
    row.state === 'done'
      ? {
          status: row.status!,
          headers: JSON.parse(row.headers ?? '{}') as Record<string, string>,
          body: row.body ?? '',
        }
      : undefined,
});

/**
 * Claims a key for one request: inserts a pending record, or returns the record that already holds the key.
 * The primary key makes the claim atomic across processes.
 */
export async function claimKey(
  db: Executor,
  claim: { scopeKey: string; requestHash: string; now: string; expiresAt: string },
): Promise<IdempotencyRecord | undefined> {
  // A record past its expiry no longer counts; clear it so the key can be claimed again.
  await db
    .deleteFrom('idempotency_records')
    .where('scope_key', '=', claim.scopeKey)
    .where('expires_at', '<=', claim.now)
    .execute();
  const inserted = await db
    .insertInto('idempotency_records')
    .values({
      scope_key: claim.scopeKey,
      request_hash: claim.requestHash,
      state: 'pending',
      status: null,
      headers: null,
      body: null,
      created_at: claim.now,
      expires_at: claim.expiresAt,
    })
    .onConflict((oc) => oc.column('scope_key').doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return undefined;
  const row = await db
    .selectFrom('idempotency_records')
    .selectAll()
    .where('scope_key', '=', claim.scopeKey)
    .executeTakeFirst();
  // Gone between the insert and the read (expired and cleared by another claimer): report it as in progress.
  return row ? toRecord(row) : { requestHash: claim.requestHash, state: 'pending', createdAt: claim.now };
}

export async function completeKey(db: Executor, scopeKey: string, response: StoredResponse): Promise<void> {
  await db
    .updateTable('idempotency_records')
    .set({ state: 'done', status: response.status, headers: JSON.stringify(response.headers), body: response.body })
    .where('scope_key', '=', scopeKey)
    .where('state', '=', 'pending')
    .execute();
}

export async function releaseKey(db: Executor, scopeKey: string): Promise<void> {
  await db.deleteFrom('idempotency_records').where('scope_key', '=', scopeKey).where('state', '=', 'pending').execute();
}

/** Takes over a claim whose request never finished (its process died), if it is still the same stale claim. */
export async function takeOverKey(
  db: Executor,
  scopeKey: string,
  staleCreatedAt: string,
  now: string,
): Promise<boolean> {
  const result = await db
    .updateTable('idempotency_records')
    .set({ created_at: now })
    .where('scope_key', '=', scopeKey)
    .where('state', '=', 'pending')
    .where('created_at', '=', staleCreatedAt)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteExpiredKeys(db: Executor, now: string): Promise<number> {
  const result = await db.deleteFrom('idempotency_records').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
