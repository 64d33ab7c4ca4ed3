import { retryDelayMs, signatureOf } from '../domain/webhook.js';
import { egressFetch } from '../egress/egress-connect.js';
import { egressRefusalIn, type EgressPolicy } from '../egress/egress-policy.js';
import type { Db } from '../storage/database.js';
import * as webhooks from '../storage/webhook-repo.js';
import type { Writer } from '../storage/writer.js';
import type { Clock } from './clock.js';
import type { Vault } from './vault.js';
import { webhookSecretPlace } from './webhook-service.js';

export interface WebhookDeliveryOptions {
  /** The longest one attempt may take, connecting and answering included. */
  readonly timeoutMs: number;
  /** Attempts of one delivery, the first included; after the last failed one it is `failed`. */
  readonly maxAttempts: number;
  /** The wait after the first failed attempt; it doubles after each next one, up to `retryMaxDelayMs`. */
  readonly retryBaseMs: number;
  readonly retryMaxDelayMs: number;
  /** How often each node looks for due deliveries. */
  readonly pollIntervalMs: number;
  /** Attempts one node runs at once. */
  readonly concurrency: number;
  /** Finished deliveries kept per webhook (the newest), and for how long at most. */
  readonly keepPerWebhook: number;
  readonly retentionDays: number;
}

/** The outcome of one attempt, for the metrics. */
export type AttemptOutcome = 'delivered' | 'retry' | 'failed';

/** The most of a receiver's answer read (a snippet of it is kept with a failure); the rest is never read. */
const ANSWER_CAP_BYTES = 1024;
/** How long past an attempt's timeout its claim holds, so that no other node starts the same delivery meanwhile. */
const LEASE_GRACE_MS = 30_000;
const PRUNE_EVERY_MS = 60_000;

const plus = (now: string, ms: number) => new Date(Date.parse(now) + ms).toISOString();

/** At most `cap` bytes of a body, as text; then the stream is cancelled. */
async function readCapped(body: ReadableStream<Uint8Array> | null, cap: number): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < cap) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, cap).toString('utf8');
}

/** Why an attempt failed, in words that hold no secret: the policy's refusal, a timeout, or the socket's error. */
function reasonOf(error: unknown, timeoutMs: number): string {
  const refusal = egressRefusalIn(error);
  if (refusal) return refusal.message;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const cause = (error as { cause?: { message?: unknown } } | null)?.cause?.message;
  const message = typeof cause === 'string' ? cause : error instanceof Error ? error.message : String(error);
  return message.slice(0, 300);
}

/**
 * The background delivery of webhook events, on every node. Each poll claims due deliveries in a transaction of
 * the writer (on PostgreSQL `FOR UPDATE SKIP LOCKED`, see claimDueDeliveries): the claim counts the attempt and
 * moves `next_attempt_at` past its timeout, so no other node starts it meanwhile, and a node that dies mid-attempt
 * only delays it. Each attempt is a signed POST through the egress policy (checked at connect time, redirects not
 * followed); a 2xx delivers it, anything else is retried with exponential backoff until `maxAttempts`.
 */
export function createWebhookDispatcher(deps: {
  db: Db;
  writer: Writer;
  vault: Vault;
  clock: Clock;
  egress: EgressPolicy;
  options: WebhookDeliveryOptions;
  onError: (error: unknown, what: string) => void;
  onAttempt?: (outcome: AttemptOutcome) => void;
}) {
  const { db, writer, vault, clock, options } = deps;
  const send = egressFetch(deps.egress);
  const running = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let stopped = false;
  let lastPrune = 0;

  /** Tries one claimed delivery and records the outcome. */
  async function attempt(delivery: webhooks.ClaimedDelivery): Promise<void> {
    const webhook = await webhooks.findWebhookById(db.kysely, delivery.webhookId);
    if (!webhook) return; // deleted meanwhile: its deliveries went with it
    let httpStatus: number | null = null;
    let error: string | null = null;
    if (!webhook.enabled) error = 'the webhook was disabled before this delivery was sent';
    else {
      const timestamp = Math.floor(Date.parse(clock.now()) / 1000);
      try {
        const place = await webhookSecretPlace(db.kysely, webhook.workspaceId, webhook.id);
        const secret = vault.open(webhook.secret, place);
        const response = await send(webhook.url, {
          method: 'POST',
          body: delivery.payload,
          redirect: 'manual',
          signal: AbortSignal.timeout(options.timeoutMs),
          headers: {
            'content-type': 'application/json',
            'user-agent': 'plugboard-webhooks',
            'plugboard-event-id': delivery.eventId,
            'plugboard-event-type': delivery.eventType,
            'plugboard-delivery-id': delivery.id,
            'plugboard-signature': signatureOf(secret, timestamp, delivery.payload),
          },
        });
        httpStatus = response.status;
        const answer = await readCapped(response.body, ANSWER_CAP_BYTES);
        if (response.status < 200 || response.status > 299) {
          const snippet = answer
            .replace(/[^\x20-\x7e]+/g, ' ')
            .trim()
            .slice(0, 200);
          error = `answered HTTP ${response.status}${snippet ? `: ${snippet}` : ''}`;
        }
      } catch (e) {
        error = reasonOf(e, options.timeoutMs);
      }
    }
    const now = clock.now();
    const last = delivery.attempt >= options.maxAttempts || !webhook.enabled;
    const status = error === null ? 'delivered' : last ? 'failed' : 'pending';
    const nextAttemptAt =
      status === 'pending'
        ? plus(now, retryDelayMs(delivery.attempt, options.retryBaseMs, options.retryMaxDelayMs))
        : null;
    await writer.write((tx) =>
      webhooks.recordAttempt(tx, delivery.id, delivery.attempt, { status, at: now, nextAttemptAt, httpStatus, error }),
    );
    deps.onAttempt?.(status === 'pending' ? 'retry' : status);
  }

  /** Claims what this node has room for and starts it; claims again at once while the backlog fills every slot. */
  function poll(): Promise<void> {
    polling ??= claimWhileRoom().finally(() => (polling = undefined));
    return polling;
  }

  async function claimWhileRoom(): Promise<void> {
    for (;;) {
      if (stopped) return;
      const room = options.concurrency - running.size;
      if (room <= 0) return;
      const now = clock.now();
      if (!(await webhooks.hasDueDeliveries(db.kysely, now))) return;
      const lease = plus(now, options.timeoutMs + LEASE_GRACE_MS);
      const claimed = await writer.write((tx) => webhooks.claimDueDeliveries(tx, db.engine, now, lease, room));
      for (const delivery of claimed) {
        const run: Promise<void> = attempt(delivery)
          .catch((error: unknown) => deps.onError(error, 'could not deliver a webhook event'))
          .finally(() => running.delete(run));
        running.add(run);
      }
      if (claimed.length < room) return;
    }
  }

  async function prune(): Promise<void> {
    if (Date.now() - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = Date.now();
    const before = plus(clock.now(), -options.retentionDays * 24 * 3600 * 1000);
    await writer.write((tx) => webhooks.pruneDeliveries(tx, before, options.keepPerWebhook));
  }

  const tick = () => {
    poll().catch((error: unknown) => deps.onError(error, 'could not claim due webhook deliveries'));
    prune().catch((error: unknown) => deps.onError(error, 'could not prune old webhook deliveries'));
  };

  return {
    start(): void {
      timer ??= setInterval(tick, options.pollIntervalMs);
      timer.unref();
    },
    /** Stops polling and waits for the attempts under way (each ends within its timeout). */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await polling?.catch(() => undefined);
      await Promise.allSettled([...running]);
    },
  };
}

export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>;
