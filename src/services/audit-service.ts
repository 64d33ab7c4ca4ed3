import { changedFields, type NamedAuditEvent, type NewAuditEvent } from '../domain/audit.js';
import { decodeCursor, encodeCursor, type Page, type PageRequest } from '../domain/page.js';
import * as audit from '../storage/audit-repo.js';
import type { Db } from '../storage/database.js';
import type { Tx } from '../storage/engine.js';
import { authorize } from './authorize.js';
import type { Actor } from './actor.js';

/** What a write tells the audit log; the service adds who, when and the request id. */
export interface Change {
  readonly workspaceId: string;
  readonly action: string;
  readonly resourceType: string;
  readonly resourceId: string | number;
  readonly before?: { readonly revision: number } & object;
  readonly after?: { readonly revision: number } & object;
  /** Settings objects whose keys are named one by one (`content.password`). */
  readonly open?: readonly string[];
  /** The names to record, when the caller knows them (records without revisions, a change already compared). */
  readonly fields?: readonly string[];
}

/** Writes the audit row of a change inside the change's own transaction, so both land or neither does. */
export async function recordChange(tx: Tx, actor: Actor, change: Change, at: string): Promise<void> {
  await audit.insertAuditEvent(tx, changeEvent(actor, change, at));
}

/** The audit row of a change, for a write that stores it itself (the writer's row changes). */
export function changeEvent(actor: Actor, change: Change, at: string): NewAuditEvent {
  return {
    at,
    principalId: actor.principal.id,
    workspaceId: change.workspaceId,
    action: change.action,
    resourceType: change.resourceType,
    resourceId: String(change.resourceId),
    requestId: actor.requestId,
    fromRevision: change.before?.revision ?? null,
    toRevision: change.after?.revision ?? null,
    changedFields: change.fields ? [...change.fields] : changedFields(change.before, change.after, change.open),
  };
}

export interface AuditQuery extends PageRequest {
  readonly resourceType?: string;
  readonly resourceId?: string;
  readonly principalId?: string;
  /** Only what was done through this OAuth client. */
  readonly clientId?: string;
  readonly since?: string;
  readonly until?: string;
}

export function createAuditService(deps: { db: Db }) {
  const { db } = deps;

  async function list(actor: Actor, workspaceId: string, query: AuditQuery): Promise<Page<NamedAuditEvent>> {
    authorize(actor, 'audit:read', workspaceId);
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor, 'number');
    const rows = await audit.listAuditEvents(db.kysely, { ...query, workspaceId, before, limit: query.limit + 1 });
    const items = rows.slice(0, query.limit);
    return { items, nextCursor: rows.length > query.limit ? encodeCursor(items[items.length - 1]!.id) : null };
  }

  return {
    /** A workspace's events, newest first. */
    list,
    /** One resource's events, newest first (they outlive the resource). */
    history: (actor: Actor, workspaceId: string, resourceType: string, resourceId: string, page: PageRequest) =>
      list(actor, workspaceId, { ...page, resourceType, resourceId }),
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
