/**
 * The writes `bench:write` measures, one per resource: which table both servers keep it in, how a seed row is
 * created, and the request the load generator sends. Kept in one place so that the bare server and plugboard are
 * asked to do the same work for each.
 */
import { WORKSPACE, connectorId, createBody as connectorCreateBody, putBody } from './connector-shape.js';

export type ResourceName = 'connector' | 'access-client' | 'toolset' | 'connection';

export interface WriteResource {
  readonly name: ResourceName;
  /** What a row of the report measures, e.g. "connector PUT". */
  readonly label: string;
  /** The table both servers keep the rows in, and the column of the id (or name) in the path. */
  readonly table: string;
  readonly keyColumn: 'id' | 'name';
  /** The prefix of plugboard's uids in that table: each seeded copy gets one of its own. */
  readonly uidPrefix: string;
  readonly collectionPath: string;
  /** Ids sort in creation order and are valid plugboard slugs. */
  idOf(index: number): string;
  /** SQL that makes the id of copy `n` (the `n` of the seeding query) on each store. */
  readonly cloneId: { readonly sqlite: string; readonly postgres: string };
  /** The store hands out the ids (an identity column): after copies with ids of their own, it must go on after them. */
  readonly storeAssignsIds?: boolean;
  /** Other columns each copy needs a value of its own in (a name unique in its scope), as SQL of `n`. */
  readonly cloneColumns?: Readonly<Record<string, { readonly sqlite: string; readonly postgres: string }>>;
  createBody(id: string): Record<string, unknown>;
  /**
   * Whether a row as read back is done with the work its creation started (a toolset's conversion): only then
   * is it copied, so that no copy is changed behind the load generator's back (which would make its ETag stale).
   */
  readonly settled?: (view: { generation?: number; status?: { observedGeneration?: number | null } }) => boolean;
  readonly method: 'PUT' | 'PATCH';
  readonly contentType: string;
  /** The body of one write; `sequence` makes every request really change the row. */
  writeBody(id: string, sequence: number): string;
}

const idOfPrefix = (prefix: string) => (index: number) => `${prefix}-${String(index).padStart(5, '0')}`;
const cloneIdOf = (prefix: string) => ({
  sqlite: `printf('${prefix}-%05d', n)`,
  postgres: `'${prefix}-' || lpad(n::text, greatest(5, length(n::text)), '0')`,
});

/** Connector PUT: a full replacement of every field (issue 10's write). */
const connector: WriteResource = {
  name: 'connector',
  label: 'connector PUT',
  table: 'connectors',
  keyColumn: 'id',
  uidPrefix: 'ctu',
  collectionPath: `/api/v1/workspaces/${WORKSPACE}/connectors`,
  idOf: connectorId,
  cloneId: cloneIdOf('c'),
  createBody: connectorCreateBody,
  method: 'PUT',
  contentType: 'application/json',
  writeBody: putBody,
};

/** Access-client PATCH: a JSON merge patch of one field, validated whole by plugboard as any PATCH is. */
const accessClient: WriteResource = {
  name: 'access-client',
  label: 'access-client PATCH',
  table: 'access_clients',
  keyColumn: 'id',
  uidPrefix: 'acu',
  collectionPath: `/api/v1/workspaces/${WORKSPACE}/access-clients`,
  idOf: idOfPrefix('a'),
  cloneId: cloneIdOf('a'),
  createBody: (id) => ({
    id,
    name: `Client ${id}`,
    description: 'seeded by bench:write',
    toolsets: ['crm', 'billing'],
    rateLimit: 50,
  }),
  method: 'PATCH',
  contentType: 'application/merge-patch+json',
  writeBody: (_id, sequence) => JSON.stringify({ description: `bench write #${sequence}` }),
};

/** A small document: the toolset's spec is stored and checked on every write, its conversion is not redone. */
const TOOLSET_DOCUMENT = JSON.stringify({
  openapi: '3.0.3',
  info: { title: 'bench:write', version: '1' },
  servers: [{ url: 'https://api.example.com' }],
  paths: {
    '/items': {
      get: { operationId: 'listItems', responses: { '200': { description: 'ok' } } },
      post: { operationId: 'createItem', responses: { '201': { description: 'created' } } },
    },
  },
});

/** Toolset PATCH: a merge patch of one label, no change of the spec, so no reconversion (issue 26). */
const toolset: WriteResource = {
  name: 'toolset',
  label: 'toolset PATCH',
  table: 'toolsets',
  keyColumn: 'name',
  uidPrefix: 'tsu',
  collectionPath: `/api/v1/workspaces/${WORKSPACE}/toolsets`,
  idOf: idOfPrefix('t'),
  cloneId: cloneIdOf('t'),
  createBody: (name) => ({
    name,
    description: 'seeded by bench:write',
    labels: { team: 'platform' },
    spec: { schema: { type: 'OpenAPI', detail: TOOLSET_DOCUMENT } },
  }),
  // plugboard's reconciler converts the document after the create; the bare server has no status to wait for.
  settled: (view) =>
    view.status?.observedGeneration === undefined || view.status.observedGeneration === view.generation,
  method: 'PATCH',
  contentType: 'application/merge-patch+json',
  writeBody: (_name, sequence) => JSON.stringify({ labels: { seq: String(sequence) } }),
};

/**
 * Connection PATCH: a new password in the settings, so that every write seals a secret (and checks that it stays
 * where it was entered). Connection ids come from the store: in the fresh database of each server the template is
 * connection 1, and copy `n` is connection `n + 1`.
 */
const connection: WriteResource = {
  name: 'connection',
  label: 'connection PATCH (secret)',
  table: 'connections',
  keyColumn: 'id',
  uidPrefix: 'cnu',
  collectionPath: `/api/v1/workspaces/${WORKSPACE}/connections`,
  idOf: (index) => String(index + 1),
  cloneId: { sqlite: 'n + 1', postgres: 'n + 1' },
  storeAssignsIds: true,
  cloneColumns: { name: { sqlite: `'bench-' || (n + 1)`, postgres: `'bench-' || (n + 1)` } },
  createBody: (id) => ({
    name: `bench-${id}`,
    type: 'http',
    description: 'seeded by bench:write',
    content: { url: 'https://api.example.com', username: 'bench', password: 'seeded' },
  }),
  method: 'PATCH',
  contentType: 'application/merge-patch+json',
  writeBody: (_id, sequence) => JSON.stringify({ content: { password: `secret #${sequence}` } }),
};

export const RESOURCES: Readonly<Record<ResourceName, WriteResource>> = {
  connector,
  'access-client': accessClient,
  toolset,
  connection,
};
