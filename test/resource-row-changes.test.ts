import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accessClientKey, accessClientRows } from '../src/storage/access-client-repo.js';
import { MASK } from '../src/domain/secrets.js';
import { createRowChangeBatcher } from '../src/storage/row-change-batcher.js';
import { createWriter, type Writer } from '../src/storage/writer.js';
import { systemClock } from '../src/services/clock.js';
import { createConnectorPartsService } from '../src/services/connector-parts-service.js';
import { createConnectorService } from '../src/services/connector-service.js';
import { createWebhookService } from '../src/services/webhook-service.js';
import { defaultEgress } from './support/egress.js';
import { ENGINES, ownerActor, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';

const WS = '/api/v1/workspaces/default';

/** A one-operation document: toolsets made from it install at once and need no upstream for these tests. */
const DOCUMENT = JSON.stringify({
  openapi: '3.0.3',
  info: { title: 'Rows', version: '1' },
  servers: [{ url: 'https://api.example.com' }],
  paths: { '/ping': { get: { operationId: 'ping', responses: { '200': { description: 'ok' } } } } },
});

/** What differs between the resources whose single-row writes are row changes of the writer. */
interface Resource {
  readonly type: string;
  readonly path: string;
  /** The id (or, for toolsets, the name) of row `i`, for resources whose ids the tests choose. */
  readonly idOf?: (i: number) => string;
  /** An id no row has (numeric where the store chooses numbers). */
  readonly missing?: string;
  readonly createBody: (i: number) => Record<string, unknown>;
  /** The id of a created row, for resources whose ids the store chooses. */
  readonly createdId?: (reply: { body: Record<string, unknown> }) => string;
  /** The free-text field the tests write. */
  readonly field: 'description' | 'name';
  /** How a whole replacement is sent: a PUT of the row's required fields, or a PATCH where there is no PUT. */
  readonly replace: { readonly method: 'PUT' | 'PATCH'; readonly body: (i: number, value: string) => object };
  /** Where the row's audit events are listed (its workspace's audit log). */
  readonly auditPath?: (id: string) => string;
  readonly afterCreate?: (app: TestApp, id: string) => Promise<void>;
}

/** The revision an answer's ETag names (`"<revision>-<created>"`): toolset views carry no revision field. */
const revisionIn = (reply: { headers: Record<string, unknown> }) => {
  const match = /^"(\d+)-/.exec(String(reply.headers.etag));
  assert.ok(match, `no ETag with a revision: ${String(reply.headers.etag)}`);
  return Number(match[1]);
};

const RESOURCES: readonly Resource[] = [
  {
    type: 'access-client',
    path: `${WS}/access-clients`,
    idOf: (i) => `a${i}`,
    createBody: (i) => ({ id: `a${i}`, name: `A${i}` }),
    field: 'description',
    replace: { method: 'PUT', body: (i, description) => ({ name: `A${i}`, description }) },
  },
  {
    type: 'toolset',
    path: `${WS}/toolsets`,
    idOf: (i) => `t${i}`,
    createBody: (i) => ({ name: `t${i}`, spec: { schema: { type: 'OpenAPI', detail: DOCUMENT } } }),
    field: 'description',
    replace: {
      method: 'PUT',
      body: (_i, description) => ({ description, spec: { schema: { type: 'OpenAPI', detail: DOCUMENT } } }),
    },
    // The reconciler writes the toolset's status once after its creation: let it, so that revisions below are
    // the tests' own.
    afterCreate: async (app, id) => void (await settledToolset(app, id)),
  },
  {
    type: 'connection',
    path: `${WS}/connections`,
    // A secret in the settings: every write goes through sealing (a PUT sends the password again, which keeps it).
    createBody: (i) => ({ name: `c${i}`, type: 'http', content: { url: 'https://example.com', password: `pw-${i}` } }),
    createdId: (reply) => String(reply.body.id),
    missing: '999999999',
    field: 'description',
    replace: {
      method: 'PUT',
      body: (i, description) => ({
        name: `c${i}`,
        type: 'http',
        description,
        content: { url: 'https://example.com', password: `pw-${i}` },
      }),
    },
  },
  {
    type: 'workspace',
    path: '/api/v1/workspaces',
    idOf: (i) => `w${i}`,
    createBody: (i) => ({ id: `w${i}`, name: `W${i}` }),
    field: 'name',
    replace: { method: 'PUT', body: (_i, name) => ({ name }) },
    auditPath: (id) => `/api/v1/workspaces/${id}/audit`,
  },
  {
    type: 'access-key',
    path: `${WS}/access-keys`,
    createBody: (i) => ({ name: `k${i}`, kind: i % 2 === 0 ? 'alibaba' : 'huawei' }),
    createdId: (reply) => reply.body.id as string,
    field: 'name',
    replace: { method: 'PATCH', body: (_i, name) => ({ name, status: 'active' }) },
  },
];

// Access-client, toolset, connection and workspace PUTs and PATCHes, access-key PATCHes, and access-client token rotations are
// row changes of the writer, as connector writes are (test/row-changes.test.ts): on PostgreSQL the ones that
// arrive together commit as one batch. Each must still be answered as if it ran alone.
for (const engine of ENGINES)
  for (const resource of RESOURCES) {
    describe(`${resource.type} writes sent together [${engine}]`, () => {
      let app: TestApp;
      const { path, field } = resource;
      const ids: string[] = [];
      const idOf = (i: number) => ids[i]!;
      before(async () => {
        app = await startTestApp(engine);
        for (let i = 0; i < 8; i++) {
          const created = await app.call('POST', path, { body: resource.createBody(i) });
          assert.equal(created.status, 201, created.text);
          ids.push(resource.createdId?.(created) ?? resource.idOf!(i));
          await resource.afterCreate?.(app, idOf(i));
        }
      });
      after(async () => {
        await app?.stop();
      });

      const auditOf = async (id: string, action: string) => {
        const audit = resource.auditPath?.(id) ?? `${WS}/audit`;
        const reply = await app.call('GET', `${audit}?resourceType=${resource.type}&resourceId=${id}&limit=200`);
        assert.equal(reply.status, 200, reply.text);
        return (
          reply.body.items as { action: string; fromRevision: number; toRevision: number; changedFields: string[] }[]
        ).filter((e) => e.action === action);
      };
      const update = `${resource.type}:update`;
      const revisionOf = async (id: string) => revisionIn(await app.call('GET', `${path}/${id}`));

      it('applies every PATCH of one row, one after another: no update is lost', async () => {
        const start = await revisionOf(idOf(0));
        const replies = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            app.call('PATCH', `${path}/${idOf(0)}`, {
              body: { [field]: `d${i}` },
              headers: { 'if-match': '*' },
            }),
          ),
        );
        assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]), replies.map((r) => r.text).join('\n'));
        const revisions = replies.map((r) => revisionIn(r)).sort((a, b) => a - b);
        assert.deepEqual(
          revisions,
          Array.from({ length: 30 }, (_, i) => start + i + 1),
          'each answer has a revision of its own',
        );
        const stored = await app.call('GET', `${path}/${idOf(0)}`);
        assert.equal(revisionIn(stored), start + 30);
        assert.equal(stored.body[field], replies.find((r) => revisionIn(r) === start + 30)!.body[field]);
        const events = await auditOf(idOf(0), update);
        assert.equal(events.length, 30);
        assert.deepEqual(
          events.map((e) => e.fromRevision),
          Array.from({ length: 30 }, (_, i) => start + 29 - i),
          'newest first: audit ids follow the revisions',
        );
        for (const event of events) {
          assert.equal(event.toRevision, event.fromRevision + 1);
          assert.deepEqual(event.changedFields, [field]);
        }
      });

      it('lets exactly one of many writers holding the same ETag win; the others get 412', async () => {
        const current = await app.call('GET', `${path}/${idOf(1)}`);
        const replies = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            app.call(resource.replace.method, `${path}/${idOf(1)}`, {
              body: resource.replace.body(1, `race ${i}`),
              headers: { 'if-match': current.headers.etag as string },
            }),
          ),
        );
        assert.equal(replies.filter((r) => r.status === 200).length, 1, replies.map((r) => r.status).join());
        assert.equal(replies.filter((r) => r.status === 412).length, 19);
        assert.equal((await auditOf(idOf(1), update)).length, 1);
        assert.equal(await revisionOf(idOf(1)), revisionIn(current) + 1);
      });

      it('answers each request of a mixed batch for itself: changes, misses, stale ETags, no-ops, bad input', async () => {
        const before = await Promise.all([3, 4, 5, 6].map((i) => app.call('GET', `${path}/${idOf(i)}`)));
        const replies = await Promise.all([
          app.call(resource.replace.method, `${path}/${idOf(3)}`, {
            body: resource.replace.body(3, 'renamed'),
            headers: { 'if-match': before[0]!.headers.etag as string },
          }),
          app.call('PATCH', `${path}/${resource.missing ?? 'missing'}`, { body: { [field]: 'nobody' } }),
          app.call('PATCH', `${path}/${idOf(4)}`, { body: { [field]: 'x' }, headers: { 'if-match': '"999"' } }),
          app.call('PATCH', `${path}/${idOf(5)}`, { body: { [field]: before[2]!.body[field] } }),
          app.call('PATCH', `${path}/${idOf(6)}`, { body: { [field]: 7 } }),
          app.call('PATCH', `${path}/${idOf(6)}`, { body: { [field]: 'six' } }),
        ]);
        assert.deepEqual(
          replies.map((r) => r.status),
          [200, 404, 412, 200, 400, 200],
          replies.map((r) => r.text).join('\n'),
        );
        assert.equal(replies[0].body[field], 'renamed');
        assert.equal(revisionIn(replies[0]), revisionIn(before[0]!) + 1);
        assert.equal(revisionIn(replies[3]), revisionIn(before[2]!), 'a PATCH that changes nothing keeps the revision');
        assert.equal(
          (await auditOf(idOf(5), update)).filter((e) => e.fromRevision >= revisionIn(before[2]!)).length,
          0,
          'and writes no audit row',
        );
        assert.equal(await revisionOf(idOf(4)), revisionIn(before[1]!), 'the stale one changed nothing');
        const six = await app.call('GET', `${path}/${idOf(6)}`);
        assert.equal(revisionIn(six), revisionIn(before[3]!) + 1, 'the bad PATCH changed nothing, the good one did');
        assert.equal(six.body[field], 'six');
      });
    });
  }

