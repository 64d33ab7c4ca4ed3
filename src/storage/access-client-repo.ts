import { sql, type QueryCreator } from 'kysely';
import type { AccessClient, AccessClientSecret } from '../domain/access-client.js';
import type { NewAuditEvent } from '../domain/audit.js';
import type { AccessClientRow, AccessClientSecretRow, Database } from './schema.js';
import type { Engine, Executor, ReadOptions, Tx } from './engine.js';
import { eventsAsJson, insertEventsFromJson } from './audit-repo.js';
import { compiledOnce, compiledPerDialect, compiledRowRead } from './compiled-once.js';
import { nameContains } from './list-filters.js';
import type { RowStore, RowWrite } from './row-change.js';
import { inKeyArrays, keyArrays, pairsOf, rowKey } from './row-keys.js';

type ClientFields = Omit<AccessClient, 'secrets'>;

const toSecret = (
  row: Pick<AccessClientSecretRow, 'id' | 'prefix' | 'created_at' | 'expires_at'>,
): AccessClientSecret => ({
  id: row.id,
  prefix: row.prefix,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});

const toClient = (row: AccessClientRow, secrets: readonly AccessClientSecret[]): AccessClient => ({
  workspaceId: row.workspace_id,
  id: row.id,
  uid: row.uid,
  name: row.name,
  description: row.description,
  toolsets: JSON.parse(row.toolsets) as string[],
  tools: JSON.parse(row.tools) as string[],
  rateLimit: row.rate_limit,
  status: row.status as AccessClient['status'],
  secrets,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  revision: row.revision,
});

const toRow = (c: ClientFields): AccessClientRow => ({
  workspace_id: c.workspaceId,
  id: c.id,
  uid: c.uid,
  name: c.name,
  description: c.description,
  toolsets: JSON.stringify(c.toolsets),
  tools: JSON.stringify(c.tools),
  rate_limit: c.rateLimit,
  status: c.status,
  created_at: c.createdAt,
  updated_at: c.updatedAt,
  revision: c.revision,
});

/** The tokens of some clients of a workspace, oldest first, by client id. */
async function secretsOf(
  db: Executor,
  workspaceId: string,
  clientIds: readonly string[],
): Promise<Map<string, AccessClientSecret[]>> {
  const byClient = new Map<string, AccessClientSecret[]>(clientIds.map((id) => [id, []]));
  if (clientIds.length === 0) return byClient;
  const rows = await db
    .selectFrom('access_client_secrets')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('client_id', 'in', [...clientIds])
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  for (const row of rows) byClient.get(row.client_id)?.push(toSecret(row));
  return byClient;
}

export async function findAccessClient(
  db: Executor,
  workspaceId: string,
  id: string,
  options: ReadOptions = {},
): Promise<AccessClient | undefined> {
  let query = db.selectFrom('access_clients').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) return undefined;
  return toClient(row, (await secretsOf(db, workspaceId, [id])).get(id)!);
}

export async function listAccessClients(
  db: Executor,
  workspaceId: string,
  options: { after?: string; limit: number; nameContains?: string; status?: AccessClient['status'] },
): Promise<AccessClient[]> {
  let query = db.selectFrom('access_clients').selectAll().where('workspace_id', '=', workspaceId);
  if (options.after !== undefined) query = query.where('id', '>', options.after);
  if (options.nameContains) query = query.where(nameContains('name', options.nameContains));
  if (options.status !== undefined) query = query.where('status', '=', options.status);
  const rows = await query.orderBy('id').limit(options.limit).execute();
  const secrets = await secretsOf(
    db,
    workspaceId,
    rows.map((r) => r.id),
  );
  return rows.map((row) => toClient(row, secrets.get(row.id)!));
}

/** Which clients a search matches: an exact id, and a part of the name matched without regard to ASCII case. */
export interface AccessClientFilter {
  readonly id?: string;
  readonly nameContains?: string;
}

