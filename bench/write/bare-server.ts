/**
 * The baseline of `bench:write`: the least a Fastify 5 server can do to serve plugboard's connector PUT and
 * access-client PATCH with the same durability. No authentication, no audit row, no read-before-write: one
 * `UPDATE … RETURNING` per request, guarded by the revision from If-Match, in autocommit.
 *
 *   BARE_ENGINE=sqlite   BARE_DB=<file>  PORT=<port>   better-sqlite3, WAL, synchronous=FULL
 *   BARE_ENGINE=postgres BARE_DB=<url>   PORT=<port>   pg, pool of 16, synchronous_commit as the server has it
 *
 * It serves POST (to create the seed's template row through HTTP, as with plugboard), and PUT (connectors) or
 * PATCH (access clients, a merge patch of `description`) under the same paths as plugboard, so the load generator
 * treats both alike. ETags are `"<revision>"`.
 */
import Fastify, { type FastifyReply } from 'fastify';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';

/** Plugboard's `connectors` table, column for column (minus the foreign key to workspaces). */
const DDL = `
  create table if not exists connectors (
    workspace_id text not null,
    id text not null,
    name text not null,
    description text,
    protocol_type text not null,
    documentation_url text,
    icon_url text,
    base_url text,
    status text not null,
    auth_scheme_configs text not null,
    connection_variables text not null,
    versions text not null,
    created_at text not null,
    updated_at text not null,
    revision integer not null,
    primary key (workspace_id, id)
  );
  create table if not exists access_clients (
    workspace_id text not null,
    id text not null,
    uid text not null,
    name text not null,
    description text,
    toolsets text not null,
    tools text not null,
    rate_limit integer,
    status text not null,
    created_at text not null,
    updated_at text not null,
    revision integer not null,
    primary key (workspace_id, id)
  );
  create table if not exists toolsets (
    workspace_id text not null,
    name text not null,
    uid text not null,
    generation integer not null,
    description text,
    labels text not null,
    spec text not null,
    status text not null,
    created_time text not null,
    updated_at text not null,
    revision integer not null,
    primary key (workspace_id, name)
  )`;

/** Plugboard's `toolsets` table, as the bare server keeps it (the columns a toolset's PATCH reads and writes). */
interface ToolsetRow {
  workspace_id: string;
  name: string;
  uid: string;
  generation: number;
  description: string | null;
  labels: string;
  spec: string;
  status: string;
  created_time: string;
  updated_at: string;
  revision: number;
}

interface ToolsetBody {
  name: string;
  description?: string | null;
  labels?: Record<string, string>;
  spec: unknown;
}

/** Plugboard's `access_clients` table, as the bare server keeps it. */
interface ClientRow {
  workspace_id: string;
  id: string;
  uid: string;
  name: string;
  description: string | null;
  toolsets: string;
  tools: string;
  rate_limit: number | null;
  status: string;
  created_at: string;
  updated_at: string;
  revision: number;
}

interface ClientBody {
  id: string;
  name: string;
  description?: string | null;
  toolsets?: string[];
  rateLimit?: number | null;
}

interface Row {
  workspace_id: string;
  id: string;
  name: string;
  description: string | null;
  protocol_type: string;
  documentation_url: string | null;
  icon_url: string | null;
  base_url: string | null;
  status: string;
  auth_scheme_configs: string;
  connection_variables: string;
  versions: string;
  created_at: string;
  updated_at: string;
  revision: number;
}

interface Fields {
  name: string;
  description?: string | null;
  protocolType?: string | null;
  documentationUrl?: string | null;
  iconUrl?: string | null;
  baseUrl?: string | null;
  status?: string | null;
  connectionVariables?: unknown[] | null;
}

interface CreateBody extends Fields {
  id: string;
  authSchemeConfigs?: unknown[];
}

/** Parameters in one fixed order, shared by both engines' statements. */
const fieldValues = (b: Fields) => [
  b.name,
  b.description ?? null,
  b.protocolType ?? 'http',
  b.documentationUrl ?? null,
  b.iconUrl ?? null,
  b.baseUrl ?? null,
  b.status ?? 'active',
  JSON.stringify(b.connectionVariables ?? []),
];

