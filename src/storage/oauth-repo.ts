import type { Executor } from './engine.js';
import type { OAuthGrantRow, OAuthRecordRow } from './schema.js';

/** One stored record of the authorization server: oidc-provider's payload and the fields it is found by. */
export type OAuthRecord = OAuthRecordRow;

export async function upsertRecord(db: Executor, row: OAuthRecord): Promise<void> {
  await db
    .insertInto('oauth_records')
    .values(row)
    .onConflict((c) =>
      c.columns(['model', 'id']).doUpdateSet({
        payload: row.payload,
        grant_id: row.grant_id,
        uid: row.uid,
        user_code: row.user_code,
        expires_at: row.expires_at,
        consumed_at: row.consumed_at,
      }),
    )
    .execute();
}

export async function findRecord(db: Executor, model: string, id: string): Promise<OAuthRecord | undefined> {
  return db.selectFrom('oauth_records').selectAll().where('model', '=', model).where('id', '=', id).executeTakeFirst();
}

export async function findRecordBy(
  db: Executor,
  model: string,
  column: 'uid' | 'user_code',
  value: string,
): Promise<OAuthRecord | undefined> {
  return db
    .selectFrom('oauth_records')
    .selectAll()
    .where('model', '=', model)
    .where(column, '=', value)
    .executeTakeFirst();
}

export async function consumeRecord(db: Executor, model: string, id: string, at: string): Promise<void> {
  await db
    .updateTable('oauth_records')
    .set({ consumed_at: at })
    .where('model', '=', model)
    .where('id', '=', id)
    .execute();
}

export async function deleteRecord(db: Executor, model: string, id: string): Promise<void> {
  await db.deleteFrom('oauth_records').where('model', '=', model).where('id', '=', id).execute();
}

/** Every record of a grant, of every model (a revoked grant takes its codes and refresh tokens with it). */
export async function deleteRecordsOfGrant(db: Executor, grantId: string): Promise<void> {
  await db.deleteFrom('oauth_records').where('grant_id', '=', grantId).execute();
}

export async function purgeExpiredRecords(db: Executor, now: string): Promise<void> {
  await db.deleteFrom('oauth_records').where('expires_at', '<=', now).execute();
}

export async function insertGrant(db: Executor, row: OAuthGrantRow): Promise<void> {
  await db.insertInto('oauth_grants').values(row).execute();
}

export async function findGrant(db: Executor, grantId: string): Promise<OAuthGrantRow | undefined> {
  return db.selectFrom('oauth_grants').selectAll().where('grant_id', '=', grantId).executeTakeFirst();
}

export async function deleteGrant(db: Executor, grantId: string): Promise<boolean> {
  const result = await db.deleteFrom('oauth_grants').where('grant_id', '=', grantId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** A listed grant: its row, its user's display name, and when a token was last issued under it. */
export type ListedGrantRow = OAuthGrantRow & { user_name: string | null; last_token_at: string | null };

/** Grants in creation order (then by id), after a cursor; by workspace or by user. */
export async function listGrants(
  db: Executor,
  filter: { workspaceId?: string; userId?: string },
  after: string | undefined,
  limit: number,
): Promise<ListedGrantRow[]> {
  let query = db
    .selectFrom('oauth_grants')
    .selectAll('oauth_grants')
    .select((eb) => [
      eb
        .selectFrom('principals')
        .select('principals.name')
        .whereRef('principals.id', '=', 'oauth_grants.user_id')
        .as('user_name'),
      // Every access token (first issue and each refresh) is audited against its grant: the client's last use.
      eb
        .selectFrom('audit_events')
        .select((a) => a.fn.max('audit_events.at').as('at'))
        // The grant's workspace first, so that the audit_events_resource index serves the lookup.
        .whereRef('audit_events.workspace_id', '=', 'oauth_grants.workspace_id')
        .where('audit_events.resource_type', '=', 'oauth-grant')
        .where('audit_events.action', '=', 'oauth-token:issue')
        .whereRef('audit_events.resource_id', '=', 'oauth_grants.grant_id')
        .as('last_token_at'),
    ]);
  if (filter.workspaceId !== undefined) query = query.where('workspace_id', '=', filter.workspaceId);
  if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
  if (after !== undefined) query = query.where('grant_id', '>', after);
  return query.orderBy('grant_id').limit(limit).execute();
}

export async function purgeExpiredGrants(db: Executor, now: string): Promise<void> {
  await db.deleteFrom('oauth_grants').where('expires_at', '<=', now).execute();
}