/** A slice (by offset, in id order) of a workspace's clients that match a filter, with how many match in all. */
export async function searchAccessClients(
  db: Executor,
  workspaceId: string,
  filter: AccessClientFilter & { readonly offset: number; readonly limit: number },
): Promise<{ items: AccessClient[]; total: number }> {
  let query = db.selectFrom('access_clients').where('workspace_id', '=', workspaceId);
  if (filter.id !== undefined) query = query.where('id', '=', filter.id);
  if (filter.nameContains !== undefined) query = query.where(nameContains('name', filter.nameContains));
  const counted = await query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  const rows = await query.selectAll().orderBy('id').limit(filter.limit).offset(filter.offset).execute();
  const secrets = await secretsOf(
    db,
    workspaceId,
    rows.map((r) => r.id),
  );
  return { items: rows.map((row) => toClient(row, secrets.get(row.id)!)), total: Number(counted.n) };
}

export async function insertAccessClient(db: Executor, client: ClientFields): Promise<void> {
  await db.insertInto('access_clients').values(toRow(client)).execute();
}

/** Writes a new state if the stored one still has `expectedRevision`; false when someone else won. */
export async function updateAccessClient(
  db: Executor,
  client: ClientFields,
  expectedRevision: number,
): Promise<boolean> {
  const { workspace_id, id, uid: _uid, created_at, ...changes } = toRow(client);
  const result = await db
    .updateTable('access_clients')
    .set(changes)
    .where('workspace_id', '=', workspace_id)
    .where('id', '=', id)
    .where('revision', '=', expectedRevision)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** The key of an access client for {@link Writer.change}. */
export const accessClientKey = (workspaceId: string, id: string) => rowKey(workspaceId, id);

/** One client, the read of a row change of one row (every write by a single request): compiled once per dialect. */
const selectClientQuery = (db: Executor, workspaceId: string, id: string) =>
  db.selectFrom('access_clients').select(clientColumns).where('workspace_id', '=', workspaceId).where('id', '=', id);
const selectClient = compiledRowRead('access_clients', selectClientQuery);
/** The tokens of that client, oldest first. */
const selectSecretsOfClient = compiledPerDialect((db, workspaceId, id) =>
  db
    .selectFrom('access_client_secrets')
    .select(['id', 'prefix', 'created_at', 'expires_at'])
    .where('workspace_id', '=', workspaceId)
    .where('client_id', '=', id)
    .orderBy('created_at')
    .orderBy('id'),
);

/**
 * The write of a row change of a client, compiled once per dialect: every column a change may move, where the row is
 * still the same client (its uid) at the revision it was read at.
 */
const updateClientRow = compiledPerDialect(
  (db, name, description, toolsets, tools, rateLimit, status, updatedAt, revision, workspaceId, id, uid, expected) =>
    db
      .updateTable('access_clients')
      .set({
        name,
        description: sql<string | null>`${description}`,
        toolsets,
        tools,
        rate_limit: sql<number | null>`${rateLimit}`,
        status,
        updated_at: updatedAt,
        revision: sql<number>`${revision}`,
      })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .where('uid', '=', uid)
      .where('revision', '=', sql<number>`${expected}`),
);

/**
 * Access clients for the writer's row changes (PUT, PATCH, token rotation): loaded with their tokens, under lock
 * in key order on PostgreSQL. A row is written only over the state it was read from: same revision, and the same
 * client (its uid), not one deleted and created again under its id meanwhile. The tokens are not part of the row:
 * a rotation writes them in its `after` work, in the same transaction.
 */
export function accessClientRows(engine: Engine): RowStore<AccessClient> {
  const forUpdate = engine === 'postgres';
  const rows: RowStore<AccessClient> = {
    async load(tx: Tx, keys: readonly string[]): Promise<Map<string, AccessClient>> {
      const pairs = pairsOf(keys);
      if (pairs.length === 1) {
        const [workspaceId, id] = pairs[0]!;
        const [row] = (await selectClient(tx, [workspaceId, id], forUpdate)).rows;
        if (!row) return new Map();
        const secrets = (await selectSecretsOfClient(tx, [workspaceId, id])).rows.map(toSecret);
        return new Map([[keys[0]!, toClient(row, secrets)]]);
      }
      let query = tx
        .selectFrom('access_clients')
        .selectAll()
        .where((eb) =>
          eb(
            eb.refTuple('workspace_id', 'id'),
            'in',
            pairs.map(([workspaceId, id]) => eb.tuple(workspaceId, id)),
          ),
        )
        // Key order: two batches wanting the same rows lock them in the same order, so neither waits on the other.
        .orderBy('workspace_id')
        .orderBy('id');
      if (forUpdate) query = query.forUpdate();
      const rows = await query.execute();
      const loaded = new Map<string, AccessClient>();
      for (const workspaceId of new Set(rows.map((row) => row.workspace_id))) {
        const inWorkspace = rows.filter((row) => row.workspace_id === workspaceId);
        const secrets = await secretsOf(
          tx,
          workspaceId,
          inWorkspace.map((row) => row.id),
        );
        for (const row of inWorkspace)
          loaded.set(accessClientKey(row.workspace_id, row.id), toClient(row, secrets.get(row.id)!));
      }
      return loaded;
    },

    async store(tx: Tx, changes: readonly RowWrite<AccessClient>[]): Promise<number> {
      let written = 0;
      for (const { row, stored } of changes) {
        const r = toRow(row);
        const result = await updateClientRow(tx, [
          r.name,
          r.description,
          r.toolsets,
          r.tools,
          r.rate_limit,
          r.status,
          r.updated_at,
          r.revision,
          r.workspace_id,
          r.id,
          r.uid,
          stored.revision,
        ]);
        written += Number(result.numAffectedRows ?? 0n);
      }
      return written;
    },
  };
  if (engine === 'sqlite') return rows;
  return {
    ...rows,
    optimistic: {
      async peek(db: Executor, keys: readonly string[]): Promise<Map<string, AccessClient>> {
        const arrays = keyArrays(pairsOf(keys));
        const [clients, secrets] = await Promise.all([
          selectClientsByKeys(db, arrays),
          selectSecretsByClientKeys(db, arrays),
        ]);
        const tokens = new Map<string, AccessClientSecret[]>();
        for (const row of secrets.rows as AccessClientSecretRow[]) {
          const key = accessClientKey(row.workspace_id, row.client_id);
          const list = tokens.get(key);
          if (list) list.push(toSecret(row));
          else tokens.set(key, [toSecret(row)]);
        }
        return new Map(
          (clients.rows as AccessClientRow[]).map((row) => {
            const key = accessClientKey(row.workspace_id, row.id);
            return [key, toClient(row, tokens.get(key) ?? [])];
          }),
        );
      },
      async storeAudited(
        db: Executor,
        changes: readonly RowWrite<AccessClient>[],
        events: readonly { event: NewAuditEvent; row: number }[],
      ): Promise<Set<number>> {
        const columns = changes.map(({ row, stored }, i) => ({
          ...toRow(row),
          toolsets: row.toolsets,
          tools: row.tools,
          expected: stored.revision,
          i,
        }));
        const result = await updateClientsAudited(db, [
          JSON.stringify(columns),
          ...keyArrays(changes.map(({ row }) => [row.workspaceId, row.id] as const)),
          eventsAsJson(events),
        ]);
        return new Set((result.rows as { i: number }[]).map((r) => r.i));
      },
    },
  };
}

/** Every column of the table, named (see connector-batch-sql.ts): a column a later migration adds changes nothing here. */
const clientColumns = [
  'workspace_id',
  'id',
  'uid',
  'name',
  'description',
  'toolsets',
  'tools',
  'rate_limit',
  'status',
  'created_at',
  'updated_at',
  'revision',
] as const satisfies readonly (keyof AccessClientRow)[];
const everyClientColumn: Exclude<keyof AccessClientRow, (typeof clientColumns)[number]> extends never ? true : never =
  true;
void everyClientColumn;

const secretColumns = [
  'id',
  'workspace_id',
  'client_id',
  'token_hash',
  'prefix',
  'created_at',
  'expires_at',
] as const satisfies readonly (keyof AccessClientSecretRow)[];
const everySecretColumn: Exclude<keyof AccessClientSecretRow, (typeof secretColumns)[number]> extends never
  ? true
  : never = true;
void everySecretColumn;

/** PostgreSQL, the optimistic path's read: the clients with these (workspace, id) pairs, without a lock. */
const selectClientsByKeys = compiledOnce((db) =>
  db.selectFrom('access_clients').select(clientColumns).where(inKeyArrays('workspace_id', 'id')),
);

/** Their tokens, oldest first. */
const selectSecretsByClientKeys = compiledOnce((db) =>
  db
    .selectFrom('access_client_secrets')
    .select(secretColumns)
    .where(inKeyArrays('workspace_id', 'client_id'))
    .orderBy('created_at')
    .orderBy('id'),
);

/**
 * PostgreSQL, the optimistic path's write, one autocommit statement: clients still at the `expected` revision
 * (and the same client: its uid) get the columns of their row in the JSON parameter, and the audit events of
 * exactly the rows written are inserted (see connector-batch-sql.ts, whose statements these follow); answers
 * the `i` of each written row.
 */
const updateClientsAudited = compiledOnce((db) =>
  db
    .with('written', (db) =>
      db
        .updateTable('access_clients')
        .from(
          sql`json_to_recordset(${'[]'}::json)`.as(
            sql`u(workspace_id text, id text, uid text, name text, description text, toolsets json, tools json,
              rate_limit integer, status text, updated_at text, revision integer, expected integer, i integer)`,
          ),
        )
        .set({
          name: sql.ref('u.name'),
          description: sql.ref('u.description'),
          toolsets: sql<string>`u.toolsets::text`,
          tools: sql<string>`u.tools::text`,
          rate_limit: sql.ref('u.rate_limit'),
          status: sql.ref('u.status'),
          updated_at: sql.ref('u.updated_at'),
          revision: sql.ref('u.revision'),
        })
        .where(inKeyArrays('access_clients.workspace_id', 'access_clients.id'))
        .where(
          sql<boolean>`access_clients.workspace_id = u.workspace_id and access_clients.id = u.id
            and access_clients.uid = u.uid and access_clients.revision = u.expected`,
        )
        .returning(sql<number>`u.i`.as('i')),
    )
    .with('audited', (db) => insertEventsFromJson(db as unknown as QueryCreator<Database>, 'written').returning('id'))
    .selectFrom('written')
    .select('i'),
);

/** Deletes a client at `expectedRevision`; its tokens go with it (foreign key cascade). */
export async function deleteAccessClient(
  db: Executor,
  workspaceId: string,
  id: string,
  expectedRevision: number,
): Promise<boolean> {
  const result = await db
    .deleteFrom('access_clients')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .where('revision', '=', expectedRevision)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export async function insertAccessClientSecret(db: Executor, row: AccessClientSecretRow): Promise<void> {
  await db.insertInto('access_client_secrets').values(row).execute();
}

/** Retires a client's tokens at `expiresAt`; a token already due to expire earlier keeps its earlier time. */
export async function expireAccessClientSecrets(
  db: Executor,
  workspaceId: string,
  clientId: string,
  expiresAt: string,
): Promise<void> {
  await db
    .updateTable('access_client_secrets')
    .set({ expires_at: expiresAt })
    .where('workspace_id', '=', workspaceId)
    .where('client_id', '=', clientId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', expiresAt)]))
    .execute();
}

/** Drops a client's tokens that expired at or before `now`: they can never be used again. */
export async function deleteExpiredAccessClientSecrets(
  db: Executor,
  workspaceId: string,
  clientId: string,
  now: string,
): Promise<void> {
  await db
    .deleteFrom('access_client_secrets')
    .where('workspace_id', '=', workspaceId)
    .where('client_id', '=', clientId)
    .where('expires_at', '<=', now)
    .execute();
}

/** The client a token digest belongs to, with the token's own record; undefined when no token has that digest. */
export async function findAccessClientBySecretHash(
  db: Executor,
  tokenHash: string,
): Promise<{ client: AccessClient; secret: AccessClientSecret } | undefined> {
  const row = await db
    .selectFrom('access_client_secrets')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!row) return undefined;
  const client = await findAccessClient(db, row.workspace_id, row.client_id);
  return client && { client, secret: toSecret(row) };
}
