/**
 * Seeding: one row of each resource through each server's API, then copies of it made directly in the store.
 *
 * Creating 10,000 connectors through plugboard's API costs it a transaction, an audit row and an fsync each:
 * seconds on a quiet machine, a minute on a busy one, and none of it is what the benchmark measures. Copying
 * the row in SQL takes a fraction of a second and stays correct while plugboard's schema evolves: every column
 * is copied as it is except `id`. The copies keep the template's revision and creation time, so they all
 * carry the template's ETag, which the load generator starts from. They have no audit rows of their own.
 */
import SqliteDatabase from 'better-sqlite3';
import type pg from 'pg';
import { WORKSPACE } from './connector-shape.js';
import type { Target } from './load.js';
import type { WriteResource } from './resources.js';

/** Creates row 0 of the resource through the API and returns its ETag. */
export async function createTemplate(target: Target, resource: WriteResource): Promise<string> {
  const id = resource.idOf(0);
  const response = await fetch(`${target.origin}${resource.collectionPath}`, {
    method: 'POST',
    headers: { ...target.headers, 'content-type': 'application/json' },
    body: JSON.stringify(resource.createBody(id)),
  });
  const text = await response.text();
  const etag = response.headers.get('etag');
  if (response.status !== 201 || !etag)
    throw new Error(`creating ${id}: HTTP ${response.status} ${text.slice(0, 300)}`);
  const settled = resource.settled?.(JSON.parse(text) as Parameters<NonNullable<WriteResource['settled']>>[0]) ?? true;
  return settled ? etag : settledEtag(target, resource, id);
}

/** Reads the row back until the resource says it is settled; its ETag then. */
async function settledEtag(target: Target, resource: WriteResource, id: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const response = await fetch(`${target.origin}${resource.collectionPath}/${id}`, { headers: target.headers });
    const text = await response.text();
    const etag = response.headers.get('etag');
    if (response.status !== 200 || !etag)
      throw new Error(`reading ${id}: HTTP ${response.status} ${text.slice(0, 300)}`);
    if (resource.settled!(JSON.parse(text) as Parameters<NonNullable<WriteResource['settled']>>[0])) return etag;
    if (Date.now() > deadline) throw new Error(`${id} did not settle within 30 s: ${text.slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Copies row 0 into rows 1 … count-1 of an SQLite store (a server may have it open: WAL allows it). */
export function cloneInSqlite(file: string, resource: WriteResource, count: number): void {
  const db = new SqliteDatabase(file);
  try {
    db.pragma('busy_timeout = 10000');
    const columns = db
      .prepare<[], { name: string }>(`select name from pragma_table_info('${resource.table}')`)
      .all()
      .map((c) => c.name);
    // Every copy is another row: its own id and its own uid.
    const select = columns
      .map((c) =>
        c === resource.keyColumn
          ? resource.cloneId.sqlite
          : resource.cloneColumns?.[c]
            ? resource.cloneColumns[c].sqlite
            : c === 'uid'
              ? `'${resource.uidPrefix}_' || lower(hex(randomblob(16)))`
              : quote(c),
      )
      .join(', ');
    db.prepare(
      `with recursive seq(n) as (select 1 union all select n + 1 from seq where n < ?)
       insert into ${resource.table} (${columns.map(quote).join(', ')})
       select ${select} from ${resource.table}, seq where workspace_id = ? and ${resource.keyColumn} = ?`,
    ).run(count - 1, WORKSPACE, resource.idOf(0));
  } finally {
    db.close();
  }
}

/** The same in a PostgreSQL schema, then ANALYZE so that the planner sees 10,000 rows, not one. */
export async function cloneInPostgres(
  admin: pg.Client,
  schema: string,
  resource: WriteResource,
  count: number,
): Promise<void> {
  const { rows } = await admin.query<{ name: string }>(
    'select column_name as name from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position',
    [schema, resource.table],
  );
  const columns = rows.map((r) => r.name);
  const select = columns
    .map((c) =>
      c === resource.keyColumn
        ? resource.cloneId.postgres
        : resource.cloneColumns?.[c]
          ? resource.cloneColumns[c].postgres
          : c === 'uid'
            ? `'${resource.uidPrefix}_' || replace(gen_random_uuid()::text, '-', '')`
            : quote(c),
    )
    .join(', ');
  const table = `${quote(schema)}.${quote(resource.table)}`;
  await admin.query(
    `insert into ${table} (${columns.map(quote).join(', ')})
     select ${select} from ${table}, generate_series(1, $1::integer - 1) as n where workspace_id = $2 and ${resource.keyColumn} = $3`,
    [count, WORKSPACE, resource.idOf(0)],
  );
  // SQLite's AUTOINCREMENT goes on after the largest id ever inserted; a PostgreSQL identity is a sequence of its own.
  if (resource.storeAssignsIds)
    await admin.query(
      `select setval(pg_get_serial_sequence($1, $2), (select max(${quote(resource.keyColumn)}) from ${table}))`,
      [table, resource.keyColumn],
    );
  await admin.query(`analyze ${table}`);
}