// Token rotations are row changes too, with their tokens written in the same transaction as the revision.
for (const engine of ENGINES) {
  describe(`access-client rotations sent together [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine);
      for (let i = 2; i < 8; i++) {
        const created = await app.call('POST', `${WS}/access-clients`, { body: { id: `a${i}`, name: `A${i}` } });
        assert.equal(created.status, 201, created.text);
      }
    });
    after(async () => {
      await app?.stop();
    });

    const auditOf = async (id: string, action: string) => {
      const reply = await app.call('GET', `${WS}/audit?resourceType=access-client&resourceId=${id}&limit=200`);
      assert.equal(reply.status, 200, reply.text);
      return (
        reply.body.items as { action: string; fromRevision: number; toRevision: number; changedFields: string[] }[]
      ).filter((e) => e.action === action);
    };

    it('rotates tokens sent together one after another: every token is new and works, every rotation audited', async () => {
      const replies = await Promise.all(
        Array.from({ length: 12 }, () =>
          app.call('POST', `${WS}/access-clients/a2/secrets`, { body: { gracePeriodSeconds: 600 } }),
        ),
      );
      assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]), replies.map((r) => r.text).join('\n'));
      const secrets = replies.map((r) => r.body.secret as string);
      assert.equal(new Set(secrets).size, 12, 'every rotation issues its own token');
      assert.deepEqual(
        replies.map((r) => r.body.revision as number).sort((a, b) => a - b),
        Array.from({ length: 12 }, (_, i) => i + 2),
      );
      const stored = await app.call('GET', `${WS}/access-clients/a2`);
      assert.equal(stored.body.secrets.length, 13, 'the first token and the twelve new ones, all within grace');
      const events = await auditOf('a2', 'access-client:rotate-secret');
      assert.equal(events.length, 12);
      for (const event of events) {
        assert.equal(event.toRevision, event.fromRevision + 1);
        assert.deepEqual(event.changedFields, ['secrets']);
      }
      for (const secret of secrets)
        assert.equal((await app.services.accessClients.authenticateClient(secret))?.client.id, 'a2');
    });

    it('answers each request of a mixed batch with rotations in it for itself', async () => {
      const before = await Promise.all([3, 4, 5, 6].map((i) => app.call('GET', `${WS}/access-clients/a${i}`)));
      const replies = await Promise.all([
        app.call('PUT', `${WS}/access-clients/a3`, {
          body: { name: 'A3 renamed' },
          headers: { 'if-match': before[0]!.headers.etag as string },
        }),
        app.call('PATCH', `${WS}/access-clients/missing`, { body: { name: 'nobody' } }),
        app.call('PATCH', `${WS}/access-clients/a4`, { body: { name: 'A4' }, headers: { 'if-match': '"999"' } }),
        app.call('PATCH', `${WS}/access-clients/a5`, { body: { name: 'A5' } }),
        app.call('PATCH', `${WS}/access-clients/a6`, { body: { rateLimit: -3 } }),
        app.call('POST', `${WS}/access-clients/a6/secrets`, { body: { gracePeriodSeconds: 0 } }),
        app.call('PATCH', `${WS}/access-clients/a7`, { body: { status: 'disabled' } }),
      ]);
      assert.deepEqual(
        replies.map((r) => r.status),
        [200, 404, 412, 200, 400, 200, 200],
        replies.map((r) => r.text).join('\n'),
      );
      assert.equal(replies[0].body.name, 'A3 renamed');
      assert.equal(replies[0].body.revision, before[0]!.body.revision + 1);
      assert.equal(
        replies[3].body.revision,
        before[2]!.body.revision,
        'a PATCH that changes nothing keeps the revision',
      );
      assert.equal((await auditOf('a5', 'access-client:update')).length, 0, 'and writes no audit row');
      assert.equal(
        (await app.call('GET', `${WS}/access-clients/a4`)).body.revision,
        before[1]!.body.revision,
        'the stale one changed nothing',
      );
      const a6 = await app.call('GET', `${WS}/access-clients/a6`);
      assert.equal(a6.body.revision, before[3]!.body.revision + 1, 'the bad PATCH changed nothing, the rotation did');
      assert.equal(a6.body.secrets.length, 1, 'a grace of 0 retires the previous token at once');
      assert.equal(replies[6].body.status, 'disabled');
    });

    if (engine === 'postgres') {
      it('commits the changes of many clients that arrive together in one transaction', async () => {
        let transactions = 0;
        const write: Writer['write'] = (work) => {
          transactions++;
          return app.db.kysely.transaction().execute(work);
        };
        const change = createRowChangeBatcher(write, { maxBatch: 64, inFlight: 1 });
        const rows = accessClientRows('postgres');
        const rename = (id: string, name: string) =>
          change(rows, {
            key: accessClientKey('default', id),
            apply: (current) => {
              if (!current) throw new Error(`no ${id}`);
              return { next: { ...current, name, revision: current.revision + 1 }, result: name };
            },
          });
        const together = await Promise.allSettled([
          rename('a3', 'three'),
          rename('a4', 'four'),
          rename('nope', 'x'),
          rename('a5', 'five'),
        ]);
        assert.deepEqual(
          together.map((s) => s.status),
          ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
        );
        assert.equal(transactions, 1, 'one transaction for the batch');
        const names = await Promise.all(
          ['a3', 'a4', 'a5'].map(async (id) => (await app.call('GET', `${WS}/access-clients/${id}`)).body.name),
        );
        assert.deepEqual(names, ['three', 'four', 'five']);
      });
    }
  });
}

// A member's role change is a row change too. Roles are few, so concurrent writes of one member each change it only
// if no two in a row ask for the same role: the concurrent writes below cycle through three roles.
for (const engine of ENGINES) {
  describe(`member role changes sent together [${engine}]`, () => {
    let app: TestApp;
    const members: string[] = [];
    /** A second owner: the last-owner race needs two owners, each demoting the other. */
    let secondOwner: string;
    const MEMBERS = `${WS}/members`;
    before(async () => {
      app = await startTestApp(engine);
      for (let i = 0; i < 6; i++) {
        const created = await app.call('POST', `${WS}/api-keys`, { body: { name: `m${i}`, role: 'viewer' } });
        assert.equal(created.status, 201, created.text);
        members.push(created.body.principalId as string);
      }
      const owner = await app.call('POST', `${WS}/api-keys`, { body: { name: 'owner 2', role: 'owner' } });
      assert.equal(owner.status, 201, owner.text);
      secondOwner = owner.body.principalId as string;
    });
    after(async () => {
      await app?.stop();
    });

    const auditOf = async (id: string) => {
      const reply = await app.call('GET', `${WS}/audit?resourceType=member&resourceId=${id}&limit=200`);
      assert.equal(reply.status, 200, reply.text);
      return (
        reply.body.items as { action: string; fromRevision: number; toRevision: number; changedFields: string[] }[]
      ).filter((e) => e.action === 'member:update');
    };

    it('applies every role change of one member one after another, each audited from the revision it changed', async () => {
      const start = await app.call('GET', `${MEMBERS}/${members[0]}`);
      assert.equal(start.body.role, 'viewer');
      const me = (await app.call('GET', '/api/v1/me')).body.principalId as string;
      // Each asks for another role than the one before it, so every one is a change. They are called on the service
      // in one go, so that they reach the writer in the order sent: requests over HTTP may overtake one another
      // before they get there, and two in a row asking for the same role make the second a no-op.
      const CYCLE = ['editor', 'admin', 'viewer'] as const;
      const changed = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          app.services.access.setRole(actorOf(me), 'default', members[0]!, { role: CYCLE[i % 3] }),
        ),
      );
      assert.deepEqual(
        changed.map((member) => [member.role, member.revision]),
        Array.from({ length: 30 }, (_, i) => [CYCLE[i % 3], start.body.revision + i + 1]),
        'each change made a revision of its own, in order',
      );
      const stored = await app.call('GET', `${MEMBERS}/${members[0]}`);
      assert.deepEqual([stored.body.role, stored.body.revision], ['viewer', start.body.revision + 30]);
      assert.equal(revisionIn(stored), start.body.revision + 30, 'the ETag names the revision');
      const events = await auditOf(members[0]!);
      assert.equal(events.length, 30);
      assert.deepEqual(
        events.map((e) => [e.fromRevision, e.toRevision]),
        Array.from({ length: 30 }, (_, i) => [start.body.revision + 29 - i, start.body.revision + 30 - i]),
        'newest first: audit ids follow the revisions',
      );
      for (const event of events) assert.deepEqual(event.changedFields, ['role']);
    });

    it('lets exactly one of many writers holding the same ETag change a role; the others get 412', async () => {
      const current = await app.call('GET', `${MEMBERS}/${members[1]}`);
      assert.equal(current.body.role, 'viewer');
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          app.call('PUT', `${MEMBERS}/${members[1]}`, {
            body: { role: i % 2 === 0 ? 'editor' : 'admin' },
            headers: { 'if-match': current.headers.etag as string },
          }),
        ),
      );
      assert.equal(replies.filter((r) => r.status === 200).length, 1, replies.map((r) => r.status).join());
      assert.equal(replies.filter((r) => r.status === 412).length, 19);
      assert.equal((await auditOf(members[1]!)).length, 1);
      assert.equal((await app.call('GET', `${MEMBERS}/${members[1]}`)).body.revision, current.body.revision + 1);
    });

    it('answers each request of a mixed batch for itself: changes, misses, stale ETags, no-ops, bad input', async () => {
      const before = await Promise.all([2, 3, 4, 5].map((i) => app.call('GET', `${MEMBERS}/${members[i]}`)));
      const replies = await Promise.all([
        app.call('PUT', `${MEMBERS}/${members[2]}`, {
          body: { role: 'editor' },
          headers: { 'if-match': before[0]!.headers.etag as string },
        }),
        app.call('PUT', `${MEMBERS}/prn_missing`, { body: { role: 'editor' } }),
        app.call('PUT', `${MEMBERS}/${members[3]}`, { body: { role: 'editor' }, headers: { 'if-match': '"999"' } }),
        app.call('PUT', `${MEMBERS}/${members[4]}`, { body: { role: 'viewer' } }),
        app.call('PUT', `${MEMBERS}/${members[5]}`, { body: { role: 'emperor' } }),
        app.call('PUT', `${MEMBERS}/${members[5]}`, { body: { role: 'admin' } }),
      ]);
      assert.deepEqual(
        replies.map((r) => r.status),
        [200, 404, 412, 200, 400, 200],
        replies.map((r) => r.text).join('\n'),
      );
      assert.equal(replies[0].body.revision, before[0]!.body.revision + 1);
      assert.equal(replies[3].body.revision, before[2]!.body.revision, 'a change to the same role keeps the revision');
      assert.equal((await auditOf(members[4]!)).length, 0, 'and writes no audit row');
      assert.equal(
        (await app.call('GET', `${MEMBERS}/${members[3]}`)).body.revision,
        before[1]!.body.revision,
        'the stale one changed nothing',
      );
      const five = await app.call('GET', `${MEMBERS}/${members[5]}`);
      assert.deepEqual([five.body.role, five.body.revision], ['admin', before[3]!.body.revision + 1]);
    });

    /**
     * Two owners, each acting as an owner (as both were when their requests were authenticated): called on the
     * service, so that neither request is refused earlier for having been authenticated after the other's commit.
     */
    const actorOf = (id: string) => ({
      principal: { id, name: id, status: 'active' as const, roles: new Map([['default', 'owner' as const]]) },
      requestId: `race-${id}`,
    });
    const owners = async () => {
      const me = (await app.call('GET', '/api/v1/me')).body.principalId as string;
      return [me, secondOwner] as const;
    };
    const ownerCount = async () => {
      const page = await app.services.access.listMembers(actorOf('reader'), 'default', { limit: 100 });
      return page.items.filter((m) => m.role === 'owner').length;
    };
    const outcomes = (settled: PromiseSettledResult<unknown>[]) =>
      settled
        .map((s) => (s.status === 'fulfilled' ? 'ok' : ((s.reason as { code?: string }).code ?? String(s.reason))))
        .sort();

    it('never leaves a workspace without an owner when its last two owners demote each other at once', async () => {
      const [a, b] = await owners();
      for (let round = 0; round < 8; round++) {
        const settled = await Promise.allSettled([
          app.services.access.setRole(actorOf(a), 'default', b, { role: 'admin' }),
          app.services.access.setRole(actorOf(b), 'default', a, { role: 'admin' }),
        ]);
        assert.deepEqual(outcomes(settled), ['conflict', 'ok'], `round ${round}`);
        assert.equal(await ownerCount(), 1, `round ${round}: one owner is left`);
        // The owner left makes the other one owner again for the next round.
        const [demoted, keeper] = settled[0].status === 'fulfilled' ? [b, a] : [a, b];
        await app.services.access.setRole(actorOf(keeper), 'default', demoted, { role: 'owner' });
      }
    });

    it('never leaves a workspace without an owner when its last two owners remove each other at once', async () => {
      const [a, b] = await owners();
      const settled = await Promise.allSettled([
        app.services.access.removeMember(actorOf(a), 'default', b),
        app.services.access.removeMember(actorOf(b), 'default', a),
      ]);
      assert.deepEqual(outcomes(settled), ['conflict', 'ok']);
      assert.equal(await ownerCount(), 1, 'one owner is left');
    });
  });
}

// A key disabled through the row path signs nothing on another node of the same store, and a member demoted there
// loses the role on the other node, as soon as PostgreSQL's notification moves its change stamps (signing keys, API
// keys and their roles are cached per node).
describe('row changes of keys and members seen by another node [postgres]', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    a = await startTestApp('postgres');
    b = await startTestApp('postgres', { store: a.store });
  });
  after(async () => {
    await b?.close();
    await a?.stop();
  });
  /** Waits until `check` holds: another node hears of a change by PostgreSQL's notification, in a few milliseconds. */
  const until = async (check: () => Promise<boolean>, what: string) => {
    const deadline = Date.now() + 5000;
    while (!(await check())) {
      assert.ok(Date.now() < deadline, `${what} after 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  it('refuses a disabled access key on the other node once it hears of the change, and takes it back once enabled', async () => {
    const created = await a.call('POST', `${WS}/access-keys`, { body: { name: 'signer', kind: 'huawei' } });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id as string;
    assert.equal((await b.services.accessKeys.findAkSk(id))?.secret, created.body.secret, 'B knows the key');
    const disabled = await a.call('PATCH', `${WS}/access-keys/${id}`, {
      body: { status: 'disabled' },
      headers: { 'if-match': created.headers.etag as string },
    });
    assert.equal(disabled.status, 200, disabled.text);
    assert.deepEqual([disabled.body.status, disabled.body.revision], ['disabled', 2]);
    // Each node keeps the keys it looked up, sealed, until a change to them is signalled: B hears of A's write by
    // PostgreSQL's notification (a few milliseconds), and must not take longer than that.
    await until(async () => (await b.services.accessKeys.findAkSk(id)) === undefined, 'B still takes the disabled key');
    const enabled = await b.call('PATCH', `${WS}/access-keys/${id}`, { body: { status: 'active' } });
    assert.equal(enabled.status, 200, enabled.text);
    assert.equal((await b.services.accessKeys.findAkSk(id))?.secret, created.body.secret, 'B, at once: the same pair');
    await until(
      async () => (await a.services.accessKeys.findAkSk(id))?.secret === created.body.secret,
      'A still refuses the enabled key',
    );
  });

  it("takes a demoted member's role away on the other node's next request", async () => {
    const created = await a.call('POST', `${WS}/api-keys`, { body: { name: 'editor', role: 'editor' } });
    assert.equal(created.status, 201, created.text);
    const key = created.body.key as string;
    const principalId = created.body.principalId as string;
    // B authenticates the key once, so that its cache holds the editor role.
    const first = await b.call('POST', `${WS}/access-clients`, { body: { id: 'by-editor', name: 'E' }, key });
    assert.equal(first.status, 201, first.text);
    const demoted = await a.call('PUT', `${WS}/members/${principalId}`, { body: { role: 'viewer' } });
    assert.equal(demoted.status, 200, demoted.text);
    // B hears of the change by PostgreSQL's notification (a few milliseconds): it must not take longer than that.
    // What B authenticates the key as (its cached principal and roles):
    const roleOnB = async () =>
      ((await b.call('GET', '/api/v1/me', { key })).body.roles as Record<string, string>).default;
    await until(async () => (await roleOnB()) === 'viewer', 'B still authenticates the old role');
    const refused = await b.call('POST', `${WS}/access-clients`, { body: { id: 'by-viewer', name: 'V' }, key });
    assert.equal(refused.status, 403, refused.text);
  });
});