interface Store {
  insert(workspaceId: string, body: CreateBody, now: string): Promise<Row | undefined>;
  /** `expected` null means "any revision" (If-Match: *). Undefined when no row matched. */
  update(workspaceId: string, id: string, body: Fields, expected: number | null, now: string): Promise<Row | undefined>;
  insertClient(workspaceId: string, body: ClientBody, now: string): Promise<ClientRow | undefined>;
  /** A merge patch of the description; `expected` as for update. */
  patchClient(
    workspaceId: string,
    id: string,
    description: string | null,
    expected: number | null,
    now: string,
  ): Promise<ClientRow | undefined>;
  insertToolset(workspaceId: string, body: ToolsetBody, now: string): Promise<ToolsetRow | undefined>;
  /** Merges the labels of a merge patch into the stored ones; `expected` as above. */
  patchToolset(
    workspaceId: string,
    name: string,
    labels: Record<string, string>,
    expected: number | null,
    now: string,
  ): Promise<ToolsetRow | undefined>;
  close(): Promise<void>;
}

const INSERT_TOOLSET = `insert into toolsets (workspace_id, name, uid, generation, description, labels, spec, status, created_time,
  updated_at, revision) values (?, ?, ?, 1, ?, ?, ?, '{}', ?, ?, 1) on conflict do nothing returning *`;
/** The labels merged in the store: SQLite's json_patch is RFC 7396's merge patch; jsonb's || merges one level. */
const patchToolsetSql = (
  merged: string,
) => `update toolsets set labels = ${merged}, updated_at = ?, revision = revision + 1
  where workspace_id = ? and name = ? and (? is null or revision = ?) returning *`;
const toolsetValues = (ws: string, b: ToolsetBody, now: string) => [
  ws,
  b.name,
  `tsu_${b.name}`,
  b.description ?? null,
  JSON.stringify(b.labels ?? {}),
  JSON.stringify(b.spec),
  now,
  now,
];

const INSERT_CLIENT = `insert into access_clients (workspace_id, id, uid, name, description, toolsets, tools, rate_limit, status,
  created_at, updated_at, revision) values (?, ?, ?, ?, ?, ?, '[]', ?, 'active', ?, ?, 1) on conflict do nothing returning *`;
const PATCH_CLIENT = `update access_clients set description = ?, updated_at = ?, revision = revision + 1
  where workspace_id = ? and id = ? and (? is null or revision = ?) returning *`;
const clientValues = (ws: string, b: ClientBody, now: string) => [
  ws,
  b.id,
  `acu_${b.id}`,
  b.name,
  b.description ?? null,
  JSON.stringify(b.toolsets ?? []),
  b.rateLimit ?? null,
  now,
  now,
];

const INSERT = `insert into connectors (workspace_id, id, name, description, protocol_type, documentation_url, icon_url, base_url, status,
  connection_variables, auth_scheme_configs, versions, created_at, updated_at, revision)
  values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, 1) on conflict do nothing returning *`;
const UPDATE = `update connectors set name = ?, description = ?, protocol_type = ?, documentation_url = ?, icon_url = ?, base_url = ?,
  status = ?, connection_variables = ?, updated_at = ?, revision = revision + 1
  where workspace_id = ? and id = ? and (? is null or revision = ?) returning *`;

