import type { ToolsetSpec, ToolsetStatus } from '../domain/toolset.js';
import { compiledPerDialect } from './compiled-once.js';
import type { Executor } from './engine.js';

/**
 * The gateway runs the same three lookups on every call; building each with Kysely every time costs more than
 * the lookup itself, so each is compiled once per SQL dialect ({@link compiledPerDialect}).
 */
const clientByToken = compiledPerDialect((db, hash) =>
  db
    .selectFrom('access_client_secrets as s')
    .innerJoin('access_clients as c', (join) =>
      join.onRef('c.workspace_id', '=', 's.workspace_id').onRef('c.id', '=', 's.client_id'),
    )
    .select(['c.workspace_id', 'c.id', 'c.uid', 'c.toolsets', 'c.tools', 'c.rate_limit', 'c.status', 's.expires_at'])
    .where('s.token_hash', '=', hash),
);

const toolsetVersion = compiledPerDialect((db, ws, toolset) =>
  db.selectFrom('toolsets').select(['uid', 'revision']).where('workspace_id', '=', ws).where('name', '=', toolset),
);

const endedSession = compiledPerDialect((db, hash) =>
  db.selectFrom('mcp_ended_sessions').select('session_hash').where('session_hash', '=', hash),
);

/** What the gateway needs of an access client on every call, read in one query from a token digest. */
export interface GatewayClientRow {
  readonly workspaceId: string;
  readonly id: string;
  /** The client itself: another client created later under the same id has another uid. */
  readonly uid: string;
  readonly toolsets: readonly string[];
  /** "toolset/tool" names the client is limited to (see allowsTool). */
  readonly tools: readonly string[];
  readonly rateLimit: number | null;
  readonly status: string;
  /** When the token stops working (a rotation retired it), or null. */
  readonly expiresAt: string | null;
}

export async function findGatewayClient(db: Executor, tokenHash: string): Promise<GatewayClientRow | undefined> {
  const [row] = (await clientByToken(db, [tokenHash])).rows;
  return (
    row && {
      workspaceId: row.workspace_id,
      id: row.id,
      uid: row.uid,
      toolsets: JSON.parse(row.toolsets) as string[],
      tools: JSON.parse(row.tools) as string[],
      rateLimit: row.rate_limit,
      status: row.status,
      expiresAt: row.expires_at,
    }
  );
}

/** Which toolset a name stands for now, and at which revision. */
export interface ToolsetVersion {
  /** A toolset deleted and created again under its name has another uid, and starts again at revision 1. */
  readonly uid: string;
  readonly revision: number;
}

/** The uid and stored revision of a toolset: what tells the gateway whether its compiled copy is still current. */
export async function findToolsetVersion(
  db: Executor,
  workspaceId: string,
  name: string,
): Promise<ToolsetVersion | undefined> {
  const [row] = (await toolsetVersion(db, [workspaceId, name])).rows;
  return row && { uid: row.uid, revision: row.revision };
}

/** Which of these toolset uids are still stored: the others were deleted (with their workspace, maybe). */
export async function findStoredToolsetUids(db: Executor, uids: readonly string[]): Promise<Set<string>> {
  if (uids.length === 0) return new Set();
  const rows = await db
    .selectFrom('toolsets')
    .select('uid')
    .where('uid', 'in', [...uids])
    .execute();
  return new Set(rows.map((row) => row.uid));
}

export interface ServableToolsetRow extends ToolsetVersion {
  /** The uid of the toolset's workspace: with the toolset's, the place its sealed credential is bound to. */
  readonly workspaceUid: string;
  readonly spec: ToolsetSpec;
  readonly status: ToolsetStatus;
  /** How to call each served OpenAPI tool, by tool name; null until a spec first converted. */
  readonly operations: Record<string, unknown> | null;
  /** The served tools and their shared schemas (ToolCatalog); null until a spec first converted with catalogues. */
  readonly catalog: unknown;
}

export async function findServableToolset(
  db: Executor,
  workspaceId: string,
  name: string,
): Promise<ServableToolsetRow | undefined> {
  const row = await db
    .selectFrom('toolsets as t')
    .innerJoin('workspaces as w', 'w.id', 't.workspace_id')
    .select(['t.uid', 'w.uid as workspace_uid', 't.revision', 't.spec', 't.status', 't.operations', 't.catalog'])
    .where('t.workspace_id', '=', workspaceId)
    .where('t.name', '=', name)
    .executeTakeFirst();
  return (
    row && {
      uid: row.uid,
      workspaceUid: row.workspace_uid,
      revision: row.revision,
      spec: JSON.parse(row.spec) as ToolsetSpec,
      status: JSON.parse(row.status) as ToolsetStatus,
      operations: row.operations === null ? null : (JSON.parse(row.operations) as Record<string, unknown>),
      catalog: row.catalog === null ? null : (JSON.parse(row.catalog) as unknown),
    }
  );
}

export async function isSessionEnded(db: Executor, sessionHash: string): Promise<boolean> {
  return (await endedSession(db, [sessionHash])).rows.length > 0;
}

export async function endSession(db: Executor, sessionHash: string, expiresAt: string): Promise<void> {
  await db
    .insertInto('mcp_ended_sessions')
    .values({ session_hash: sessionHash, expires_at: expiresAt })
    .onConflict((c) => c.column('session_hash').doNothing())
    .execute();
}

export async function purgeEndedSessions(db: Executor, now: string): Promise<number> {
  const result = await db.deleteFrom('mcp_ended_sessions').where('expires_at', '<', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
