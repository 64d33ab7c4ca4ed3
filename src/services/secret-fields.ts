import { notFound } from '../domain/errors.js';
import { isSealed, mapSecrets } from '../domain/secrets.js';
import { findWorkspaceUid } from '../storage/workspace-repo.js';
import type { Executor } from '../storage/engine.js';
import type { SealPlace, Vault } from './vault.js';

/** The resource a write seals secrets for: its workspace's uid and its own. */
export type SealOwner = Omit<SealPlace, 'path'>;

/** The owner of a resource of a workspace, read where the write runs (a workspace created again has another uid). */
export async function sealOwnerIn(db: Executor, workspaceId: string, resourceUid: string): Promise<SealOwner> {
  const workspaceUid = await findWorkspaceUid(db, workspaceId);
  if (workspaceUid === undefined) throw notFound(`Workspace "${workspaceId}"`);
  return { workspaceUid, resourceUid };
}

/**
 * Seals the secrets of a settings object for storage. The mask keeps what is stored; a plaintext equal to
 * the stored one keeps the stored ciphertext too, so writing back what you read is a no-op. `path` is where
 * the object is in the request (for errors), `base` where it is in the resource (what values are bound to).
 */
export function sealSettings(
  vault: Vault,
  next: Readonly<Record<string, unknown>>,
  stored: unknown,
  path: string,
  type: string | undefined,
  at: { readonly owner: SealOwner; readonly base: string },
): Record<string, unknown> {
  const placeOf = (childPath: string): SealPlace => ({
    ...at.owner,
    path: `${at.base}${childPath.slice(path.length)}`,
  });
  return mapSecrets(next, stored, {
    path,
    type,
    seal: (plaintext, previous, childPath) => sealValue(vault, plaintext, previous, placeOf(childPath)),
  }) as Record<string, unknown>;
}

/** Seals one secret value for its place with the same keep-if-unchanged rule. `undefined` plaintext means "keep". */
export function sealValue(vault: Vault, plaintext: string | undefined, previous: unknown, place: SealPlace): string {
  if (plaintext === undefined) return previous as string;
  if (isSealed(previous) && vault.holds(previous, place, plaintext)) return previous;
  return vault.seal(plaintext, place);
}