/** `?` placeholders to PostgreSQL's `$n`; the revision parameter needs a type for `is null`. */
function numbered(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`).replace(/\(\$(\d+) is null/, '($$$1::integer is null');
}

function openSqlite(file: string): Store {
  const db = new SqliteDatabase(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(DDL);
  const insert = db.prepare<unknown[], Row>(INSERT);
  const update = db.prepare<unknown[], Row>(UPDATE);
  const insertClient = db.prepare<unknown[], ClientRow>(INSERT_CLIENT);
  const patchClient = db.prepare<unknown[], ClientRow>(PATCH_CLIENT);
  const insertToolset = db.prepare<unknown[], ToolsetRow>(INSERT_TOOLSET);
  const patchToolset = db.prepare<unknown[], ToolsetRow>(patchToolsetSql('json_patch(labels, ?)'));
  // `.all()`, never `.get()`, on DML with RETURNING: `.get()` resets the statement before SQLite finishes it,
  // its WAL hook never runs, and automatic checkpoints stop (the -wal file grows without bound).
  return {
    insert: async (ws, b, now) =>
      insert.all(ws, b.id, ...fieldValues(b), JSON.stringify(b.authSchemeConfigs ?? []), now, now)[0],
    update: async (ws, id, b, expected, now) => update.all(...fieldValues(b), now, ws, id, expected, expected)[0],
    insertClient: async (ws, b, now) => insertClient.all(...clientValues(ws, b, now))[0],
    patchClient: async (ws, id, description, expected, now) =>
      patchClient.all(description, now, ws, id, expected, expected)[0],
    insertToolset: async (ws, b, now) => insertToolset.all(...toolsetValues(ws, b, now))[0],
    patchToolset: async (ws, name, labels, expected, now) =>
      patchToolset.all(JSON.stringify(labels), now, ws, name, expected, expected)[0],
    close: async () => {
      db.close();
    },
  };
}

function openPostgres(url: string): Store {
  const pool = new pg.Pool({ connectionString: url, max: 16 });
  // Named statements are parsed and planned once per connection, as any tuned pg application would do.
  const run = async <R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]) =>
    (await pool.query<R>({ name, text, values })).rows[0];
  const insert = numbered(INSERT);
  const update = numbered(UPDATE);
  const insertClient = numbered(INSERT_CLIENT);
  const patchClient = numbered(PATCH_CLIENT);
  const insertToolset = numbered(INSERT_TOOLSET);
  const patchToolset = numbered(patchToolsetSql('(labels::jsonb || ?::jsonb)::text'));
  return {
    insert: (ws, b, now) =>
      run<Row>('insert', insert, [ws, b.id, ...fieldValues(b), JSON.stringify(b.authSchemeConfigs ?? []), now, now]),
    update: (ws, id, b, expected, now) =>
      run<Row>('update', update, [...fieldValues(b), now, ws, id, expected, expected]),
    insertClient: (ws, b, now) => run<ClientRow>('insert-client', insertClient, clientValues(ws, b, now)),
    patchClient: (ws, id, description, expected, now) =>
      run<ClientRow>('patch-client', patchClient, [description, now, ws, id, expected, expected]),
    insertToolset: (ws, b, now) => run<ToolsetRow>('insert-toolset', insertToolset, toolsetValues(ws, b, now)),
    patchToolset: (ws, name, labels, expected, now) =>
      run<ToolsetRow>('patch-toolset', patchToolset, [JSON.stringify(labels), now, ws, name, expected, expected]),
    close: () => pool.end(),
  };
}

const view = (r: Row) => ({
  workspaceId: r.workspace_id,
  id: r.id,
  name: r.name,
  description: r.description,
  protocolType: r.protocol_type,
  documentationUrl: r.documentation_url,
  iconUrl: r.icon_url,
  baseUrl: r.base_url,
  status: r.status,
  authSchemeConfigs: JSON.parse(r.auth_scheme_configs) as unknown,
  connectionVariables: JSON.parse(r.connection_variables) as unknown,
  versions: JSON.parse(r.versions) as unknown,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  revision: r.revision,
});

const clientView = (r: ClientRow) => ({
  workspaceId: r.workspace_id,
  id: r.id,
  name: r.name,
  description: r.description,
  toolsets: JSON.parse(r.toolsets) as unknown,
  tools: JSON.parse(r.tools) as unknown,
  rateLimit: r.rate_limit,
  status: r.status,
  secrets: [],
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  revision: r.revision,
});

const toolsetView = (r: ToolsetRow) => ({
  workspaceId: r.workspace_id,
  name: r.name,
  uid: r.uid,
  kind: 'Toolset',
  generation: r.generation,
  description: r.description,
  labels: JSON.parse(r.labels) as unknown,
  createdTime: r.created_time,
  spec: JSON.parse(r.spec) as unknown,
  status: JSON.parse(r.status) as unknown,
});

/** The revision an If-Match names: null for `*` or none, undefined for one that cannot match. */
function expectedRevision(ifMatch: string | undefined): number | null | undefined {
  const value = ifMatch?.trim();
  if (value === undefined || value === '*') return null;
  const match = /^"(\d+)"$/.exec(value);
  return match ? Number(match[1]) : undefined;
}

/**
 * A write guarded by If-Match, answered the same way on every route: 412 for a tag that cannot match, 404 (no
 * tag) or 412 (a tag) when no row was written, else the row's view with its ETag.
 */
async function writeIfMatch<R extends { revision: number }>(
  ifMatch: string | undefined,
  reply: FastifyReply,
  write: (expected: number | null, now: string) => Promise<R | undefined>,
  viewOf: (row: R) => unknown,
) {
  const expected = expectedRevision(ifMatch);
  if (expected === undefined) return reply.code(412).send({ title: 'precondition failed' });
  const row = await write(expected, new Date().toISOString());
  if (!row)
    return reply
      .code(expected === null ? 404 : 412)
      .send({ title: expected === null ? 'not found' : 'precondition failed' });
  return reply.header('etag', `"${row.revision}"`).send(viewOf(row));
}

const nullableString = { type: ['string', 'null'], maxLength: 2048 };
const fieldsSchema = {
  name: { type: 'string', minLength: 1, maxLength: 128 },
  description: nullableString,
  protocolType: nullableString,
  documentationUrl: nullableString,
  iconUrl: nullableString,
  baseUrl: nullableString,
  status: nullableString,
  connectionVariables: { type: ['array', 'null'], maxItems: 200 },
};

async function main() {
  const engine = process.env.BARE_ENGINE;
  const location = process.env.BARE_DB;
  if ((engine !== 'sqlite' && engine !== 'postgres') || !location)
    throw new Error('set BARE_ENGINE=sqlite|postgres and BARE_DB');
  if (engine === 'postgres') {
    // The orchestrator's fresh schema is on the search path; make the table there before serving.
    const client = new pg.Client({ connectionString: location });
    await client.connect();
    await client.query(DDL);
    await client.end();
  }
  const store = engine === 'sqlite' ? openSqlite(location) : openPostgres(location);

  const app = Fastify({ logger: false });
  const base = '/api/v1/workspaces/:ws/connectors';
  type Params = { ws: string; id: string };

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.post<{ Params: { ws: string }; Body: CreateBody }>(
    base,
    {
      schema: {
        body: {
          type: 'object',
          required: ['id', 'name'],
          properties: { ...fieldsSchema, id: { type: 'string' }, authSchemeConfigs: { type: 'array' } },
        },
      },
    },
    async (request, reply) => {
      const row = await store.insert(request.params.ws, request.body, new Date().toISOString());
      if (!row) return reply.code(409).send({ title: 'exists' });
      return reply.code(201).header('etag', `"${row.revision}"`).send(view(row));
    },
  );

  app.put<{ Params: Params; Body: Fields }>(
    `${base}/:id`,
    {
      schema: { body: { type: 'object', required: ['name'], additionalProperties: false, properties: fieldsSchema } },
    },
    (request, reply) =>
      writeIfMatch(
        request.headers['if-match'],
        reply,
        (expected, now) => store.update(request.params.ws, request.params.id, request.body, expected, now),
        view,
      ),
  );

  const clients = '/api/v1/workspaces/:ws/access-clients';
  // Merge patches arrive as application/merge-patch+json, which Fastify does not parse by itself.
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  app.post<{ Params: { ws: string }; Body: ClientBody }>(
    clients,
    {
      schema: {
        body: {
          type: 'object',
          required: ['id', 'name'],
          properties: {
            id: { type: 'string' },
            name: { type: 'string', minLength: 1, maxLength: 128 },
            description: nullableString,
            toolsets: { type: 'array', items: { type: 'string' }, maxItems: 100 },
            rateLimit: { type: ['integer', 'null'], minimum: 1 },
          },
        },
      },
    },
    async (request, reply) => {
      const row = await store.insertClient(request.params.ws, request.body, new Date().toISOString());
      if (!row) return reply.code(409).send({ title: 'exists' });
      return reply.code(201).header('etag', `"${row.revision}"`).send(clientView(row));
    },
  );

  app.patch<{ Params: Params; Body: { description?: string | null } }>(
    `${clients}/:id`,
    {
      schema: {
        body: {
          type: 'object',
          required: ['description'],
          additionalProperties: false,
          properties: { description: nullableString },
        },
      },
    },
    (request, reply) =>
      writeIfMatch(
        request.headers['if-match'],
        reply,
        (expected, now) =>
          store.patchClient(request.params.ws, request.params.id, request.body.description ?? null, expected, now),
        clientView,
      ),
  );

  const toolsets = '/api/v1/workspaces/:ws/toolsets';
  const labelsSchema = { type: 'object', additionalProperties: { type: 'string', maxLength: 63 }, maxProperties: 64 };

  app.post<{ Params: { ws: string }; Body: ToolsetBody }>(
    toolsets,
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'spec'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 63 },
            description: nullableString,
            labels: labelsSchema,
            spec: { type: 'object' },
          },
        },
      },
    },
    async (request, reply) => {
      const row = await store.insertToolset(request.params.ws, request.body, new Date().toISOString());
      if (!row) return reply.code(409).send({ title: 'exists' });
      return reply.code(201).header('etag', `"${row.revision}"`).send(toolsetView(row));
    },
  );

  app.patch<{ Params: { ws: string; name: string }; Body: { labels: Record<string, string> } }>(
    `${toolsets}/:name`,
    {
      schema: {
        body: {
          type: 'object',
          required: ['labels'],
          additionalProperties: false,
          properties: { labels: labelsSchema },
        },
      },
    },
    (request, reply) =>
      writeIfMatch(
        request.headers['if-match'],
        reply,
        (expected, now) =>
          store.patchToolset(request.params.ws, request.params.name, request.body.labels, expected, now),
        toolsetView,
      ),
  );

  const shutdown = async () => {
    await app.close();
    await store.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
}

main().catch((error: unknown) => {
  process.stderr.write(`bare-server: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
