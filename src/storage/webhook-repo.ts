import type { DeliveryStatus, Webhook, WebhookDelivery, WebhookEventType } from '../domain/webhook.js';
import type { Engine, Executor, Tx } from './engine.js';
import type { RowStore, RowWrite } from './row-change.js';
import type { WebhookDeliveryRow, WebhookRow } from './schema.js';
import { pairsOf, rowKey } from './row-keys.js';

const toWebhook = (row: WebhookRow): Webhook => ({
  id: row.id,
  workspaceId: row.workspace_id,
  url: row.url,
  description: row.description,
  secret: JSON.parse(row.secret) as string,
  eventTypes: JSON.parse(row.event_types) as WebhookEventType[],
  enabled: Number(row.enabled) === 1,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  revision: Number(row.revision),
});

const toRow = (w: Webhook): WebhookRow => ({
  id: w.id,
  workspace_id: w.workspaceId,
  url: w.url,
  description: w.description,
  secret: JSON.stringify(w.secret),
  event_types: JSON.stringify(w.eventTypes),
  enabled: w.enabled ? 1 : 0,
  created_at: w.createdAt,
  updated_at: w.updatedAt,
  revision: w.revision,
});

export async function insertWebhook(tx: Tx, webhook: Webhook): Promise<void> {
  await tx.insertInto('webhooks').values(toRow(webhook)).execute();
}

/** A webhook of a workspace; with `forUpdate` (PostgreSQL) its row stays locked until the transaction ends. */
export async function findWebhook(
  db: Executor,
  workspaceId: string,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<Webhook | undefined> {
  let query = db.selectFrom('webhooks').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row && toWebhook(row);
}

/** A webhook by id alone, for the dispatcher. */
export async function findWebhookById(db: Executor, id: string): Promise<Webhook | undefined> {
  const row = await db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toWebhook(row);
}

export async function listWebhooks(
  db: Executor,
  workspaceId: string,
  after: string | undefined,
  limit: number,
): Promise<Webhook[]> {
  let query = db.selectFrom('webhooks').selectAll().where('workspace_id', '=', workspaceId);
  if (after !== undefined) query = query.where('id', '>', after);
  return (await query.orderBy('id').limit(limit).execute()).map(toWebhook);
}

/** The enabled webhooks of a workspace (an event's receivers are picked from them). */
export async function listEnabledWebhooks(db: Executor, workspaceId: string): Promise<Webhook[]> {
  const rows = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('enabled', '=', 1)
    .execute();
  return rows.map(toWebhook);
}

/** The key of a webhook for the writer's row changes. */
export const webhookKey = (workspaceId: string, id: string) => rowKey(workspaceId, id);

/**
 * Webhooks for the writer's row changes (`PATCH`): loaded under lock in key order on PostgreSQL, one `UPDATE` per
 * row of a batch. A row is written only over the state it was read from: same revision and same creation time.
 */
export function webhookRows(engine: Engine): RowStore<Webhook> {
  const forUpdate = engine === 'postgres';
  return {
    async load(tx: Tx, keys: readonly string[]): Promise<Map<string, Webhook>> {
      const pairs = pairsOf(keys);
      let query = tx
        .selectFrom('webhooks')
        .selectAll()
        .where((eb) =>
          eb(
            eb.refTuple('workspace_id', 'id'),
            'in',
            pairs.map(([workspaceId, id]) => eb.tuple(workspaceId, id)),
          ),
        )
        // Key order: two batches wanting the same rows lock them in the same order, so neither waits on the other.
        .orderBy('workspace_id')
        .orderBy('id');
      if (forUpdate) query = query.forUpdate();
      const rows = await query.execute();
      return new Map(rows.map((row) => [webhookKey(row.workspace_id, row.id), toWebhook(row)]));
    },

    async store(tx: Tx, changes: readonly RowWrite<Webhook>[]): Promise<number> {
      let written = 0;
      for (const { row, stored } of changes) {
        const { id, workspace_id, created_at: _created, ...columns } = toRow(row);
        const result = await tx
          .updateTable('webhooks')
          .set(columns)
          .where('workspace_id', '=', workspace_id)
          .where('id', '=', id)
          .where('revision', '=', stored.revision)
          .where('created_at', '=', stored.createdAt)
          .executeTakeFirst();
        written += Number(result.numUpdatedRows);
      }
      return written;
    },
  };
}

export async function deleteWebhook(tx: Tx, workspaceId: string, id: string, expectedRevision: number) {
  const result = await tx
    .deleteFrom('webhooks')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where('revision', '=', expectedRevision)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export async function insertDeliveries(tx: Tx, rows: readonly WebhookDeliveryRow[]): Promise<void> {
  if (rows.length > 0)
    await tx
      .insertInto('webhook_deliveries')
      .values([...rows])
      .execute();
}

const toDelivery = (row: WebhookDeliveryRow): WebhookDelivery => ({
  id: row.id,
  webhookId: row.webhook_id,
  eventId: row.event_id,
  eventType: row.event_type as WebhookEventType,
  status: row.status as DeliveryStatus,
  attempts: Number(row.attempts),
  lastStatus: row.last_status === null ? null : Number(row.last_status),
  lastError: row.last_error,
  lastAttemptAt: row.last_attempt_at,
  nextAttemptAt: row.next_attempt_at,
  createdAt: row.created_at,
  payload: JSON.parse(row.payload) as unknown,
});

/** A webhook's deliveries, newest first; `before` is the (created_at, id) of the last one of the previous page. */
export async function listDeliveries(
  db: Executor,
  webhookId: string,
  options: { before?: { createdAt: string; id: string }; status?: DeliveryStatus; limit: number },
): Promise<WebhookDelivery[]> {
  let query = db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId);
  if (options.status) query = query.where('status', '=', options.status);
  const before = options.before;
  if (before)
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '<', before.createdAt),
        eb.and([eb('created_at', '=', before.createdAt), eb('id', '<', before.id)]),
      ]),
    );
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
  return rows.map(toDelivery);
}

