// The resources whose single-row writes are row changes of the writer, as the row-change tests drive them.
import assert from 'node:assert/strict';
import type { TestApp } from './stores.js';
import { settledToolset } from './toolsets.js';

export const WS = '/api/v1/workspaces/default';

const DOCUMENT = JSON.stringify({
  openapi: '3.0.3',
  info: { title: 'Victims', version: '1' },
  servers: [{ url: 'https://api.example.com' }],
  paths: { '/ping': { get: { operationId: 'ping', responses: { '200': { description: 'ok' } } } } },
});

/** A resource whose single-row writes are row changes of the writer, and where its row lives. */
export interface Resource {
  readonly type: string;
  /** Creates row `name` and answers its id. */
  create(app: TestApp, name: string): Promise<string>;
  readonly path: (id: string) => string;
  /** A write that changes the row. */
  readonly change: { readonly method: 'PATCH' | 'PUT'; readonly body: object };
  /** Two more bodies for the same method, each changing the row again (another field than `change` where it has one). */
  readonly also: readonly [object, object];
  /** Fields of the bodies that a read never shows (secrets), as dotted paths. */
  readonly writeOnly?: readonly string[];
  /** The row's table and a condition naming it by id ($1). */
  readonly row: { readonly table: string; readonly where: string };
  readonly auditPath?: (id: string) => string;
}

const created = async (app: TestApp, path: string, body: object) => {
  const reply = await app.call('POST', path, { body });
  assert.equal(reply.status, 201, reply.text);
  return reply.body as Record<string, unknown>;
};

export const RESOURCES: readonly Resource[] = [
  {
    type: 'connector',
    create: async (app, name) => String((await created(app, `${WS}/connectors`, { id: name, name })).id),
    path: (id) => `${WS}/connectors/${id}`,
    change: { method: 'PATCH', body: { description: 'changed' } },
    also: [{ name: 'moved once' }, { name: 'moved twice' }],
    row: { table: 'connectors', where: `workspace_id = 'default' and id = $1` },
  },
  {
    type: 'connection',
    // A password in the settings and in the change: sealing is part of the change that is run again.
    create: async (app, name) =>
      String((await created(app, `${WS}/connections`, { name, type: 'http', content: { password: 'pw-0' } })).id),
    path: (id) => `${WS}/connections/${id}`,
    change: { method: 'PATCH', body: { description: 'changed', content: { password: 'pw-1' } } },
    also: [{ name: 'moved-once' }, { name: 'moved-twice' }],
    writeOnly: ['content.password'],
    row: { table: 'connections', where: 'id = $1::bigint' },
  },
  {
    type: 'toolset',
    create: async (app, name) => {
      await created(app, `${WS}/toolsets`, { name, spec: { schema: { type: 'OpenAPI', detail: DOCUMENT } } });
      // The reconciler's status write comes first, so that the only write in flight is the test's.
      await settledToolset(app, name);
      return name;
    },
    path: (id) => `${WS}/toolsets/${id}`,
    change: { method: 'PATCH', body: { description: 'changed' } },
    also: [{ labels: { moved: 'once' } }, { labels: { moved: 'twice' } }],
    row: { table: 'toolsets', where: `workspace_id = 'default' and name = $1` },
  },
  {
    type: 'access-client',
    create: async (app, name) => String((await created(app, `${WS}/access-clients`, { id: name, name })).id),
    path: (id) => `${WS}/access-clients/${id}`,
    change: { method: 'PATCH', body: { description: 'changed' } },
    also: [{ name: 'moved once' }, { name: 'moved twice' }],
    row: { table: 'access_clients', where: `workspace_id = 'default' and id = $1` },
  },
  {
    type: 'workspace',
    create: async (app, name) => String((await created(app, '/api/v1/workspaces', { id: name, name })).id),
    path: (id) => `/api/v1/workspaces/${id}`,
    change: { method: 'PATCH', body: { name: 'changed' } },
    also: [{ name: 'moved once' }, { name: 'moved twice' }],
    row: { table: 'workspaces', where: 'id = $1' },
    auditPath: (id) => `/api/v1/workspaces/${id}/audit`,
  },
  {
    type: 'member',
    create: async (app, name) => String((await created(app, `${WS}/api-keys`, { name, role: 'viewer' })).principalId),
    path: (id) => `${WS}/members/${id}`,
    change: { method: 'PUT', body: { role: 'editor' } },
    also: [{ role: 'admin' }, { role: 'viewer' }],
    row: { table: 'memberships', where: `workspace_id = 'default' and principal_id = $1` },
  },
  {
    type: 'access-key',
    create: async (app, name) => String((await created(app, `${WS}/access-keys`, { name, kind: 'huawei' })).id),
    path: (id) => `${WS}/access-keys/${id}`,
    change: { method: 'PATCH', body: { name: 'changed' } },
    also: [{ name: 'moved once' }, { name: 'moved twice' }],
    row: { table: 'access_keys', where: 'id = $1' },
  },
];

/** The revision an answer's ETag names (`"<revision>-<created>"`). */
export const revisionIn = (reply: { headers: Record<string, unknown> }) => {
  const match = /^"(\d+)-/.exec(String(reply.headers.etag));
  assert.ok(match, `no ETag with a revision: ${String(reply.headers.etag)}`);
  return Number(match[1]);
};