// Connection writes that change a secret seal it inside the row change, and a connector's variables reach its
// connections through the same row changes, set-based, in the connector's transaction.
for (const engine of ENGINES) {
  describe(`connection secrets and variables sent together [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine);
    });
    after(async () => {
      await app?.stop();
    });

    const historyOf = async (id: number) => {
      const reply = await app.call('GET', `${WS}/connections/${id}/history?limit=200`);
      assert.equal(reply.status, 200, reply.text);
      return reply.body.items as {
        action: string;
        fromRevision: number;
        toRevision: number;
        changedFields: string[];
      }[];
    };

    it('seals each of 20 password changes of one connection sent together: one revision and one event each', async () => {
      const created = await app.call('POST', `${WS}/connections`, {
        body: { name: 'sealed', type: 'http', content: { url: 'https://example.com', password: 'pw-0' } },
      });
      assert.equal(created.status, 201, created.text);
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          app.call('PATCH', `${WS}/connections/${created.body.id}`, { body: { content: { password: `pw-${i + 1}` } } }),
        ),
      );
      assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]), replies.map((r) => r.text).join('\n'));
      assert.deepEqual(
        replies.map((r) => r.body.revision as number).sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, i) => i + 2),
      );
      for (const reply of replies) assert.equal(reply.body.content.password, MASK, 'never answered in clear');
      const updates = (await historyOf(created.body.id)).filter((e) => e.action === 'connection:update');
      assert.equal(updates.length, 20);
      for (const event of updates) {
        assert.equal(event.toRevision, event.fromRevision + 1);
        assert.deepEqual(event.changedFields, ['content.password']);
      }
    });

    it("propagates a connector's variables while its connections are patched: nothing lost, one event per change", async () => {
      const connector = await app.call('POST', `${WS}/connectors`, {
        body: { id: 'propagating', name: 'Propagating', connectionVariables: [{ name: 'v', value: '0' }] },
      });
      assert.equal(connector.status, 201, connector.text);
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) {
        const created = await app.call('POST', `${WS}/connections`, {
          body: { connectorId: 'propagating', name: `p${i}`, type: 'http', content: { password: 'pw' } },
        });
        assert.equal(created.status, 201, created.text);
        ids.push(created.body.id);
      }
      const replies = await Promise.all([
        ...Array.from({ length: 10 }, (_, n) =>
          app.call('PATCH', `${WS}/connectors/propagating`, {
            body: { connectionVariables: [{ name: 'v', value: String(n + 1) }] },
          }),
        ),
        ...ids.flatMap((id) =>
          Array.from({ length: 4 }, (_, n) =>
            app.call('PATCH', `${WS}/connections/${id}`, {
              body: { description: `d${n}`, content: { password: `s${n}` } },
            }),
          ),
        ),
      ]);
      assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]), replies.map((r) => r.text).join('\n'));
      const variables = (await app.call('GET', `${WS}/connectors/propagating`)).body.connectionVariables;
      for (const id of ids) {
        const stored = await app.call('GET', `${WS}/connections/${id}`);
        assert.deepEqual(stored.body.variables, variables, 'every connection holds the connector’s last variables');
        const events = await historyOf(id);
        assert.equal(events.length, stored.body.revision, 'one event per revision: the create and every change');
        assert.deepEqual(
          events.map((e) => e.toRevision),
          Array.from({ length: stored.body.revision }, (_, i) => stored.body.revision - i),
        );
      }
    });
  });
}

/** Where a write's audit events are listed, and its action. */
interface AuditedAs {
  readonly resourceType: string;
  readonly resourceId: string;
  readonly action: string;
}

/** A write of a connector's part or of a webhook, as the tests below send it. */
interface PartWrite {
  readonly type: string;
  /** Creates what the part lives in (once per app) and answers the path of the part itself. */
  readonly setup: (app: TestApp, i: number) => Promise<string>;
  /** Where the audit events of part `i` (at `path`) are found, and under which action. */
  readonly audit: (i: number, path: string) => AuditedAs;
  /** The audited fields of a description change. */
  readonly changed: readonly string[];
  /** A whole replacement: a PUT, or a PATCH where there is none. */
  readonly replace: { readonly method: 'PUT' | 'PATCH'; readonly body: (value: string) => object };
}

/** An api-key config with a secret in it: every write of it goes through sealing. */
const CONFIG = { name: 'X-Key', in: 'header', secret: 'the-config-secret' };
const connectorOf = (i: number) => `parts${i}`;
const configsOf = (i: number) => `${WS}/connectors/${connectorOf(i)}/auth-scheme-configs`;
const versionsOf = (i: number) => `${WS}/connectors/${connectorOf(i)}/versions`;
const createPartsConnector = async (app: TestApp, i: number) => {
  const created = await app.call('POST', `${WS}/connectors`, { body: { id: connectorOf(i), name: `Parts ${i}` } });
  assert.equal(created.status, 201, created.text);
};

const PART_WRITES: readonly PartWrite[] = [
  {
    type: 'auth-scheme config',
    setup: async (app, i) => {
      await createPartsConnector(app, i);
      const created = await app.call('POST', configsOf(i), {
        body: { id: 'key', schemeType: 'api-key', config: CONFIG },
      });
      assert.equal(created.status, 201, created.text);
      return `${configsOf(i)}/key`;
    },
    audit: (i) => ({ resourceType: 'connector', resourceId: connectorOf(i), action: 'connector:update' }),
    changed: ['authSchemeConfigs'],
    // The PUT sends the secret again, which keeps what is stored.
    replace: {
      method: 'PUT',
      body: (description) => ({ schemeType: 'api-key', description, config: CONFIG }),
    },
  },
  {
    type: 'connector version',
    setup: async (app, i) => {
      await createPartsConnector(app, i);
      const created = await app.call('POST', versionsOf(i), { body: { name: 'v1' } });
      assert.equal(created.status, 201, created.text);
      return `${versionsOf(i)}/${created.body.id as string}`;
    },
    audit: (i) => ({ resourceType: 'connector', resourceId: connectorOf(i), action: 'connector:update' }),
    changed: ['versions'],
    replace: { method: 'PUT', body: (description) => ({ name: 'v1', description }) },
  },
  {
    type: 'webhook',
    setup: async (app) => {
      const created = await app.call('POST', `${WS}/webhooks`, {
        body: {
          url: 'http://127.0.0.1:9/hook',
          eventTypes: ['connection.connected'],
          secret: 'a-webhook-secret-of-sixteen+',
        },
      });
      assert.equal(created.status, 201, created.text);
      return `${WS}/webhooks/${created.body.id as string}`;
    },
    audit: (_i, path) => ({ resourceType: 'webhook', resourceId: path.split('/').at(-1)!, action: 'webhook:update' }),
    changed: ['description'],
    replace: { method: 'PATCH', body: (description) => ({ description, enabled: true }) },
  },
];

// Auth-scheme configs and versions are parts of their connector: each of their writes is a row change of the
// connector (its revision, its ETag, one connector:update event), like a connector PUT. A webhook PATCH is a row
// change of its own table. Concurrent ones must still be answered as if each ran alone.
for (const engine of ENGINES)
  for (const part of PART_WRITES) {
    describe(`${part.type} writes sent together [${engine}]`, () => {
      let app: TestApp;
      const paths: string[] = [];
      before(async () => {
        app = await startTestApp(engine);
        for (let i = 0; i < 2; i++) paths.push(await part.setup(app, i));
      });
      after(async () => {
        await app?.stop();
      });

      const eventsOf = async (i: number) => {
        const { resourceType, resourceId, action } = part.audit(i, paths[i]!);
        const reply = await app.call(
          'GET',
          `${WS}/audit?resourceType=${resourceType}&resourceId=${resourceId}&limit=200`,
        );
        assert.equal(reply.status, 200, reply.text);
        return (
          reply.body.items as { action: string; fromRevision: number; toRevision: number; changedFields: string[] }[]
        ).filter((e) => e.action === action);
      };

      it('applies every PATCH of one part, one after another: consecutive revisions, one audit event each', async () => {
        const start = revisionIn(await app.call('GET', paths[0]!));
        const eventsBefore = (await eventsOf(0)).length;
        const replies = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            app.call('PATCH', paths[0]!, { body: { description: `d${i}` }, headers: { 'if-match': '*' } }),
          ),
        );
        assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]), replies.map((r) => r.text).join('\n'));
        assert.deepEqual(
          replies.map((r) => revisionIn(r)).sort((a, b) => a - b),
          Array.from({ length: 30 }, (_, i) => start + i + 1),
          'each answer has a revision of its own',
        );
        const stored = await app.call('GET', paths[0]!);
        assert.equal(revisionIn(stored), start + 30);
        assert.equal(stored.body.description, replies.find((r) => revisionIn(r) === start + 30)!.body.description);
        const events = (await eventsOf(0)).slice(0, -eventsBefore || undefined);
        assert.equal(events.length, 30);
        assert.deepEqual(
          events.map((e) => [e.fromRevision, e.toRevision]),
          Array.from({ length: 30 }, (_, i) => [start + 29 - i, start + 30 - i]),
          'newest first: audit ids follow the revisions',
        );
        for (const event of events) assert.deepEqual(event.changedFields, part.changed);
      });

      it('lets exactly one of many writers holding the same ETag win; the others get 412', async () => {
        const current = await app.call('GET', paths[1]!);
        const eventsBefore = (await eventsOf(1)).length;
        const replies = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            app.call(part.replace.method, paths[1]!, {
              body: part.replace.body(`race ${i}`),
              headers: { 'if-match': current.headers.etag as string },
            }),
          ),
        );
        assert.equal(replies.filter((r) => r.status === 200).length, 1, replies.map((r) => r.text).join('\n'));
        assert.equal(replies.filter((r) => r.status === 412).length, 19);
        assert.equal((await eventsOf(1)).length, eventsBefore + 1);
        assert.equal(revisionIn(await app.call('GET', paths[1]!)), revisionIn(current) + 1);
      });
    });
  }

// Creating and deleting a connector's parts changes the connector row: row changes too, so a batch may hold several
// of one connector. Deleting a config that connections still hold a credential for is refused, checked in the
// change's transaction (the one rule of these writes that reads other rows).
for (const engine of ENGINES) {
  describe(`connector part creates and deletes sent together [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine);
      await createPartsConnector(app, 0);
    });
    after(async () => {
      await app?.stop();
    });

    const connectorEvents = async () => {
      const reply = await app.call('GET', `${WS}/audit?resourceType=connector&resourceId=${connectorOf(0)}&limit=200`);
      assert.equal(reply.status, 200, reply.text);
      return (reply.body.items as { action: string; fromRevision: number; toRevision: number }[]).filter(
        (e) => e.action === 'connector:update',
      );
    };
    const connector = async () => (await app.call('GET', `${WS}/connectors/${connectorOf(0)}`)).body;

    it('adds every config and version created together, each at a revision of its own', async () => {
      const start = (await connector()).revision as number;
      const replies = await Promise.all([
        ...Array.from({ length: 10 }, () => app.call('POST', configsOf(0), { body: { schemeType: 'bearer' } })),
        ...Array.from({ length: 10 }, (_, i) => app.call('POST', versionsOf(0), { body: { name: `v${i}` } })),
      ]);
      assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([201]), replies.map((r) => r.text).join('\n'));
      assert.equal(new Set(replies.map((r) => r.body.id)).size, 20, 'every part has an id of its own');
      assert.deepEqual(
        replies.map((r) => revisionIn(r)).sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, i) => start + i + 1),
      );
      const after = await connector();
      assert.equal(after.revision, start + 20);
      assert.equal(after.authSchemeConfigs.length, 10);
      assert.equal(after.versions.length, 10);
      assert.equal((await connectorEvents()).filter((e) => e.fromRevision >= start).length, 20);
    });

    it('refuses to delete a config a connection holds a credential for, while the other writes of its batch land', async () => {
      for (const id of ['held', 'free', 'other'])
        assert.equal((await app.call('POST', configsOf(0), { body: { id, schemeType: 'bearer' } })).status, 201);
      const connection = await app.call('POST', `${WS}/connections`, {
        body: {
          connectorId: connectorOf(0),
          name: 'holder',
          type: 'http',
          credentials: [{ kind: 'action', authSchemeConfigId: 'held', secret: 's' }],
        },
      });
      assert.equal(connection.status, 201, connection.text);
      const start = (await connector()).revision as number;
      const replies = await Promise.all([
        app.call('DELETE', `${configsOf(0)}/held`),
        app.call('DELETE', `${configsOf(0)}/free`),
        app.call('PATCH', `${configsOf(0)}/other`, { body: { description: 'kept' } }),
        app.call('DELETE', `${configsOf(0)}/missing`),
        app.call('PATCH', `${configsOf(0)}/other`, { body: { description: 'x' }, headers: { 'if-match': '"999-x"' } }),
      ]);
      assert.deepEqual(
        replies.map((r) => r.status),
        [409, 204, 200, 404, 412],
        replies.map((r) => r.text).join('\n'),
      );
      assert.match(replies[0].body.detail, /1 connection\(s\) hold a credential for auth-scheme config "held"/);
      const after = await connector();
      assert.equal(after.revision, start + 2, 'the delete of the free config and the PATCH');
      const ids = (after.authSchemeConfigs as { id: string; description: string | null }[]).map((c) => c.id);
      assert.ok(ids.includes('held') && ids.includes('other') && !ids.includes('free'));
      assert.equal(after.authSchemeConfigs.find((c: { id: string }) => c.id === 'other').description, 'kept');
      assert.equal((await connectorEvents()).filter((e) => e.fromRevision >= start).length, 2);

      const cleared = await app.call('PATCH', `${WS}/connections/${connection.body.id as string}`, {
        body: { credentials: [] },
      });
      assert.equal(cleared.status, 200, cleared.text);
      assert.equal((await app.call('DELETE', `${configsOf(0)}/held`)).status, 204, 'once no connection holds it');
    });
  });
}

