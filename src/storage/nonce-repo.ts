import type { Executor } from './engine.js';

/**
 * Records a nonce unless a live record of it exists; true when this call recorded it. One statement, atomic by
 * itself (so it needs no transaction): the primary key makes the claim atomic across processes, and a record past
 * its expiry is taken over for the new window (`RETURNING` answers a row only when it was inserted or taken over).
 */
export async function claimNonce(
  db: Executor,
  claim: { key: string; now: string; expiresAt: string },
): Promise<boolean> {
  const claimed = await db
    .insertInto('request_nonces')
    .values({ nonce_key: claim.key, expires_at: claim.expiresAt })
    .onConflict((oc) =>
      oc
        .column('nonce_key')
        .doUpdateSet({ expires_at: (eb) => eb.ref('excluded.expires_at') })
        .where('request_nonces.expires_at', '<=', claim.now),
    )
    .returning('nonce_key')
    .executeTakeFirst();
  return claimed !== undefined;
}

export async function deleteExpiredNonces(db: Executor, now: string): Promise<void> {
  await db.deleteFrom('request_nonces').where('expires_at', '<=', now).execute();
}
