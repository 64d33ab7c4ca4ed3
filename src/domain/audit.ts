import { sameJson } from './common.js';

/** One successful write, as the audit log keeps it: who, what, which fields — never the values. */
export interface AuditEvent {
  readonly id: number;
  readonly at: string;
  readonly principalId: string;
  readonly workspaceId: string;
  readonly action: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly requestId: string;
  readonly fromRevision: number | null;
  readonly toRevision: number | null;
  readonly changedFields: readonly string[];
  /** The OAuth client the principal acted through (a tool call, a grant, a token issued); null for anything else. */
  readonly clientId: string | null;
  /** That client's name when the event was recorded. */
  readonly clientName: string | null;
}

/** An event to record; `clientId` (and its name) only for what a user does through an OAuth client. */
export type NewAuditEvent = Omit<AuditEvent, 'id' | 'clientId' | 'clientName'> & {
  readonly clientId?: string | null;
  readonly clientName?: string | null;
};

/** An event as a reader sees it: with the name of the principal who acted, while that principal exists. */
export interface NamedAuditEvent extends AuditEvent {
  readonly principalName: string | null;
  /**
   * The OAuth client the principal acted through, with its name as a grant of this workspace records it now, else
   * as it was when the event was recorded; null for an event not made through an OAuth client.
   */
  readonly client: { readonly id: string; readonly name: string | null } | null;
}

/** Fields every resource has that change on every write and so say nothing about what the caller changed. */
const BOOKKEEPING = new Set(['updatedAt', 'revision', 'createdAt']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Names of the fields that differ between two states of a resource. Settings objects listed in `open`
 * (a connection's `content`, say) are named key by key (`content.password`), so a secret shows up by its
 * name only; everything else is named by its top-level field.
 */
export function changedFields(
  before: object | undefined,
  after: object | undefined,
  open: readonly string[] = [],
): string[] {
  const a = (before ?? {}) as Record<string, unknown>;
  const b = (after ?? {}) as Record<string, unknown>;
  const out: { name: string; label: string }[] = [];
  const compare = (name: string) => {
    if (BOOKKEEPING.has(name) || sameJson(a[name], b[name])) return;
    const x = a[name];
    const y = b[name];
    if (open.includes(name) && (isRecord(x) || x === undefined) && (isRecord(y) || y === undefined)) {
      const keys = new Set([...Object.keys(x ?? {}), ...Object.keys(y ?? {})]);
      for (const key of keys) {
        if (!sameJson(x?.[key], y?.[key])) out.push({ name, label: `${name}.${key}` });
      }
    } else {
      out.push({ name, label: name });
    }
  };
  // Every field of either state once; only the few that differ are sorted (this runs on every write).
  for (const name of Object.keys(a)) compare(name);
  for (const name of Object.keys(b)) if (!Object.hasOwn(a, name)) compare(name);
  const order = (p: string, q: string) => (p < q ? -1 : p > q ? 1 : 0);
  return out.sort((p, q) => order(p.name, q.name) || order(p.label, q.label)).map((field) => field.label);
}
