import type { ConnectRequestRow, ConnectionTokenRow } from './schema.js';
import type { Executor, Tx } from './engine.js';

/** A token row as read: ids as numbers on both engines (PostgreSQL hands bigint back as text). */
export type TokenRow = ConnectionTokenRow;

const toTokenRow = (row: ConnectionTokenRow): TokenRow => ({
  ...row,
  connection_id: Number(row.connection_id),
  refresh_count: Number(row.refresh_count),
  version: Number(row.version),
});

/** The token row of a connection; with `forUpdate` (PostgreSQL) the row stays locked until the transaction ends. */
export async function findTokens(
  db: Executor,
  connectionId: number,
  options: { forUpdate?: boolean } = {},
): Promise<TokenRow | undefined> {
  let query = db.selectFrom('connection_tokens').selectAll().where('connection_id', '=', connectionId);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row && toTokenRow(row);
}

/** The token rows of some connections (for list views). */
export async function findTokensOf(db: Executor, connectionIds: readonly number[]): Promise<TokenRow[]> {
  if (connectionIds.length === 0) return [];
  const rows = await db
    .selectFrom('connection_tokens')
    .selectAll()
    .where('connection_id', 'in', [...connectionIds])
    .execute();
  return rows.map(toTokenRow);
}

/** Stores a connection's tokens as a connect flow (or a first client-credentials fetch) got them. */
export async function putTokens(tx: Tx, row: TokenRow): Promise<void> {
  await tx
    .insertInto('connection_tokens')
    .values(row)
    .onConflict((oc) =>
      oc.column('connection_id').doUpdateSet({
        scheme_type: row.scheme_type,
        tokens: row.tokens,
        api_origin: row.api_origin,
        scope: row.scope,
        expires_at: row.expires_at,
        state: row.state,
        connected_at: row.connected_at,
        connected_by: row.connected_by,
        user_id: row.user_id,
        last_refresh_at: row.last_refresh_at,
        last_error: row.last_error,
        last_error_at: row.last_error_at,
        reconnect_link_id: null,
        version: (eb) => eb('connection_tokens.version', '+', 1),
        updated_at: row.updated_at,
      }),
    )
    .execute();
}

/** Changes a token row in place; `version` moves when the tokens do. */
export async function updateTokens(
  tx: Tx,
  connectionId: number,
  changes: Partial<Omit<TokenRow, 'connection_id' | 'workspace_id' | 'connection_uid'>>,
): Promise<void> {
  await tx.updateTable('connection_tokens').set(changes).where('connection_id', '=', connectionId).execute();
}

/** How many connections are in each state, for the metrics. */
export async function countTokenStates(db: Executor): Promise<{ state: string; count: number }[]> {
  const rows = await db
    .selectFrom('connection_tokens')
    .select((eb) => ['state', eb.fn.countAll<number | string>().as('count')])
    .groupBy('state')
    .execute();
  return rows.map((r) => ({ state: r.state, count: Number(r.count) }));
}

export async function insertConnectRequest(tx: Tx, row: ConnectRequestRow): Promise<void> {
  await tx.insertInto('oauth_connect_requests').values(row).execute();
}

export async function findConnectRequest(db: Executor, id: string): Promise<ConnectRequestRow | undefined> {
  const row = await db.selectFrom('oauth_connect_requests').selectAll().where('id', '=', id).executeTakeFirst();
  return row && { ...row, connection_id: Number(row.connection_id) };
}

/**
 * Marks a request used, if it was not yet: true for the one caller that used it. Two callbacks with the same
 * state (a replay, a double click) race here and only one wins.
 */
export async function useConnectRequest(tx: Tx, id: string, now: string): Promise<boolean> {
  const result = await tx
    .updateTable('oauth_connect_requests')
    .set({ used_at: now })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Drops requests that expired before `before`, used or not. */
export async function purgeConnectRequests(tx: Tx, before: string): Promise<void> {
  await tx.deleteFrom('oauth_connect_requests').where('expires_at', '<', before).execute();
}
