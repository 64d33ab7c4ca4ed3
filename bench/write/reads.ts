/**
 * Reads as the data grows (issue 10, item 4), measured on the plugboard server the write rows just used:
 * 1,000,000 connections in the workspace (one made through the API, the rest copied from it in SQL), of which
 * 10,000 belong to one connector. Prints the latency of the first page and of a page after 500,000 rows, of
 * `GET` by id and of its `304`, the plan the store uses for that lookup, and the time a connector's
 * `connectionVariables` take to reach its 10,000 connections.
 */
import { Agent, request } from 'node:http';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { encodeCursor } from '../../src/domain/page.js';
import { findConnection, listConnections } from '../../src/storage/connection-repo.js';
import type { Database } from '../../src/storage/schema.js';
import { WORKSPACE, connectorId, createBody as createConnector } from './connector-shape.js';

export interface ReadStore {
  readonly engine: 'sqlite' | 'postgres';
  /** The SQLite file, or a connection string whose search_path is the store's schema. */
  readonly location: string;
}

export interface ReadFigures {
  readonly store: 'sqlite' | 'postgres';
  readonly connections: number;
  readonly seedSeconds: number;
  /** Median ms of sequential requests on one keep-alive connection. */
  readonly firstPageMs: number;
  readonly deepPageMs: number;
  readonly getMs: number;
  readonly notModifiedMs: number;
  /** The store's plan for the `GET` lookup (findConnection), one line per step. */
  readonly lookupPlan: string[];
  readonly lookupUsesIndexOnly: boolean;
  /** The plan of a page of the list, and whether it is a range of an index (no scan, no sort). */
  readonly listPlan: string[];
  readonly listIsRange: boolean;
  readonly propagated: number;
  /** The median of {@link PROPAGATIONS} propagations, and each of them in the order they ran. */
  readonly propagationMs: number;
  readonly propagationRuns: readonly number[];
}

