import { countPrincipals } from '../storage/principal-repo.js';
import type { Writer } from '../storage/writer.js';
import { isUniqueViolation } from '../storage/write-conflicts.js';
import { issueKey } from './access-service.js';
import type { Clock } from './clock.js';
import { insertNewWorkspace } from './workspace-service.js';

/**
 * On first start with an empty store: a workspace `default` and an owner key. Returns the key when one was
 * generated (so it can be printed once), `'given'` when the operator's PLUGBOARD_ADMIN_KEY was used, or
 * undefined when the store already had principals.
 */
export async function bootstrapEmptyStore(
  writer: Writer,
  clock: Clock,
  adminKey: string | undefined,
): Promise<{ key: string; generated: boolean } | undefined> {
  // Nodes starting together on one empty database race here; the loser finds the winner's rows.
  try {
    return await bootstrapOnce(writer, clock, adminKey);
  } catch (error) {
    if (isUniqueViolation(error)) return undefined;
    throw error;
  }
}

async function bootstrapOnce(writer: Writer, clock: Clock, adminKey: string | undefined) {
  return writer.write(async (tx) => {
    if ((await countPrincipals(tx)) > 0) return undefined;
    const now = clock.now();
    await insertNewWorkspace(tx, { id: 'default', name: 'Default workspace' }, now);
    const issued = await issueKey(tx, { name: 'owner', role: 'owner', workspaceId: 'default', key: adminKey }, now);
    return { key: issued.key, generated: adminKey === undefined };
  });
}
