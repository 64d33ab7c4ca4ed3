/**
 * Seeding: one connector through each server's API, then copies of its row made directly in the store.
 *
 * Creating 10,000 connectors through plugboard's API costs it a transaction, an audit row and an fsync each:
 * seconds on a quiet machine, a minute on a busy one, and none of it is what the benchmark measures. Copying
 * the row in SQL takes a fraction of a second and stays correct while plugboard's schema evolves: every column
 * is copied as it is except `id`. The copies keep the template's revision and creation time, so they all
 * carry the template's ETag, which the load generator starts from. They have no audit rows of their own.
 */
import SqliteDatabase from 'better-sqlite3';
import type pg from 'pg';
import { WORKSPACE, connectorId, createBody } from './connector-shape.js';
import { connectorsPath, type Target } from './load.js';

/** Creates connector 0 through the API and returns its ETag. */
export async function createTemplate(target: Target): Promise<string> {
  const id = connectorId(0);
  const response = await fetch(`${target.origin}${connectorsPath}`, {
    method: 'POST',
    headers: { ...target.headers, 'content-type': 'application/json' },
    body: JSON.stringify(createBody(id)),
  });
  const text = await response.text();
  const etag = response.headers.get('etag');
  if (response.status !== 201 || !etag)
    throw new Error(`creating ${id}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return etag;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Copies connector 0 into connectors 1 … count-1 of an SQLite store (a server may have it open: WAL allows it). */
export function cloneInSqlite(file: string, count: number): void {
  const db = new SqliteDatabase(file);
  try {
    db.pragma('busy_timeout = 10000');
    const columns = db
      .prepare<[], { name: string }>("select name from pragma_table_info('connectors')")
      .all()
      .map((c) => c.name);
    // Every copy is another connector: its own id and its own uid.
    const select = columns
      .map((c) =>
        c === 'id' ? "printf('c-%05d', n)" : c === 'uid' ? "'ctu_' || lower(hex(randomblob(16)))" : quote(c),
      )
      .join(', ');
    db.prepare(
      `with recursive seq(n) as (select 1 union all select n + 1 from seq where n < ?)
       insert into connectors (${columns.map(quote).join(', ')})
       select ${select} from connectors, seq where workspace_id = ? and id = ?`,
    ).run(count - 1, WORKSPACE, connectorId(0));
  } finally {
    db.close();
  }
}

/** The same in a PostgreSQL schema, then ANALYZE so that the planner sees 10,000 rows, not one. */
export async function cloneInPostgres(admin: pg.Client, schema: string, count: number): Promise<void> {
  const { rows } = await admin.query<{ name: string }>(
    "select column_name as name from information_schema.columns where table_schema = $1 and table_name = 'connectors' order by ordinal_position",
    [schema],
  );
  const columns = rows.map((r) => r.name);
  const select = columns
    .map((c) =>
      c === 'id'
        ? "'c-' || lpad(n::text, greatest(5, length(n::text)), '0')"
        : c === 'uid'
          ? "'ctu_' || replace(gen_random_uuid()::text, '-', '')"
          : quote(c),
    )
    .join(', ');
  const table = `${quote(schema)}.connectors`;
  await admin.query(
    `insert into ${table} (${columns.map(quote).join(', ')})
     select ${select} from ${table}, generate_series(1, $1::integer - 1) as n where workspace_id = $2 and id = $3`,
    [count, WORKSPACE, connectorId(0)],
  );
  await admin.query(`analyze ${table}`);
}