const CONNECTIONS = 1_000_000;
const OF_CONNECTOR = 10_000;
const PROPAGATIONS = 3;
const SAMPLES = 200;
const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One request on the kept-alive connection: status, headers, body and its time in ms (µs timer). */
function call(origin: string, method: string, path: string, headers: Record<string, string>, body?: unknown) {
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    text: string;
    ms: number;
  }>((resolve, reject) => {
    const started = process.hrtime.bigint();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${origin}${path}`,
      { method, agent, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
            ms: Number(process.hrtime.bigint() - started) / 1e6,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function median(times: number, run: () => Promise<number>): Promise<number> {
  for (let i = 0; i < 20; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < times; i++) samples.push(await run());
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

/** A fresh uid in SQL: every copy is another connection. */
const RANDOM_UID = {
  sqlite: "'cnu_' || lower(hex(randomblob(16)))",
  postgres: "'cnu_' || replace(gen_random_uuid()::text, '-', '')",
} as const;

/** The SELECT list that makes copy `n` of the template: its own name and uid, the template's connector for the first ones. */
const copyOf = (columns: readonly string[], engine: keyof typeof RANDOM_UID) =>
  columns.map((c) =>
    c === 'name'
      ? "'bench-conn-' || n"
      : c === 'uid'
        ? RANDOM_UID[engine]
        : c === 'connector_id'
          ? `case when n < ${OF_CONNECTOR} then connector_id end`
          : c === 'scope'
            ? `case when n < ${OF_CONNECTOR} then scope else '' end`
            : quote(c),
  );

/** Copies the template connection into 999,999 more: the first 9,999 of the template's connector, the rest of none. */
async function seed(store: ReadStore, templateId: number): Promise<void> {
  const count = CONNECTIONS - 1;
  if (store.engine === 'sqlite') {
    const db = new SqliteDatabase(store.location);
    try {
      db.pragma('busy_timeout = 30000');
      const columns = db
        .prepare<[], { name: string }>("select name from pragma_table_info('connections')")
        .all()
        .map((c) => c.name)
        .filter((c) => c !== 'id');
      const select = copyOf(columns, 'sqlite');
      db.prepare(
        `with recursive seq(n) as (select 1 union all select n + 1 from seq where n < ?)
         insert into connections (${columns.map(quote).join(', ')}) select ${select.join(', ')} from connections, seq where id = ?`,
      ).run(count, templateId);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: store.location });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = 'connections' and column_name <> 'id' order by ordinal_position",
    );
    const columns = rows.map((r) => r.name);
    const select = copyOf(columns, 'postgres');
    await client.query(
      `insert into connections (${columns.map(quote).join(', ')}) select ${select.join(', ')} from connections, generate_series(1, $1::integer) as n where id = $2`,
      [count, templateId],
    );
    await client.query('analyze connections');
  } finally {
    await client.end();
  }
}

/** The SQL a repository function runs (captured as it runs), and the store's plan for it. */
async function planOf(store: ReadStore, run: (db: Kysely<Database>) => Promise<unknown>): Promise<string[]> {
  let captured: CompiledQuery | undefined;
  const log = (event: { level: string; query: CompiledQuery }) => {
    captured ??= event.query;
  };
  if (store.engine === 'sqlite') {
    const database = new SqliteDatabase(store.location, { readonly: true });
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }), log });
    try {
      await run(db);
      return database
        .prepare<unknown[], { detail: string }>(`explain query plan ${captured!.sql}`)
        .all(...captured!.parameters)
        .map((r) => r.detail);
    } finally {
      await db.destroy();
    }
  }
  const pool = new pg.Pool({ connectionString: store.location, max: 1 });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log });
  try {
    await run(db);
    const { rows } = await pool.query<{ 'QUERY PLAN': string }>(
      `explain ${captured!.sql}`,
      captured!.parameters as unknown[],
    );
    return rows.map((r) => r['QUERY PLAN'].trim());
  } finally {
    await db.destroy();
  }
}

export async function benchReads(
  store: ReadStore,
  origin: string,
  headers: Record<string, string>,
  say: (line: string) => void,
): Promise<ReadFigures> {
  const base = `/api/v1/workspaces/${WORKSPACE}`;
  const connector = connectorId(1);
  // The connector PUT rows seed it; a run without them (BENCH_RESOURCES=connection, say) creates it here.
  if ((await call(origin, 'GET', `${base}/connectors/${connector}`, headers)).status === 404) {
    const made = await call(origin, 'POST', `${base}/connectors`, headers, createConnector(connector));
    if (made.status !== 201)
      throw new Error(`creating connector ${connector}: HTTP ${made.status} ${made.text.slice(0, 300)}`);
  }
  const created = await call(origin, 'POST', `${base}/connections`, headers, {
    connectorId: connector,
    name: 'bench-conn-0',
    type: 'http',
    content: { url: 'http://127.0.0.1:9/' },
  });
  if (created.status !== 201)
    throw new Error(`creating the template connection: HTTP ${created.status} ${created.text.slice(0, 300)}`);
  const templateId = (JSON.parse(created.text) as { id: number }).id;
  const seeding = performance.now();
  await seed(store, templateId);
  const seedSeconds = (performance.now() - seeding) / 1000;
  say(`${store.engine}: seeded ${CONNECTIONS} connections in ${seedSeconds.toFixed(1)} s; measuring reads…`);

  // The id after which the page 500,001… starts, as a client holding that page's cursor would send it.
  const page = (cursor?: string) => `${base}/connections?limit=50${cursor ? `&cursor=${cursor}` : ''}`;
  const first = await call(origin, 'GET', page(), headers);
  if (first.status !== 200) throw new Error(`listing connections: HTTP ${first.status} ${first.text.slice(0, 300)}`);
  const ids = await idsAt(store, [CONNECTIONS / 2, CONNECTIONS - 1]);
  const deepCursor = encodeCursor(ids[0]!);
  const deep = await call(origin, 'GET', page(deepCursor), headers);
  const deepItems = (JSON.parse(deep.text) as { items: { id: number }[] }).items;
  if (deep.status !== 200 || deepItems.length !== 50 || deepItems[0]!.id <= ids[0]!)
    throw new Error(`the page after row 500,000 is wrong: HTTP ${deep.status} ${deep.text.slice(0, 300)}`);
  const firstPageMs = await median(SAMPLES, async () => (await call(origin, 'GET', page(), headers)).ms);
  const deepPageMs = await median(SAMPLES, async () => (await call(origin, 'GET', page(deepCursor), headers)).ms);

  const last = ids[1]!;
  const one = await call(origin, 'GET', `${base}/connections/${last}`, headers);
  const etag = one.headers.etag as string;
  if (one.status !== 200 || !etag) throw new Error(`GET connection ${last}: HTTP ${one.status}`);
  const getMs = await median(
    SAMPLES,
    async () => (await call(origin, 'GET', `${base}/connections/${last}`, headers)).ms,
  );
  const notModifiedMs = await median(SAMPLES, async () => {
    const answer = await call(origin, 'GET', `${base}/connections/${last}`, { ...headers, 'if-none-match': etag });
    if (answer.status !== 304) throw new Error(`If-None-Match: HTTP ${answer.status}, not 304`);
    return answer.ms;
  });
  const plan = await planOf(store, (db) => findConnection(db, WORKSPACE, last));
  const usesIndex =
    store.engine === 'sqlite'
      ? plan.length === 1 && /^SEARCH connections USING (INTEGER PRIMARY KEY|INDEX|COVERING INDEX)/.test(plan[0]!)
      : plan.some((line) => /Index (Only )?Scan/.test(line)) && !plan.some((line) => /Seq Scan/.test(line));
  // A page must be a range of an index in id order: no scan of the workspace, no sort.
  const listPlan = await planOf(store, (db) => listConnections(db, WORKSPACE, { after: ids[0]!, limit: 51 }));
  const listIsRange =
    store.engine === 'sqlite'
      ? listPlan.every((line) => /^SEARCH /.test(line)) && !listPlan.some((line) => /TEMP B-TREE/.test(line))
      : !listPlan.some((line) => /Seq Scan|Sort/.test(line));

  // Propagation: new connectionVariables on the connector that 10,000 connections belong to, three times (the first
  // rewrites rows as the seed packed them, the later ones rows already rewritten); the median is the figure.
  const propagations: number[] = [];
  for (let run = 0; run < PROPAGATIONS; run++) {
    const current = await call(origin, 'GET', `${base}/connectors/${connector}`, headers);
    const stamp = `propagated-${Date.now()}-${run}`;
    const changed = await call(
      origin,
      'PATCH',
      `${base}/connectors/${connector}`,
      { ...headers, 'if-match': current.headers.etag as string },
      {
        connectionVariables: [{ name: 'region', value: stamp }],
      },
    );
    if (changed.status !== 200)
      throw new Error(`PATCH connector ${connector}: HTTP ${changed.status} ${changed.text.slice(0, 300)}`);
    const propagated = Number(changed.headers['plugboard-connections-updated']);
    const stored = await countWithVariable(store, stamp);
    if (propagated !== OF_CONNECTOR || stored !== OF_CONNECTOR)
      throw new Error(
        `propagation: the server said ${propagated}, the store has ${stored} connections with the new variables (expected ${OF_CONNECTOR})`,
      );
    propagations.push(changed.ms);
  }
  return {
    store: store.engine,
    connections: CONNECTIONS,
    seedSeconds,
    firstPageMs,
    deepPageMs,
    getMs,
    notModifiedMs,
    lookupPlan: plan,
    lookupUsesIndexOnly: usesIndex,
    listPlan,
    listIsRange,
    propagated: OF_CONNECTOR,
    propagationMs: [...propagations].sort((a, b) => a - b)[Math.floor(PROPAGATIONS / 2)]!,
    propagationRuns: propagations,
  };
}

/** The ids at 0-based positions in id order. */
/** The first row of one query on the store, written with PostgreSQL's `$n` placeholders. */
async function firstRow(
  store: ReadStore,
  sql: string,
  parameters: readonly (string | number)[],
): Promise<Record<string, unknown>> {
  if (store.engine === 'sqlite') {
    const db = new SqliteDatabase(store.location, { readonly: true });
    try {
      return db.prepare<unknown[], Record<string, unknown>>(sql.replace(/\$\d+/g, '?')).get(...parameters)!;
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: store.location });
  await client.connect();
  try {
    return (await client.query<Record<string, unknown>>(sql, [...parameters])).rows[0]!;
  } finally {
    await client.end();
  }
}

/** The ids at 0-based positions in id order. */
async function idsAt(store: ReadStore, positions: number[]): Promise<number[]> {
  const ids: number[] = [];
  for (const p of positions)
    ids.push(
      Number(
        (
          await firstRow(store, 'select id from connections where workspace_id = $1 order by id limit 1 offset $2', [
            WORKSPACE,
            p,
          ])
        ).id,
      ),
    );
  return ids;
}

async function countWithVariable(store: ReadStore, value: string): Promise<number> {
  return Number(
    (
      await firstRow(store, 'select count(*) as n from connections where workspace_id = $1 and variables like $2', [
        WORKSPACE,
        `%${value}%`,
      ])
    ).n,
  );
}

export function closeReads(): void {
  agent.destroy();
}