/** Whether any delivery is due at `now`: a plain read, so an idle node opens no write transaction to find out. */
export async function hasDueDeliveries(db: Executor, now: string): Promise<boolean> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** A delivery a node has claimed: it alone attempts it until `leaseUntil`. */
export interface ClaimedDelivery {
  readonly id: string;
  readonly webhookId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly payload: string;
  /** The number of this attempt; its outcome is written only while the row still says so. */
  readonly attempt: number;
}

/**
 * Claims up to `limit` deliveries that are due at `now`: each gets its attempt counted and `next_attempt_at` moved
 * to `leaseUntil`, so no other node picks it up while this one tries it. On PostgreSQL the due rows are selected
 * `FOR UPDATE SKIP LOCKED`: two nodes claiming at once take different rows and neither waits for the other.
 */
export async function claimDueDeliveries(
  tx: Tx,
  engine: Engine,
  now: string,
  leaseUntil: string,
  limit: number,
): Promise<ClaimedDelivery[]> {
  let query = tx
    .selectFrom('webhook_deliveries')
    .select(['id', 'webhook_id', 'event_id', 'event_type', 'payload', 'attempts'])
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .orderBy('next_attempt_at')
    .limit(limit);
  if (engine === 'postgres') query = query.forUpdate().skipLocked();
  const due = await query.execute();
  const claimed: ClaimedDelivery[] = [];
  for (const row of due) {
    const attempt = Number(row.attempts) + 1;
    await tx
      .updateTable('webhook_deliveries')
      .set({ attempts: attempt, next_attempt_at: leaseUntil })
      .where('id', '=', row.id)
      .execute();
    claimed.push({
      id: row.id,
      webhookId: row.webhook_id,
      eventId: row.event_id,
      eventType: row.event_type,
      payload: row.payload,
      attempt,
    });
  }
  return claimed;
}

/**
 * Records how an attempt went, if the row is still at that attempt and pending (a node that stalled past its
 * lease does not overwrite the attempt another node made since).
 */
export async function recordAttempt(
  tx: Tx,
  id: string,
  attempt: number,
  outcome: {
    status: DeliveryStatus;
    at: string;
    nextAttemptAt: string | null;
    httpStatus: number | null;
    error: string | null;
  },
): Promise<void> {
  await tx
    .updateTable('webhook_deliveries')
    .set({
      status: outcome.status,
      next_attempt_at: outcome.nextAttemptAt,
      last_attempt_at: outcome.at,
      last_status: outcome.httpStatus,
      last_error: outcome.error,
    })
    .where('id', '=', id)
    .where('attempts', '=', attempt)
    .where('status', '=', 'pending')
    .execute();
}

/**
 * Drops finished deliveries created before `before`, and those of a webhook beyond its `keep` newest; pending
 * ones stay until they finish.
 */
export async function pruneDeliveries(tx: Tx, before: string, keep: number): Promise<void> {
  await tx.deleteFrom('webhook_deliveries').where('status', '<>', 'pending').where('created_at', '<', before).execute();
  await tx
    .deleteFrom('webhook_deliveries as d')
    .where('d.status', '<>', 'pending')
    .where(
      (eb) =>
        eb
          .selectFrom('webhook_deliveries as n')
          .select((n) => n.fn.countAll().as('newer'))
          .whereRef('n.webhook_id', '=', 'd.webhook_id')
          .where((n) =>
            n.or([
              n('n.created_at', '>', n.ref('d.created_at')),
              n.and([n('n.created_at', '=', n.ref('d.created_at')), n('n.id', '>', n.ref('d.id'))]),
            ]),
          ),
      '>=',
      keep,
    )
    .execute();
}
