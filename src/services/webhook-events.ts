import { newId } from '../domain/ids.js';
import { eventBody, type ConnectionEvent } from '../domain/webhook.js';
import type { Tx } from '../storage/engine.js';
import { insertDeliveries, listEnabledWebhooks } from '../storage/webhook-repo.js';

/**
 * Queues an event for every enabled webhook of its workspace that receives its type: one pending delivery row
 * each, due at once, written in `tx`, the transaction of the change the event tells of. So an event is sent if
 * and only if its change was committed; the dispatcher (webhook-dispatcher.ts) delivers it from there.
 */
export async function emitConnectionEvent(tx: Tx, event: ConnectionEvent): Promise<void> {
  const receivers = (await listEnabledWebhooks(tx, event.workspaceId)).filter((w) => w.eventTypes.includes(event.type));
  if (receivers.length === 0) return;
  const eventId = newId('evt');
  const payload = eventBody(eventId, event);
  await insertDeliveries(
    tx,
    receivers.map((w) => ({
      id: newId('whd'),
      webhook_id: w.id,
      workspace_id: event.workspaceId,
      event_id: eventId,
      event_type: event.type,
      payload,
      status: 'pending',
      attempts: 0,
      next_attempt_at: event.at,
      last_attempt_at: null,
      last_status: null,
      last_error: null,
      created_at: event.at,
    })),
  );
}
