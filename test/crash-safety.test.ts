// kill -9 during writes: writers keep updating connections, access clients (fields and token rotations), toolsets,
// workspaces, access keys and members' roles through a server process and record every acknowledged write; the server
// is killed mid-load, once every row has had a write acknowledged, and started again. Every acknowledged write must be
// there, nothing half-applied (each resource's audit trail matches its revision), and the store intact.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { freePort } from './support/haproxy.js';
import { createNode } from './support/nodes.js';
import { ENGINES, OWNER_KEY, createTestStore } from './support/stores.js';

const WS = '/api/v1/workspaces/default';
const WRITERS = 8;

for (const engine of ENGINES) {
  describe(`crash safety [${engine}]`, () => {
    it('keeps every acknowledged write and no half-applied one across a SIGKILL', async () => {
      const store = await createTestStore(engine);
      const node = createNode('crash', await freePort(), {
        ...store.env,
        PLUGBOARD_ADMIN_KEY: OWNER_KEY,
        RATE_LIMIT_WRITE_PER_SECOND: '0',
        RATE_LIMIT_READ_PER_SECOND: '0',
      });
      const call = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`${node.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${OWNER_KEY}`,
            ...(body === undefined
              ? {}
              : { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return {
          status: response.status,
          headers: Object.fromEntries(response.headers),
          body: (await response.json()) as any,
        };
      };
      try {
        await node.start();
        // Half the connections belong to a connector whose variables a writer keeps changing: each change reaches
        // them in the connector's transaction, so after the kill they all hold the connector's stored variables.
        const connector = await call('POST', `${WS}/connectors`, {
          id: 'crash-connector',
          name: 'crash connector',
          connectionVariables: [{ name: 'seq', value: '0' }],
        });
        assert.equal(connector.status, 201, JSON.stringify(connector.body));
        const ids: number[] = [];
        for (let i = 0; i < WRITERS; i++) {
          const created = await call('POST', `${WS}/connections`, {
            ...(i < WRITERS / 2 ? { connectorId: 'crash-connector' } : {}),
            name: `crash-${i}`,
            type: 'http',
            description: 'seq 0',
            content: { url: 'https://example.com', password: 'pw-0' },
          });
          assert.equal(created.status, 201, JSON.stringify(created.body));
          ids.push(created.body.id);
        }
        const acknowledged = new Map<number, number>(ids.map((id) => [id, 0]));
        const sent = new Map<number, number>(ids.map((id) => [id, 0]));
        let killed = false;
        const writer = async (id: number) => {
          for (let n = 1; !killed; n++) {
            sent.set(id, n);
            try {
              const reply = await call('PATCH', `${WS}/connections/${id}`, {
                description: `seq ${n}`,
                content: { password: `pw-${n}` },
              });
              if (reply.status === 200) acknowledged.set(id, n);
            } catch {
              return; // the server is gone: this write's outcome is unknown
            }
          }
        };
        let variablesAcknowledged = 0;
        let variablesSent = 0;
        const variablesWriter = async () => {
          for (let n = 1; !killed; n++) {
            variablesSent = n;
            try {
              const reply = await call('PATCH', `${WS}/connectors/crash-connector`, {
                connectionVariables: [{ name: 'seq', value: String(n) }],
              });
              if (reply.status === 200) variablesAcknowledged = n;
            } catch {
              return; // the server is gone: this write's outcome is unknown
            }
          }
        };
        // Access clients: each writer alternates a field change and a token rotation (both row changes).
        const clientIds = Array.from({ length: WRITERS / 2 }, (_, i) => `crash-client-${i}`);
        for (const id of clientIds) {
          const created = await call('POST', `${WS}/access-clients`, { id, name: id, description: 'seq 0' });
          assert.equal(created.status, 201, JSON.stringify(created.body));
        }
        const clientAcknowledged = new Map<string, number>(clientIds.map((id) => [id, 0]));
        const clientSent = new Map<string, number>(clientIds.map((id) => [id, 0]));
        const clientWriter = async (id: string) => {
          for (let n = 1; !killed; n++) {
            try {
              if (n % 2 === 0) {
                await call('POST', `${WS}/access-clients/${id}/secrets`, { gracePeriodSeconds: 60 });
                continue;
              }
              clientSent.set(id, n);
              const reply = await call('PATCH', `${WS}/access-clients/${id}`, { description: `seq ${n}` });
              if (reply.status === 200) clientAcknowledged.set(id, n);
            } catch {
              return; // the server is gone: this write's outcome is unknown
            }
          }
        };
        // Toolsets: label changes (a row change that leaves the spec, so no reconversion). Each is created and then
        // converted once by the reconciler, whose status write moves the revision without an audit event.
        const document = JSON.stringify({
          openapi: '3.0.3',
          info: { title: 'crash', version: '1' },
          servers: [{ url: 'https://api.example.com' }],
          paths: { '/ping': { get: { operationId: 'ping', responses: { '200': { description: 'ok' } } } } },
        });
        const toolsetNames = Array.from({ length: WRITERS / 2 }, (_, i) => `crash-toolset-${i}`);
        for (const name of toolsetNames) {
          const created = await call('POST', `${WS}/toolsets`, {
            name,
            labels: { seq: '0' },
            spec: { schema: { type: 'OpenAPI', detail: document } },
          });
          assert.equal(created.status, 201, JSON.stringify(created.body));
        }
        for (const name of toolsetNames)
          for (let settled = false; !settled;) {
            const read = await call('GET', `${WS}/toolsets/${name}`);
            settled = read.body.status.observedGeneration === read.body.generation;
            if (!settled) await new Promise((resolve) => setTimeout(resolve, 20));
          }
        const toolsetAcknowledged = new Map<string, number>(toolsetNames.map((name) => [name, 0]));
        const toolsetSent = new Map<string, number>(toolsetNames.map((name) => [name, 0]));
        const toolsetWriter = async (name: string) => {
          for (let n = 1; !killed; n++) {
            toolsetSent.set(name, n);
            try {
              const reply = await call('PATCH', `${WS}/toolsets/${name}`, { labels: { seq: String(n) } });
              if (reply.status === 200) toolsetAcknowledged.set(name, n);
            } catch {
              return; // the server is gone: this write's outcome is unknown
            }
          }
        };
        // Workspaces and access keys: renames, each to the writer's next sequence number. Members: role changes
        // through three roles, so that each is a change and the role stored tells which write was the last.
        const renamed: { path: string; audit: string; type: string; acknowledged: number; sent: number }[] = [];
        for (let i = 0; i < WRITERS / 4; i++) {
          const workspace = await call('POST', '/api/v1/workspaces', { id: `crash-ws-${i}`, name: 'seq 0' });
          assert.equal(workspace.status, 201, JSON.stringify(workspace.body));
          const path = `/api/v1/workspaces/crash-ws-${i}`;
          renamed.push({ path, audit: path, type: 'workspace', acknowledged: 0, sent: 0 });
          const key = await call('POST', `${WS}/access-keys`, { name: 'seq 0', kind: 'alibaba' });
          assert.equal(key.status, 201, JSON.stringify(key.body));
          renamed.push({
            path: `${WS}/access-keys/${key.body.id}`,
            audit: WS,
            type: 'access-key',
            acknowledged: 0,
            sent: 0,
          });
        }
        const renamer = async (target: (typeof renamed)[number]) => {
          for (let n = 1; !killed; n++) {
            target.sent = n;
            try {
              const reply = await call('PATCH', target.path, { name: `seq ${n}` });
              if (reply.status === 200) target.acknowledged = n;
            } catch {
              return; // the server is gone: this write's outcome is unknown
            }
          }
        };
        const memberIds: string[] = [];
        for (let i = 0; i < WRITERS / 4; i++) {
          const key = await call('POST', `${WS}/api-keys`, { name: `crash-member-${i}`, role: 'viewer' });
          assert.equal(key.status, 201, JSON.stringify(key.body));
          memberIds.push(key.body.principalId);
        }
        const roleOf = (n: number) => (['viewer', 'editor', 'admin'] as const)[n % 3];
        const memberAcknowledged = new Map<string, number>(memberIds.map((id) => [id, 0]));
        const memberSent = new Map<string, number>(memberIds.map((id) => [id, 0]));
        const roleChanger = async (principalId: string) => {
          for (let n = 1; !killed; n++) {
            memberSent.set(principalId, n);
            try {
              const reply = await call('PUT', `${WS}/members/${principalId}`, { role: roleOf(n) });
              if (reply.status === 200) memberAcknowledged.set(principalId, n);
            } catch {
              return; // the server is gone: this write's outcome is unknown
            }
          }
        };
        const load = Promise.all([
          variablesWriter(),
          ...ids.map(writer),
          ...clientIds.map(clientWriter),
          ...toolsetNames.map(toolsetWriter),
          ...renamed.map(renamer),
          ...memberIds.map(roleChanger),
        ]);
        // Let the writes run for a while, then kill the server in the middle of them: after 1.5 s, or later on a
        // loaded machine, once every row has had a write acknowledged (so that no resource passes for want of
        // writes) and the connection writers more than one each, on average.
        const acknowledgedSoFar = () => [...acknowledged.values()].reduce((a, b) => a + b, 0);
        const rowsWithoutAcknowledgedWrite = () =>
          [
            ['connector variables', variablesAcknowledged] as const,
            ...[...acknowledged].map(([id, n]) => [`connection ${id}`, n] as const),
            ...[...clientAcknowledged].map(([id, n]) => [`access client ${id}`, n] as const),
            ...[...toolsetAcknowledged].map(([name, n]) => [`toolset ${name}`, n] as const),
            ...renamed.map((target) => [target.path, target.acknowledged] as const),
            ...[...memberAcknowledged].map(([id, n]) => [`member ${id}`, n] as const),
          ]
            .filter(([, n]) => n === 0)
            .map(([row]) => row);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        for (
          const deadline = Date.now() + 20_000;
          (acknowledgedSoFar() <= WRITERS || rowsWithoutAcknowledgedWrite().length > 0) && Date.now() < deadline;
        )
          await new Promise((resolve) => setTimeout(resolve, 100));
        const acknowledgedBefore = acknowledgedSoFar();
        assert.ok(acknowledgedBefore > WRITERS, `only ${acknowledgedBefore} writes before the kill`);
        assert.deepEqual(rowsWithoutAcknowledgedWrite(), [], 'rows without an acknowledged write before the kill');
        await node.stop('SIGKILL');
        killed = true;
        await load;

        await node.start();
        const storedConnector = await call('GET', `${WS}/connectors/crash-connector`);
        const variables = storedConnector.body.connectionVariables;
        const variablesSeq = Number(variables[0].value);
        assert.ok(variablesSeq >= variablesAcknowledged, `connector seq ${variablesSeq}, acknowledged more`);
        assert.ok(variablesSeq <= variablesSent, `connector seq ${variablesSeq} was never sent`);
        for (const id of ids) {
          const stored = await call('GET', `${WS}/connections/${id}`);
          assert.equal(stored.status, 200);
          if (stored.body.connectorId === 'crash-connector')
            assert.deepEqual(
              stored.body.variables,
              variables,
              `connection ${id}: the connector's variables, all or none`,
            );
          const seq = Number(/^seq (\d+)$/.exec(stored.body.description)?.[1]);
          assert.ok(
            seq >= acknowledged.get(id)!,
            `connection ${id}: stored seq ${seq}, acknowledged ${acknowledged.get(id)}`,
          );
          assert.ok(seq <= sent.get(id)!, `connection ${id}: stored seq ${seq} was never sent`);
          // One audit event per stored revision: the create and every update that landed, none more or less.
          const events: any[] = [];
          for (let cursor: string | null = null, first = true; first || cursor; first = false) {
            const page = await call(
              'GET',
              `${WS}/connections/${id}/history?limit=200${cursor ? `&cursor=${cursor}` : ''}`,
            );
            assert.equal(page.status, 200);
            events.push(...page.body.items);
            cursor = page.body.nextCursor;
          }
          assert.equal(
            events.length,
            stored.body.revision,
            `connection ${id}: revision ${stored.body.revision}, ${events.length} audit events`,
          );
          assert.equal(events[0].toRevision, stored.body.revision);
        }
        for (const id of clientIds) {
          const stored = await call('GET', `${WS}/access-clients/${id}`);
          assert.equal(stored.status, 200);
          const seq = Number(/^seq (\d+)$/.exec(stored.body.description)?.[1]);
          assert.ok(seq >= clientAcknowledged.get(id)!, `client ${id}: stored seq ${seq}, acknowledged more`);
          assert.ok(seq <= clientSent.get(id)!, `client ${id}: stored seq ${seq} was never sent`);
          const events: any[] = [];
          for (let cursor: string | null = null, first = true; first || cursor; first = false) {
            const page = await call(
              'GET',
              `${WS}/audit?resourceType=access-client&resourceId=${id}&limit=200${cursor ? `&cursor=${cursor}` : ''}`,
            );
            assert.equal(page.status, 200);
            events.push(...page.body.items);
            cursor = page.body.nextCursor;
          }
          assert.equal(
            events.length,
            stored.body.revision,
            `client ${id}: revision ${stored.body.revision}, ${events.length} audit events`,
          );
          assert.equal(events[0].toRevision, stored.body.revision);
          // A rotation's tokens are written with its revision: one token per rotation that landed, none more.
          const rotations = events.filter((e) => e.action === 'access-client:rotate-secret').length;
          assert.equal(stored.body.secrets.length, rotations + 1, JSON.stringify(stored.body.secrets));
        }
        for (const name of toolsetNames) {
          const stored = await call('GET', `${WS}/toolsets/${name}`);
          assert.equal(stored.status, 200);
          const seq = Number(stored.body.labels.seq);
          assert.ok(seq >= toolsetAcknowledged.get(name)!, `toolset ${name}: stored seq ${seq}, acknowledged more`);
          assert.ok(seq <= toolsetSent.get(name)!, `toolset ${name}: stored seq ${seq} was never sent`);
          const revision = Number(/^"(\d+)-/.exec(String(stored.headers.etag))?.[1]);
          const events: any[] = [];
          for (let cursor: string | null = null, first = true; first || cursor; first = false) {
            const page = await call(
              'GET',
              `${WS}/audit?resourceType=toolset&resourceId=${name}&limit=200${cursor ? `&cursor=${cursor}` : ''}`,
            );
            assert.equal(page.status, 200);
            events.push(...page.body.items);
            cursor = page.body.nextCursor;
          }
          // The create, every update that landed, and the reconciler's one status write (no audit event).
          assert.equal(events.length, revision - 1, `toolset ${name}: revision ${revision}, ${events.length} events`);
          assert.equal(events.filter((e) => e.action === 'toolset:update').length, seq);
        }
        const auditOf = async (audit: string, type: string, id: string) => {
          const events: any[] = [];
          for (let cursor: string | null = null, first = true; first || cursor; first = false) {
            const page = await call(
              'GET',
              `${audit}/audit?resourceType=${type}&resourceId=${id}&limit=200${cursor ? `&cursor=${cursor}` : ''}`,
            );
            assert.equal(page.status, 200);
            events.push(...page.body.items);
            cursor = page.body.nextCursor;
          }
          return events;
        };
        for (const target of renamed) {
          const stored = await call('GET', target.path);
          assert.equal(stored.status, 200);
          const seq = Number(/^seq (\d+)$/.exec(stored.body.name)?.[1]);
          assert.ok(
            seq >= target.acknowledged,
            `${target.path}: stored seq ${seq}, acknowledged ${target.acknowledged}`,
          );
          assert.ok(seq <= target.sent, `${target.path}: stored seq ${seq} was never sent`);
          const events = await auditOf(target.audit, target.type, target.path.split('/').pop()!);
          // The create and one event per rename that landed (every one changed the name).
          assert.equal(events.length, stored.body.revision, `${target.path}: revision ${stored.body.revision}`);
          assert.equal(events.filter((e) => e.action === `${target.type}:update`).length, stored.body.revision - 1);
        }
        for (const principalId of memberIds) {
          const stored = await call('GET', `${WS}/members/${principalId}`);
          assert.equal(stored.status, 200);
          // Each write changed the role: the revision counts the writes that landed, the last of which set the role.
          const seq = stored.body.revision - 1;
          const acknowledgedSeq = memberAcknowledged.get(principalId)!;
          assert.ok(
            seq >= acknowledgedSeq,
            `member ${principalId}: ${seq} writes stored, ${acknowledgedSeq} acknowledged`,
          );
          assert.ok(seq <= memberSent.get(principalId)!, `member ${principalId}: write ${seq} was never sent`);
          assert.equal(stored.body.role, roleOf(seq), `member ${principalId}: the role of write ${seq}`);
          const events = (await auditOf(WS, 'member', principalId)).filter((e) => e.action === 'member:update');
          assert.equal(events.length, seq, `member ${principalId}: revision ${stored.body.revision}`);
          if (events.length > 0) assert.equal(events[0].toRevision, stored.body.revision);
        }
        await node.stop('SIGTERM');

        if (engine === 'sqlite') {
          const file = new SqliteDatabase(join(store.env.DATA_DIR!, 'plugboard.db'), { readonly: true });
          try {
            assert.deepEqual(file.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
            assert.deepEqual(file.pragma('foreign_key_check'), []);
          } finally {
            file.close();
          }
        } else {
          // PostgreSQL has no integrity_check; its WAL replay is what a crash exercises. Check that every row
          // reads back and that the audit trail agrees with the data table as a whole.
          const client = new pg.Client({ connectionString: store.env.DATABASE_URL });
          await client.connect();
          try {
            const { rows } = await client.query(
              `select c.id, c.revision, (select count(*) from audit_events a where a.resource_type = 'connection' and a.resource_id = c.id::text)::int as events from connections c`,
            );
            assert.equal(rows.length, WRITERS);
            for (const row of rows) assert.equal(row.events, row.revision, JSON.stringify(row));
          } finally {
            await client.end();
          }
        }
      } finally {
        await node.stop('SIGKILL');
        await store.drop();
      }
    });
  });
}
