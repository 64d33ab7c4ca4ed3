import { can, type Action } from '../domain/permissions.js';
import { forbidden, notFound } from '../domain/errors.js';
import type { Actor } from './actor.js';

/**
 * Checks an action against the caller's role. A caller outside the workspace is told it does not exist,
 * so that workspace ids cannot be probed.
 */
export function authorize(actor: Actor, action: Action, workspaceId: string): void {
  const decision = can(actor.principal, action, workspaceId);
  if (decision === 'not-member') throw notFound(`Workspace "${workspaceId}"`);
  if (decision === 'forbidden') throw forbidden(`Your role in workspace "${workspaceId}" does not allow ${action}.`);
}
