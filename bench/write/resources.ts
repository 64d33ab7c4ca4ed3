/**
 * The writes `bench:write` measures, one per resource: which table both servers keep it in, how a seed row is
 * created, and the request the load generator sends. Kept in one place so that the bare server and plugboard are
 * asked to do the same work for each.
 */
import { WORKSPACE, connectorId, createBody as connectorCreateBody, putBody } from './connector-shape.js';

export type ResourceName = 'connector' | 'access-client';

export interface WriteResource {
  readonly name: ResourceName;
  /** What a row of the report measures, e.g. "connector PUT". */
  readonly label: string;
  /** The table both servers keep the rows in. */
  readonly table: string;
  /** The prefix of plugboard's uids in that table: each seeded copy gets one of its own. */
  readonly uidPrefix: string;
  readonly collectionPath: string;
  /** Ids sort in creation order and are valid plugboard slugs. */
  idOf(index: number): string;
  /** SQL that makes the id of copy `n` (the `n` of the seeding query) on each store. */
  readonly cloneId: { readonly sqlite: string; readonly postgres: string };
  createBody(id: string): Record<string, unknown>;
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

export const RESOURCES: Readonly<Record<ResourceName, WriteResource>> = {
  connector,
  'access-client': accessClient,
};
