import type { Config } from '../config.js';
import { openConfiguredDb } from '../app.js';
import { migrateToLatest } from '../storage/database.js';
import { listAuditEventsForOperator } from '../storage/audit-repo.js';

type Output = (line: string) => void;

const PAGE = 500;

/**
 * `plugboard admin audit`: the audit events recorded under a workspace id, newest first, one JSON object a
 * line, each with the uid of the workspace it belongs to. Unlike the API, which shows a workspace only its own
 * events, this also reads those of workspaces deleted before (a workspace created again under an old id is
 * another workspace, with another uid), or of one workspace by uid after its id was reused.
 */
export async function printAuditEvents(
  config: Config,
  filter: { workspaceId?: string; workspaceUid?: string; limit: number },
  out: Output,
): Promise<void> {
  if (filter.workspaceId === undefined && filter.workspaceUid === undefined)
    throw new Error('name a workspace: --workspace <id> or --workspace-uid <uid>');
  const db = openConfiguredDb(config);
  try {
    await migrateToLatest(db);
    let left = filter.limit;
    for (let before: number | undefined; left > 0;) {
      const events = await listAuditEventsForOperator(db.kysely, { ...filter, before, limit: Math.min(PAGE, left) });
      for (const event of events) out(JSON.stringify(event));
      if (events.length < Math.min(PAGE, left)) return;
      left -= events.length;
      before = events[events.length - 1]!.id;
    }
  } finally {
    await db.close();
  }
}
