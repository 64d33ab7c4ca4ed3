import { createHmac } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './common.js';
import type { FieldError } from './errors.js';

/** The events a webhook can receive: what happens to a connection's upstream OAuth. */
export const WEBHOOK_EVENT_TYPES = [
  'connection.connected',
  'connection.refresh_failed',
  'connection.reconnect_required',
  'connection.recovered',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Webhook ids are minted by the server: `whk_` and 16 base-36 characters. */
export const WebhookId = Type.String({ pattern: '^whk_[a-z0-9]{16}$', description: 'whk_ and 16 base-36 characters.' });

const EventTypes = Type.Array(Type.Union(WEBHOOK_EVENT_TYPES.map((t) => Type.Literal(t))), {
  minItems: 1,
  uniqueItems: true,
  description: 'The events this webhook receives (at least one).',
});
const Url = Type.String({
  minLength: 1,
  maxLength: 2048,
  description:
    'An absolute http(s) URL without credentials; checked against the egress policy when saved and at each delivery.',
});
const Secret = Type.String({
  minLength: 16,
  maxLength: 256,
  description: 'The signing secret (16–256 characters). Write-only: every answer shows the mask "******".',
});

export const WebhookCreateInput = Type.Object(
  {
    url: Url,
    description: Nullable(Type.String({ maxLength: 1024 })),
    eventTypes: EventTypes,
    enabled: Type.Optional(Type.Boolean({ description: 'Whether events are delivered; true when omitted.' })),
    secret: Type.Optional(
      Type.String({
        ...Secret,
        description: `${Secret.description} When omitted, the server generates one and returns it once, in the 201 answer.`,
      }),
    ),
  },
  { additionalProperties: false },
);
export type WebhookCreateInput = Static<typeof WebhookCreateInput>;

/** The writable fields but the secret after a merge patch: what a stored webhook must satisfy. */
export const WebhookFields = Type.Object(
  {
    url: Url,
    description: Nullable(Type.String({ maxLength: 1024 })),
    eventTypes: EventTypes,
    enabled: Type.Boolean(),
  },
  { additionalProperties: false },
);
/** A new secret in a merge patch; the mask keeps the stored one. */
export const WebhookSecretPatch = Type.Union([Secret, Type.Literal('******')]);
export type WebhookFields = Static<typeof WebhookFields>;

/** A webhook as it is stored and checked; `secret` is sealed. */
export interface Webhook {
  readonly id: string;
  readonly workspaceId: string;
  readonly url: string;
  readonly description: string | null;
  readonly secret: string;
  readonly eventTypes: readonly WebhookEventType[];
  readonly enabled: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly revision: number;
}

/** One delivery of one event to one webhook, as the API lists it. */
export interface WebhookDelivery {
  readonly id: string;
  readonly webhookId: string;
  readonly eventId: string;
  readonly eventType: WebhookEventType;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly lastAttemptAt: string | null;
  readonly nextAttemptAt: string | null;
  readonly createdAt: string;
  readonly payload: unknown;
}

/** What an event says about a connection: never a token or a secret. */
export interface ConnectionEvent {
  readonly type: WebhookEventType;
  readonly at: string;
  readonly workspaceId: string;
  readonly connection: { readonly id: number; readonly uid: string; readonly name: string };
  readonly state: string;
  /** What went wrong, in words; null for `connection.connected` and `connection.recovered`. */
  readonly error: string | null;
}

/** The JSON body of an event, identical on every attempt and for every webhook that receives it. */
export function eventBody(eventId: string, event: ConnectionEvent): string {
  return JSON.stringify({
    id: eventId,
    type: event.type,
    time: event.at,
    workspaceId: event.workspaceId,
    connection: event.connection,
    state: event.state,
    error: event.error,
  });
}

/**
 * The signature header of a delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the webhook's
 * secret, as docs/webhooks.md shows how to check it.
 */
export function signatureOf(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/**
 * The wait before attempt `attempt + 1`, after `attempt` failed: `baseMs` doubled each time, at most `maxMs`, and
 * a random fifth of it taken off so that deliveries that failed together do not come back together.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random = Math.random()): number {
  const full = Math.min(baseMs * 2 ** Math.max(0, attempt - 1), maxMs);
  return Math.round(full * (1 - 0.2 * random));
}

/** Whether a URL may be a webhook's: absolute http(s), a host, no user name or password. */
export function checkWebhookUrl(
  text: string,
  path = '/url',
): { url: URL; errors: FieldError[] } | { errors: FieldError[] } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { errors: [{ path, message: 'is not an absolute URL' }] };
  }
  const errors: FieldError[] = [];
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    errors.push({ path, message: `must use http or https, not ${url.protocol.replace(/:$/, '')}` });
  if (url.username !== '' || url.password !== '')
    errors.push({ path, message: 'must not carry a user name or password: the signature proves who sends' });
  if (url.hostname === '') errors.push({ path, message: 'names no host' });
  return errors.length > 0 ? { errors } : { url, errors };
}
