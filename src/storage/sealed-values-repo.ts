import { sql, type RawBuilder } from 'kysely';
import type { SealedColumn } from '../domain/sealed-places.js';
import { SEALED_PREFIX } from '../domain/secrets.js';
import type { Engine } from './engine.js';
import type { Executor, Tx } from './engine.js';

/** A table whose JSON text columns hold sealed values, and the primary key that pages through it. */
export interface SealedTable {
  readonly name: 'connections' | 'connectors' | 'access_keys' | 'toolsets' | 'connection_tokens' | 'webhooks';
  readonly primaryKey: readonly string[];
  readonly columns: readonly SealedColumn[];
  /** The column holding the uid its values are bound to. */
  readonly uid: string;
  /** Whether rows belong to a workspace (whose uid the values are bound to too); access keys belong to a principal. */
  readonly inWorkspace: boolean;
}

/** Every place the store keeps sealed values. A new secret-bearing column must be listed here to be rotated. */
export const SEALED_TABLES: readonly SealedTable[] = [
  { name: 'connections', primaryKey: ['id'], columns: ['content', 'credentials'], uid: 'uid', inWorkspace: true },
  {
    name: 'connectors',
    primaryKey: ['workspace_id', 'id'],
    columns: ['auth_scheme_configs'],
    uid: 'uid',
    inWorkspace: true,
  },
  { name: 'access_keys', primaryKey: ['id'], columns: ['secret'], uid: 'id', inWorkspace: false },
  { name: 'toolsets', primaryKey: ['workspace_id', 'name'], columns: ['spec'], uid: 'uid', inWorkspace: true },
  {
    name: 'connection_tokens',
    primaryKey: ['connection_id'],
    columns: ['tokens'],
    uid: 'connection_uid',
    inWorkspace: true,
  },
  { name: 'webhooks', primaryKey: ['id'], columns: ['secret'], uid: 'id', inWorkspace: true },
];

/** A primary key's values, in the order of `SealedTable.primaryKey`. */
export type RowKey = readonly (string | number)[];

export interface SealedRow {
  readonly key: RowKey;
  /** The uids the row's values are bound to ('' for no workspace). */
  readonly owner: { readonly workspaceUid: string; readonly resourceUid: string };
  /** Column name → the JSON text as stored. */
  readonly texts: Readonly<Record<string, string>>;
}

const refs = (names: readonly string[]) => sql.join(names.map((name) => sql.ref(name)));
const params = (values: RowKey) => sql.join(values.map((value) => sql`${value}`));
// '%', '_' and '\' do not occur in the prefix, so it needs no escaping inside the pattern.
const holdsSealed = (columns: readonly string[]) =>
  sql.join(
    columns.map((column) => sql`${sql.ref(column)} like ${`%${SEALED_PREFIX}%`}`),
    sql` or `,
  );

function toRow(table: SealedTable, row: Record<string, unknown>): SealedRow {
  const key = table.primaryKey.map((column) => row[column] as string | number);
  const owner = {
    workspaceUid: (row.plugboard_workspace_uid as string | null) ?? '',
    resourceUid: row.plugboard_resource_uid as string,
  };
  return { key, owner, texts: Object.fromEntries(table.columns.map((column) => [column, String(row[column])])) };
}

/** Rows after `after` (keyset order of the primary key) that hold anything sealed, at most `limit`. */
export async function pageSealedRows(
  db: Executor,
  table: SealedTable,
  after: RowKey | undefined,
  limit: number,
): Promise<SealedRow[]> {
  const keyset: RawBuilder<unknown> = after ? sql`(${refs(table.primaryKey)}) > (${params(after)}) and ` : sql``;
  const workspaceUid = table.inWorkspace ? sql`(select w.uid from workspaces w where w.id = t.workspace_id)` : sql`''`;
  const query = sql<Record<string, unknown>>`select ${refs([...table.primaryKey, ...table.columns])},
      ${sql.ref(`t.${table.uid}`)} as plugboard_resource_uid, ${workspaceUid} as plugboard_workspace_uid
    from ${sql.table(table.name)} as t
    where ${keyset}(${holdsSealed(table.columns)})
    order by ${refs(table.primaryKey)} limit ${limit}`;
  const { rows } = await query.execute(db);
  return rows.map((row) => toRow(table, row));
}

/** One column of one row as stored now, or undefined when the row is gone. */
export async function findSealedText(
  db: Executor,
  table: SealedTable,
  key: RowKey,
  column: string,
): Promise<string | undefined> {
  const { rows } = await sql<{ text: string }>`select ${sql.ref(column)} as text from ${sql.table(table.name)}
    where (${refs(table.primaryKey)}) = (${params(key)})`.execute(db);
  return rows[0]?.text;
}

/**
 * Compare-and-swap of one column: writes `next` only if the column still holds exactly `expected`, so a
 * concurrent write is never overwritten. Revision and timestamps stay: the logical value is the same.
 */
export async function swapSealedText(
  db: Executor,
  table: SealedTable,
  key: RowKey,
  column: string,
  expected: string,
  next: string,
): Promise<boolean> {
  const result = await sql`update ${sql.table(table.name)} set ${sql.ref(column)} = ${next}
    where (${refs(table.primaryKey)}) = (${params(key)}) and ${sql.ref(column)} = ${expected}`.execute(db);
  return Number(result.numAffectedRows ?? 0) === 1;
}

export async function countRows(db: Executor, table: SealedTable): Promise<number> {
  const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table.name)}`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

/**
 * Makes a background transaction give way to request writers on PostgreSQL: a row lock it cannot take within
 * `ms` fails the transaction (see `isLockBusy`) instead of queueing, so it can never hold up a request's
 * transaction long enough to become the other side of a deadlock. SQLite serialises writers whole.
 */
export async function yieldRowLocks(tx: Tx, engine: Engine, ms: number): Promise<void> {
  if (engine === 'postgres') await sql`select set_config('lock_timeout', ${`${ms}ms`}, true)`.execute(tx);
}

/** A lock wait that gave up (lock_timeout) or lost a deadlock: the transaction can simply run again. */
export function isLockBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '55P03' || code === '40P01';
}
