import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../src/storage/schema.js';
import { writeWithRetry } from '../src/services/write-retry.js';
import { connectorKey, connectorRows } from '../src/storage/connector-repo.js';
import { createWriter, type Writer } from '../src/storage/writer.js';
import { createRowChangeBatcher } from '../src/storage/row-change-batcher.js';
import type { RowStore } from '../src/storage/row-change.js';
import type { Connector } from '../src/domain/connector.js';
import { compiledOnce } from '../src/storage/compiled-once.js';
import { openDb } from '../src/storage/database.js';
import { systemClock } from '../src/services/clock.js';
import { createAccessClientService } from '../src/services/access-client-service.js';
import { createConnectionService } from '../src/services/connection-service.js';
import { ENGINES, ownerActor, startTestApp, type TestApp } from './support/stores.js';

const WS = '/api/v1/workspaces/default';

/** A Kysely on the same store that counts the statements run through it (`statements`, which a test may reset). */
function countingStatements(db: Kysely<Database>) {
  const counter = {
    statements: 0,
    direct: db.withPlugin({
      transformQuery: (args) => args.node,
      transformResult: async (args) => {
        counter.statements++;
        return args.result;
      },
    }),
  };
  return counter;
}

// Connector PUTs and PATCHes are row changes of the writer: on PostgreSQL the ones that arrive together are
// committed as one batch. These tests send many at once and check that each is answered as if it ran alone.
for (const engine of ENGINES) {
  describe(`connector writes sent together [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine);
      for (let i = 0; i < 10; i++)
        assert.equal(
          (await app.call('POST', `${WS}/connectors`, { body: { id: `c${i}`, name: `C${i}` } })).status,
          201,
        );
    });
    after(async () => {
      await app?.stop();
    });

    const auditOf = async (id: string) => {
      const reply = await app.call('GET', `${WS}/audit?resourceType=connector&resourceId=${id}&limit=200`);
      assert.equal(reply.status, 200, reply.text);
      return (reply.body.items as { action: string; fromRevision: number; toRevision: number }[]).filter(
        (e) => e.action === 'connector:update',
      );
    };

    it('applies every PUT of one connector, one after another: no update is lost', async () => {
      const replies = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          app.call('PUT', `${WS}/connectors/c0`, {
            body: { name: 'C0', description: `d${i}` },
            headers: { 'if-match': '*' },
          }),
        ),
      );
      assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]), replies.map((r) => r.text).join('\n'));
      const revisions = replies.map((r) => r.body.revision as number).sort((a, b) => a - b);
      assert.deepEqual(
        revisions,
        Array.from({ length: 30 }, (_, i) => i + 2),
        'each answer has a revision of its own',
      );
      assert.equal(new Set(replies.map((r) => r.headers.etag)).size, 30);
      const stored = await app.call('GET', `${WS}/connectors/c0`);
      assert.equal(stored.body.revision, 31);
      assert.equal(
        stored.body.description,
        replies.find((r) => r.body.revision === 31)!.body.description,
        'the last one applied is the one stored',
      );
      const events = await auditOf('c0');
      assert.equal(events.length, 30);
      assert.deepEqual(
        events.map((e) => e.fromRevision),
        Array.from({ length: 30 }, (_, i) => 30 - i),
        'newest first: audit ids follow the revisions',
      );
      for (const event of events) assert.equal(event.toRevision, event.fromRevision + 1);
    });

    it('lets exactly one of many writers holding the same ETag win; the others get 412', async () => {
      const current = await app.call('GET', `${WS}/connectors/c1`);
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          app.call('PUT', `${WS}/connectors/c1`, {
            body: { name: 'C1', description: `race ${i}` },
            headers: { 'if-match': current.headers.etag as string },
          }),
        ),
      );
      assert.equal(replies.filter((r) => r.status === 200).length, 1, replies.map((r) => r.status).join());
      assert.equal(replies.filter((r) => r.status === 412).length, 19);
      assert.equal((await auditOf('c1')).length, 1);
      assert.equal((await app.call('GET', `${WS}/connectors/c1`)).body.revision, current.body.revision + 1);
    });

    it('answers each request of a mixed batch for itself: changes, misses, stale ETags, no-ops and PATCHes', async () => {
      const before = await Promise.all([2, 3, 4, 5].map((i) => app.call('GET', `${WS}/connectors/c${i}`)));
      const replies = await Promise.all([
        app.call('PUT', `${WS}/connectors/c2`, {
          body: { name: 'C2 renamed' },
          headers: { 'if-match': before[0]!.headers.etag as string },
        }),
        app.call('PUT', `${WS}/connectors/missing`, { body: { name: 'nobody' } }),
        app.call('PUT', `${WS}/connectors/c3`, { body: { name: 'C3' }, headers: { 'if-match': '"999"' } }),
        app.call('PUT', `${WS}/connectors/c4`, { body: { name: 'C4' } }),
        app.call('PATCH', `${WS}/connectors/c5`, {
          body: { description: 'patched', connectionVariables: [{ name: 'region', value: 'eu' }] },
        }),
        app.call('PUT', `${WS}/connectors/c6`, { body: { name: 'C6', description: 'six' } }),
      ]);
      assert.deepEqual(
        replies.map((r) => r.status),
        [200, 404, 412, 200, 200, 200],
        replies.map((r) => r.text).join('\n'),
      );
      assert.equal(replies[0].body.name, 'C2 renamed');
      assert.equal(replies[0].body.revision, before[0]!.body.revision + 1);
      assert.equal(replies[3].body.revision, before[2]!.body.revision, 'a PUT that changes nothing keeps the revision');
      assert.equal((await auditOf('c4')).length, 0, 'and writes no audit row');
      assert.deepEqual(replies[4].body.connectionVariables, [{ name: 'region', value: 'eu' }]);
      assert.equal(
        (await app.call('GET', `${WS}/connectors/c3`)).body.revision,
        before[1]!.body.revision,
        'the stale one changed nothing',
      );
      assert.equal((await app.call('GET', `${WS}/connectors/c6`)).body.description, 'six');
    });

    if (engine === 'postgres') {
      it('commits changes that arrive together in one transaction, and runs them one by one when that transaction fails', async () => {
        let transactions = 0;
        const write: Writer['write'] = (work) => {
          transactions++;
          return app.db.kysely.transaction().execute(work);
        };
        const change = createRowChangeBatcher(write, { maxBatch: 64, inFlight: 1 });
        const rows = connectorRows('postgres');
        const rename = (id: string, name: string, fail = false) =>
          change(rows, {
            key: connectorKey('default', id),
            apply: (current) => {
              if (!current) throw new Error(`no ${id}`);
              return {
                next: { ...current, name, revision: current.revision + 1 },
                result: name,
                after: fail ? async () => Promise.reject(new Error('after failed')) : undefined,
              };
            },
          });
        const together = await Promise.allSettled([
          rename('c7', 'seven'),
          rename('c8', 'eight'),
          rename('nope', 'x'),
          rename('c9', 'nine'),
        ]);
        assert.deepEqual(
          together.map((s) => s.status),
          ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
        );
        assert.equal(transactions, 1, 'one transaction for the batch');

        transactions = 0;
        const failing = await Promise.allSettled([
          rename('c7', 'seven again'),
          rename('c8', 'eight again', true),
          rename('c9', 'nine again'),
        ]);
        assert.deepEqual(
          failing.map((s) => s.status),
          ['fulfilled', 'rejected', 'fulfilled'],
        );
        assert.equal((failing[1] as PromiseRejectedResult).reason.message, 'after failed');
        assert.equal(transactions, 4, 'the batch, then each change alone');
        const names = await Promise.all(
          ['c7', 'c8', 'c9'].map(async (id) => (await app.call('GET', `${WS}/connectors/${id}`)).body.name),
        );
        assert.deepEqual(names, ['seven again', 'eight', 'nine again']);
      });

      it('writes a batch without a transaction, and changes again under lock a row another writer moved meanwhile', async () => {
        const quoted = { tags: { team: ['"core" é 😀'] }, connectionVariables: [{ name: 'q', value: 'a \\ "b"' }] };
        for (const id of ['o1', 'o2', 'o3']) {
          const created = await app.call('POST', `${WS}/connectors`, { body: { id, name: id, ...quoted } });
          assert.equal(created.status, 201, created.text);
        }
        const jsonColumns = () =>
          sql<object>`select tags, auth_scheme_configs, connection_variables, versions from connectors where workspace_id = 'default' and id = 'o1'`.execute(
            app.db.kysely,
          );
        const insertedJson = (await jsonColumns()).rows[0];
        let transactions = 0;
        const write: Writer['write'] = (work) => {
          transactions++;
          return app.db.kysely.transaction().execute(work);
        };
        const counted = countingStatements(app.db.kysely);
        const { direct } = counted;
        const base = connectorRows('postgres');
        let meanwhile: (() => Promise<unknown>) | undefined;
        const rows: RowStore<Connector> = {
          ...base,
          optimistic: {
            ...base.optimistic!,
            async peek(db, keys) {
              const read = await base.optimistic!.peek(db, keys);
              await meanwhile?.();
              meanwhile = undefined;
              return read;
            },
          },
        };
        const change = createRowChangeBatcher(write, { maxBatch: 64, inFlight: 1, direct });
        /** Renames `id`; with `atRevision`, only that revision of it (as an If-Match would). */
        const rename = (id: string, name: string, atRevision?: number) =>
          change(rows, {
            key: connectorKey('default', id),
            apply: (current) => {
              if (!current) throw new Error(`no ${id}`);
              if (atRevision !== undefined && current.revision !== atRevision)
                throw new Error(`${id} is at revision ${current.revision}`);
              // New objects for the JSON columns, equal to the stored ones: they travel in the batch's JSON again.
              const next = {
                ...current,
                name,
                tags: structuredClone(current.tags),
                connectionVariables: structuredClone(current.connectionVariables),
                revision: current.revision + 1,
              };
              const audit = {
                at: new Date().toISOString(),
                principalId: 'test',
                workspaceId: 'default',
                action: 'connector:update',
                resourceType: 'connector',
                resourceId: id,
                requestId: `rename ${id} ${name}`,
                fromRevision: current.revision,
                toRevision: next.revision,
                changedFields: ['name'],
              };
              return { next, audit, result: next.revision };
            },
          });
        const stored = async (id: string) =>
          (await app.call('GET', `${WS}/connectors/${id}`)).body as {
            name: string;
            description: string;
            revision: number;
          };
        const audits = async (id: string) => (await auditOf(id)).length;

        const together = await Promise.allSettled([rename('o1', 'one'), rename('o2', 'two'), rename('nope', 'x')]);
        assert.deepEqual(
          together.map((s) => s.status),
          ['fulfilled', 'fulfilled', 'rejected'],
        );
        assert.equal(transactions, 0, 'no transaction');
        assert.equal(counted.statements, 2, 'one read, one write with its audit rows');
        assert.deepEqual([(await stored('o1')).name, (await stored('o2')).name], ['one', 'two']);
        assert.deepEqual([await audits('o1'), await audits('o2')], [1, 1]);
        assert.deepEqual(
          (await jsonColumns()).rows[0],
          insertedJson,
          'JSON columns stored as the same text as an INSERT stores them',
        );

        const before = await stored('o2');
        meanwhile = () =>
          sql`update connectors set description = 'moved', revision = revision + 1 where workspace_id = 'default' and id = 'o2'`.execute(
            app.db.kysely,
          );
        transactions = 0;
        counted.statements = 0;
        const [o2, o3] = await Promise.all([rename('o2', 'two again'), rename('o3', 'three')]);
        assert.equal(transactions, 1, 'the moved row, under its lock');
        assert.equal(counted.statements, 2, 'the others as before');
        assert.equal(o2, before.revision + 2, 'applied to the row the other writer left');
        assert.deepEqual(await stored('o2'), {
          ...(await stored('o2')),
          name: 'two again',
          description: 'moved',
          revision: before.revision + 2,
        });
        assert.equal(await audits('o2'), 2, 'one audit row per change: none for the write that did not land');
        assert.equal(o3, (await stored('o3')).revision);
        assert.equal((await stored('o3')).name, 'three');

        // Rows this batcher wrote last are not read again.
        transactions = 0;
        counted.statements = 0;
        assert.equal(await rename('o1', 'one again'), (await stored('o1')).revision);
        assert.deepEqual([counted.statements, transactions], [1, 0], 'one statement for a row it wrote last');

        // A remembered row another writer moved: a change that fails on the old copy is tried on the stored row.
        await sql`update connectors set description = 'moved again', revision = revision + 1 where workspace_id = 'default' and id = 'o1'`.execute(
          app.db.kysely,
        );
        const moved = (await stored('o1')).revision;
        assert.equal(await rename('o1', 'one, moved', moved), moved + 1);
        assert.deepEqual([(await stored('o1')).name, (await stored('o1')).description], ['one, moved', 'moved again']);
        await assert.rejects(
          rename('o1', 'stale', moved),
          /o1 is at revision/,
          'and a change that fails on the stored row fails',
        );

        // Deleted and created again under its id, at the revision the batcher remembers: not written over.
        const remembered = await stored('o3');
        assert.equal((await app.call('DELETE', `${WS}/connectors/o3`)).status, 204);
        assert.equal(
          (await app.call('POST', `${WS}/connectors`, { body: { id: 'o3', name: 'o3', description: 'second life' } }))
            .status,
          201,
        );
        while ((await stored('o3')).revision < remembered.revision) {
          assert.equal(
            (
              await app.call('PUT', `${WS}/connectors/o3`, {
                body: { name: 'o3', description: 'second life', tags: { n: [String(Math.random())] } },
              })
            ).status,
            200,
          );
        }
        assert.equal((await stored('o3')).revision, remembered.revision);
        assert.equal(await rename('o3', 'three, again'), remembered.revision + 1);
        const reborn = (await app.call('GET', `${WS}/connectors/o3`)).body as {
          name: string;
          description: string;
          createdAt: string;
        };
        assert.deepEqual([reborn.name, reborn.description], ['three, again', 'second life']);
        assert.notEqual(reborn.createdAt, (remembered as unknown as { createdAt: string }).createdAt);
      });

      it('reads the row of a change while it waits for a batch, and answers from that read only the changes that arrived before it', async () => {
        for (const id of ['w1', 'w2', 'w3', 'w4'])
          assert.equal((await app.call('POST', `${WS}/connectors`, { body: { id, name: id } })).status, 201);
        const base = connectorRows('postgres');
        const idOf = (key: string) => key.split('\u0000')[1]!;
        /** Reads of these ids wait for the promise: the batch that made them holds the only batch slot. */
        const holds = new Map<string, Promise<void>>();
        const hold = (id: string) => {
          let release!: () => void;
          holds.set(id, new Promise<void>((resolve) => (release = resolve)));
          return release;
        };
        const reads: string[][] = [];
        const readDone = new Map<string, () => void>();
        const wasRead = (id: string) => new Promise<void>((resolve) => readDone.set(id, resolve));
        const rows: RowStore<Connector> = {
          ...base,
          optimistic: {
            ...base.optimistic!,
            async peek(db, keys) {
              reads.push(keys.map(idOf));
              const found = await base.optimistic!.peek(db, keys);
              for (const key of keys) readDone.get(idOf(key))?.();
              for (const key of keys) await holds.get(idOf(key));
              return found;
            },
          },
        };
        let transactions = 0;
        const write: Writer['write'] = (work) => {
          transactions++;
          return app.db.kysely.transaction().execute(work);
        };
        const change = createRowChangeBatcher(write, { maxBatch: 64, inFlight: 1, direct: app.db.kysely });
        /** Sets the description (nothing to write when it is already that); with `atRevision`, only at that revision. */
        const describe = (id: string, description: string | null, atRevision?: number) =>
          change(rows, {
            key: connectorKey('default', id),
            apply: (current) => {
              if (!current) throw new Error(`no ${id}`);
              if (atRevision !== undefined && current.revision !== atRevision)
                throw new Error(`${id} is at revision ${current.revision}`);
              if (current.description === description) return { result: current.revision };
              const next = { ...current, description, revision: current.revision + 1 };
              return { next, result: next.revision };
            },
          });
        const tick = () => new Promise((resolve) => setImmediate(resolve));
        const revisionOf = async (id: string) =>
          (await app.call('GET', `${WS}/connectors/${id}`)).body.revision as number;
        const [w1, w2, w3, w4] = (await Promise.all(['w1', 'w2', 'w3', 'w4'].map(revisionOf))) as [
          number,
          number,
          number,
          number,
        ];
        /** Waits for the read of `id`, which must come while the slot is held. */
        const readWhileHeld = (read: Promise<void>, id: string) =>
          Promise.race([
            read,
            new Promise((_, reject) =>
              setTimeout(() => reject(new Error(`${id} was not read while its change waited`)), 5000).unref(),
            ),
          ]);

        // w1 takes the only batch slot and holds it; a change of w2 that arrives meanwhile has its row read while it waits,
        // and, as it changes nothing, is answered from that read.
        let release = hold('w1');
        const first = describe('w1', 'held');
        await tick();
        const w2Read = wasRead('w2');
        const unchanged = describe('w2', null);
        await readWhileHeld(w2Read, 'w2');
        assert.deepEqual(reads, [['w1'], ['w2']], 'w2 was read while w1 held the slot');
        release();
        assert.equal(await first, w1 + 1);
        assert.equal(await unchanged, w2);
        assert.equal(transactions, 0);

        // The same with w3 holding the slot and w4 waiting, but another writer moves w4 after its read, and a change that
        // needs the new revision arrives then. It must not be refused from the read made before it arrived: the row's
        // changes take the locking path, and see the move.
        release = hold('w3');
        const third = describe('w3', 'held');
        await tick();
        const w4Read = wasRead('w4');
        const before = describe('w4', null);
        await readWhileHeld(w4Read, 'w4');
        await sql`update connectors set name = 'moved', revision = revision + 1 where workspace_id = 'default' and id = 'w4'`.execute(
          app.db.kysely,
        );
        const after = describe('w4', 'after the move', w4 + 1);
        release();
        assert.equal(await third, w3 + 1);
        assert.deepEqual([await before, await after], [w4 + 1, w4 + 2]);
        assert.equal(transactions, 1, 'the changes of w4, under its lock');
        const stored = (await app.call('GET', `${WS}/connectors/w4`)).body as { name: string; description: string };
        assert.deepEqual([stored.name, stored.description], ['moved', 'after the move']);
      });

      it('remembers at most `rememberedRows` rows, forgetting the least recently used first', async () => {
        const ids = Array.from({ length: 12 }, (_, i) => `lru${i}`);
        for (const id of ids)
          assert.equal((await app.call('POST', `${WS}/connectors`, { body: { id, name: id } })).status, 201);
        const counted = countingStatements(app.db.kysely);
        const change = createRowChangeBatcher((work) => app.db.kysely.transaction().execute(work), {
          maxBatch: 64,
          inFlight: 1,
          direct: counted.direct,
          rememberedRows: 10,
        });
        const rows = connectorRows('postgres');
        const rename = (id: string, name: string) =>
          change(rows, {
            key: connectorKey('default', id),
            apply: (current) => ({ next: { ...current!, name, revision: current!.revision + 1 }, result: name }),
          });
        const costOf = async (id: string, name: string) => {
          counted.statements = 0;
          assert.equal(await rename(id, name), name);
          return counted.statements;
        };
        for (const id of ids.slice(0, 10)) assert.equal(await costOf(id, `${id} once`), 2, `${id}: read, then write`);
        assert.equal(await costOf('lru0', 'again'), 1, 'remembered, and now the most recently used');
        for (const id of ids.slice(10)) assert.equal(await costOf(id, `${id} once`), 2, `${id}: read, then write`);
        // Ten places: the eleventh row made it forget the least recently used rows down to nine (lru1 and lru2).
        assert.equal(await costOf('lru0', 'again and again'), 1, 'used again before the others: kept');
        assert.equal(await costOf('lru3', 'again'), 1);
        assert.equal(await costOf('lru1', 'again'), 2, 'forgotten');
        assert.deepEqual(
          (
            await Promise.all(ids.map(async (id) => (await app.call('GET', `${WS}/connectors/${id}`)).body.name))
          ).filter((name) => name.startsWith('again')).length,
          3,
        );
      });

      it('changes a connection this node created without reading it first, and only over the version it created', async () => {
        const counted = countingStatements(app.db.kysely);
        const write: Writer['write'] = (work) => app.db.kysely.transaction().execute(work);
        const change = createRowChangeBatcher(write, { maxBatch: 64, inFlight: 1, direct: counted.direct });
        const refused = () => Promise.reject(new Error('no connection test here'));
        const connections = createConnectionService({
          db: app.db,
          writer: { write, change, remember: change.remember },
          vault: app.vault,
          clock: systemClock,
          tester: { test: refused },
        });
        const actor = await ownerActor(app, 'remembered-create');
        const costOf = async (id: number, password: string) => {
          counted.statements = 0;
          const patched = await connections.patch(actor, 'default', id, { content: { password } });
          return { statements: counted.statements, revision: patched.revision };
        };
        const created = await connections.create(actor, 'default', {
          name: 'created here',
          type: 'http',
          content: { url: 'https://api.example.com', password: 'first' },
        });
        assert.deepEqual(await costOf(created.id, 'second'), { statements: 1, revision: 2 }, 'the write alone');
        assert.deepEqual(await costOf(created.id, 'third!'), { statements: 1, revision: 3 });

        // Created through another node (the app's own writer): this one does not know it, and reads it first.
        const elsewhere = (
          await app.call('POST', `${WS}/connections`, {
            body: { name: 'created elsewhere', type: 'http', content: { password: 'first' } },
          })
        ).body as { id: number };
        assert.deepEqual(await costOf(elsewhere.id, 'second'), { statements: 2, revision: 2 }, 'read, then write');

        // Created here, then moved by another node: the remembered version does not match, and the change goes under
        // lock on the row as it is now (the other node's description kept, the new password sealed over it).
        const moved = await connections.create(actor, 'default', {
          name: 'moved elsewhere',
          type: 'http',
          content: { password: 'first' },
        });
        const other = await app.call('PATCH', `${WS}/connections/${moved.id}`, {
          body: { description: 'changed by another node' },
        });
        assert.equal(other.status, 200, other.text);
        const again = await connections.patch(actor, 'default', moved.id, { content: { password: 'second' } });
        assert.deepEqual([again.revision, again.description], [3, 'changed by another node']);
        const audit = await app.call('GET', `${WS}/audit?resourceType=connection&resourceId=${moved.id}`);
        assert.deepEqual(
          (audit.body.items as { toRevision: number }[]).map((e) => e.toRevision).sort(),
          [1, 2, 3],
          audit.text,
        );
      });

      it('renames an access client this node created without reading it first, and a rotated one only over its new revision', async () => {
        const counted = countingStatements(app.db.kysely);
        const write: Writer['write'] = (work) => app.db.kysely.transaction().execute(work);
        const change = createRowChangeBatcher(write, { maxBatch: 64, inFlight: 1, direct: counted.direct });
        const clients = createAccessClientService({
          db: app.db,
          writer: { write, change, remember: change.remember },
          clock: systemClock,
        });
        const actor = await ownerActor(app, 'remembered-client');
        const costOf = async (id: string, name: string) => {
          counted.statements = 0;
          const patched = await clients.patch(actor, 'default', id, { name });
          return { statements: counted.statements, revision: patched.revision };
        };
        await clients.create(actor, 'default', { id: 'made-here', name: 'made here' });
        assert.deepEqual(await costOf('made-here', 'renamed'), { statements: 1, revision: 2 }, 'the write alone');

        const elsewhere = await app.call('POST', `${WS}/access-clients`, { body: { id: 'made-elsewhere', name: 'x' } });
        assert.equal(elsewhere.status, 201, elsewhere.text);
        assert.deepEqual(
          await costOf('made-elsewhere', 'renamed'),
          { statements: 3, revision: 2 },
          'two reads, a write',
        );

        // Created here, its secret rotated by another node: the remembered revision is stale, and the rename goes
        // under lock over the rotated client, whose two secrets it keeps.
        await clients.create(actor, 'default', { id: 'rotated-elsewhere', name: 'r' });
        const rotated = await app.call('POST', `${WS}/access-clients/rotated-elsewhere/secrets`, {
          body: { gracePeriodSeconds: 60 },
        });
        assert.equal(rotated.status, 200, rotated.text);
        const renamed = await clients.patch(actor, 'default', 'rotated-elsewhere', { name: 'renamed' });
        assert.deepEqual([renamed.revision, renamed.secrets.length], [3, 2]);
        const stored = await app.call('GET', `${WS}/access-clients/rotated-elsewhere`);
        assert.deepEqual([stored.body.name, stored.body.revision, stored.body.secrets.length], ['renamed', 3, 2]);
      });

      it('sends the batch statements as statements each connection prepares once', async () => {
        const db = openDb({ engine: 'postgres', location: app.store.env.DATABASE_URL!, poolSize: 1 });
        try {
          const change = createRowChangeBatcher((work) => db.kysely.transaction().execute(work), {
            maxBatch: 64,
            inFlight: 1,
            direct: db.kysely,
          });
          const rows = connectorRows('postgres');
          const rename = (id: string, name: string) =>
            change(rows, {
              key: connectorKey('default', id),
              apply: (current) => ({ next: { ...current!, name, revision: current!.revision + 1 }, result: name }),
            });
          const jsonOf = async (id: string) =>
            (
              await sql<object>`select tags, auth_scheme_configs, connection_variables, versions from connectors where workspace_id = 'default' and id = ${id}`.execute(
                db.kysely,
              )
            ).rows[0];
          const before = await jsonOf('c5');
          const prepared = async () =>
            (
              await sql<{
                name: string;
                statement: string;
              }>`select name, statement from pg_prepared_statements order by name`.execute(db.kysely)
            ).rows;
          assert.deepEqual(await prepared(), []);
          await Promise.all([rename('c5', 'five'), rename('c6', 'six')]);
          const once = await prepared();
          assert.equal(once.length, 2, 'the unlocked read and the write');
          for (const { name } of once) assert.match(name, /^plugboard_[0-9a-f]{24}$/);
          assert.match(once.map((p) => p.statement).join('\n'), /with "written" as \(update "connectors"/);
          await Promise.all([rename('c5', 'five again'), rename('c6', 'six again')]);
          assert.deepEqual(await prepared(), once, 'the same statements, not prepared again');
          assert.deepEqual(
            [
              (await app.call('GET', `${WS}/connectors/c5`)).body.name,
              (await app.call('GET', `${WS}/connectors/c6`)).body.name,
            ],
            ['five again', 'six again'],
          );
          assert.deepEqual(
            await jsonOf('c5'),
            before,
            'JSON columns the change kept (the objects read) keep their stored text',
          );
        } finally {
          await db.close();
        }
      });

      it('refuses to compile once a statement that returns `*`: its prepared result would change with the table', async () => {
        const everything = compiledOnce((db) => db.selectFrom('connectors').selectAll());
        assert.throws(() => everything(app.db.kysely, []), /must name the columns it returns/);
      });

      it('runs a unit of work again when PostgreSQL breaks a deadlock by failing it', async () => {
        const writer = createWriter(app.db);
        const attempts = [0, 0];
        let holding = 0;
        let bothHold!: () => void;
        const deadlocked = new Promise<void>((resolve) => (bothHold = resolve));
        // Each locks one row and then wants the other's: PostgreSQL fails one of them (40P01) after deadlock_timeout.
        const unit = (index: number, first: string, second: string) =>
          writeWithRetry(writer, async (tx) => {
            attempts[index]!++;
            await sql`select 1 from connectors where workspace_id = 'default' and id = ${first} for update`.execute(tx);
            if (++holding === 2) bothHold();
            await deadlocked;
            await sql`update connectors set description = ${`set by ${index}`} where workspace_id = 'default' and id = ${second}`.execute(
              tx,
            );
            return index;
          });
        assert.deepEqual(await Promise.all([unit(0, 'c7', 'c8'), unit(1, 'c8', 'c7')]), [0, 1]);
        assert.equal(
          attempts[0]! + attempts[1]!,
          3,
          `attempts: ${attempts.join()}; one of the two was failed and ran again`,
        );
      });
    }
  });
}