// One write path: every single-row write of a connector's parts and of a webhook is a row change of the writer. A
// writer that refuses units of work (the closures creates and deletes of whole rows take) still serves them all.
for (const engine of ENGINES) {
  describe(`connector part and webhook writes without units of work [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine);
      await createPartsConnector(app, 0);
    });
    after(async () => {
      await app?.stop();
    });

    const rowChangesOnly = (): Writer => {
      const writer = createWriter(app.db);
      return {
        write: () => Promise.reject(new Error('a unit of work, not a row change')),
        change: (rows, change) => writer.change(rows, change),
        remember: (rows, key, row) => writer.remember(rows, key, row),
      };
    };

    it('creates, replaces, patches, publishes and deletes configs and versions through row changes alone', async () => {
      const { db, vault } = app;
      const connectors = createConnectorService({ db, writer: rowChangesOnly(), vault, clock: systemClock });
      const parts = createConnectorPartsService({ db, connectors, vault, clock: systemClock });
      const actor = await ownerActor(app, 'row-changes-only');
      const id = connectorOf(0);
      const start = (await connectors.get(actor, 'default', id)).revision;
      const created = await parts.createConfig(actor, 'default', id, { schemeType: 'api-key', config: CONFIG });
      await parts.replaceConfig(actor, 'default', id, created.item.id, { schemeType: 'bearer' });
      await parts.patchConfig(actor, 'default', id, created.item.id, { description: 'patched' });
      const version = await parts.createVersion(actor, 'default', id, { name: 'v1' });
      await parts.replaceVersion(actor, 'default', id, version.item.id, { name: 'v1', description: 'replaced' });
      await parts.patchVersion(actor, 'default', id, version.item.id, { description: 'patched' });
      await parts.setPublished(actor, 'default', id, version.item.id, true);
      await parts.deleteVersion(actor, 'default', id, version.item.id);
      await parts.deleteConfig(actor, 'default', id, created.item.id);
      const after = await connectors.get(actor, 'default', id);
      assert.equal(after.revision, start + 9, 'nine writes, nine revisions');
      assert.deepEqual([after.authSchemeConfigs, after.versions], [[], []]);
    });

    it('patches a webhook through a row change alone', async () => {
      const created = await app.call('POST', `${WS}/webhooks`, {
        body: { url: 'http://127.0.0.1:9/hook', eventTypes: ['connection.connected'] },
      });
      assert.equal(created.status, 201, created.text);
      const { db, vault } = app;
      const webhooks = createWebhookService({
        db,
        writer: rowChangesOnly(),
        vault,
        clock: systemClock,
        egress: defaultEgress,
      });
      const actor = await ownerActor(app, 'row-changes-only');
      const patched = await webhooks.patch(actor, 'default', created.body.id as string, {
        description: 'patched',
        secret: 'a-new-webhook-secret-of-sixteen+',
      });
      assert.deepEqual([patched.description, patched.revision], ['patched', created.body.revision + 1]);
    });
  });
}
