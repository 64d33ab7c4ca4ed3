import type { Executor } from './engine.js';

/**
 * Records a nonce unless a live record of it exists; true when this call recorded it. The primary key makes
 * the claim atomic across processes; a record past its expiry is replaced.
 */
export async function claimNonce(
  db: Executor,
  claim: { key: string; now: string; expiresAt: string },
): Promise<boolean> {
  await db
    .deleteFrom('request_nonces')
    .where('nonce_key', '=', claim.key)
    .where('expires_at', '<=', claim.now)
    .execute();
  const inserted = await db
    .insertInto('request_nonces')
    .values({ nonce_key: claim.key, expires_at: claim.expiresAt })
    .onConflict((oc) => oc.column('nonce_key').doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function deleteExpiredNonces(db: Executor, now: string): Promise<void> {
  await db.deleteFrom('request_nonces').where('expires_at', '<=', now).execute();
}
