import { sql, type OnConflictBuilder, type RawBuilder } from 'kysely';
import { createBatchedCalls } from './batched-calls.js';
import { compiledOnce, compiledPerDialect } from './compiled-once.js';
import type { Db } from './database.js';
import type { Executor } from './engine.js';
import type { Database } from './schema.js';
import type { Writer } from './writer.js';

/** A nonce to record for as long as a replay of its request could pass (the key is the service's hash of it). */
export interface NonceClaim {
  readonly key: string;
  readonly expiresAt: string;
}

/** A nonce already recorded is taken for the new window only if its record had expired by `now`. */
const takingOverExpired = (now: string | RawBuilder<string>) => (oc: OnConflictBuilder<Database, 'request_nonces'>) =>
  oc
    .column('nonce_key')
    .doUpdateSet({ expires_at: (eb) => eb.ref('excluded.expires_at') })
    .where('request_nonces.expires_at', '<=', now);

/**
 * Records a nonce unless a live record of it exists; true when this call recorded it. One statement, atomic by
 * itself (so it needs no transaction): the primary key makes the claim atomic across processes, and a record past
 * its expiry is taken over for the new window (`RETURNING` answers a row only when it was inserted or taken over).
 * Every signed request makes one, so it is compiled once (see {@link compiledPerDialect}).
 */
const claimOne = compiledPerDialect((db, key, expiresAt, now) =>
  db
    .insertInto('request_nonces')
    .values({ nonce_key: key, expires_at: expiresAt })
    .onConflict(takingOverExpired(now))
    .returning('nonce_key'),
);

export async function claimNonce(db: Executor, claim: NonceClaim & { now: string }): Promise<boolean> {
  const { rows } = await claimOne(db, [claim.key, claim.expiresAt, claim.now]);
  return rows.length > 0;
}

/** PostgreSQL: the claims of many requests as {@link claimOne}, in one statement (the keys as parallel arrays). */
const claimFromArrays = compiledOnce((db) =>
  db
    .insertInto('request_nonces')
    .columns(['nonce_key', 'expires_at'])
    .expression(
      db
        .selectFrom(
          sql<{ nonce_key: string; expires_at: string }>`unnest(${[]}::text[], ${[]}::text[])`.as(
            sql`c(nonce_key, expires_at)`,
          ),
        )
        .select(['c.nonce_key', 'c.expires_at']),
    )
    .onConflict(takingOverExpired(sql<string>`${''}`))
    .returning('nonce_key'),
);

/**
 * Claims of many requests at once, each true when it recorded its nonce. A key twice in the batch (one request
 * replayed at once) is sent once: its first claim gets the statement's answer, the others are replays.
 */
export async function claimNonceBatch(db: Executor, claims: readonly NonceClaim[], now: string): Promise<boolean[]> {
  const first = new Map<string, number>();
  claims.forEach((claim, i) => first.has(claim.key) || first.set(claim.key, i));
  const sent = [...first.values()].map((i) => claims[i]!);
  const { rows } = await claimFromArrays(db, [sent.map((c) => c.key), sent.map((c) => c.expiresAt), now]);
  const recorded = new Set((rows as { nonce_key: string }[]).map((row) => row.nonce_key));
  return claims.map((claim, i) => first.get(claim.key) === i && recorded.has(claim.key));
}

/**
 * How a node claims nonces in its store. On SQLite a claim is one more statement of the writer's group commit; on
 * PostgreSQL, where every statement costs a round trip and the server's own work, the claims of concurrent
 * requests go as one statement ({@link claimNonceBatch}).
 */
export function createNonceClaims(db: Db, writer: Writer, now: () => string): (claim: NonceClaim) => Promise<boolean> {
  if (db.engine === 'sqlite') return (claim) => writer.write((tx) => claimNonce(tx, { ...claim, now: now() }));
  return createBatchedCalls<NonceClaim, boolean>({
    maxBatch: 256,
    inFlight: 2,
    run: (claims) => claimNonceBatch(db.kysely, claims, now()),
  });
}

export async function deleteExpiredNonces(db: Executor, now: string): Promise<void> {
  await db.deleteFrom('request_nonces').where('expires_at', '<=', now).execute();
}
