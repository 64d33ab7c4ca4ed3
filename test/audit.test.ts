import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';

const WS = '/api/v1/workspaces/default';

for (const engine of ENGINES) {
  describe(`audit log [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine);
    });
    after(async () => {
      await app?.stop();
    });

    const events = async (query = '') => {
      const reply = await app.call('GET', `${WS}/audit${query}`);
      assert.equal(reply.status, 200, reply.text);
      return reply.body.items as any[];
    };

    it('records who changed which fields of a connector, with revisions and the request id', async () => {
      const created = await app.call('POST', `${WS}/connectors`, { body: { id: 'audited', name: 'A' } });
      assert.equal(created.status, 201);
      const updated = await app.call('PATCH', `${WS}/connectors/audited`, {
        body: { description: 'd', baseUrl: 'https://x.test' },
        headers: { 'x-request-id': 'req-audit-1' },
      });
      assert.equal(updated.status, 200);
      const [latest, first] = await events('?resourceType=connector&resourceId=audited');
      assert.equal(latest.action, 'connector:update');
      assert.deepEqual(latest.changedFields, ['baseUrl', 'description']);
      assert.equal(latest.fromRevision, 1);
      assert.equal(latest.toRevision, 2);
      assert.equal(latest.requestId, 'req-audit-1');
      assert.match(latest.principalId, /^prn_/);
      assert.equal(first.action, 'connector:create');
      assert.equal(first.fromRevision, null);
    });

    it('writes no event for an update that changes nothing, nor for a refused one', async () => {
      const before = (await events('?resourceId=audited')).length;
      assert.equal((await app.call('PATCH', `${WS}/connectors/audited`, { body: { description: 'd' } })).status, 200);
      assert.equal((await app.call('PATCH', `${WS}/connectors/audited`, { body: { baseUrl: 'nope' } })).status, 400);
      assert.equal(
        (await app.call('PATCH', `${WS}/connectors/audited`, { body: { name: 'B' }, headers: { 'if-match': '"1-x"' } }))
          .status,
        412,
      );
      assert.equal((await events('?resourceId=audited')).length, before);
    });

    it('names secret fields but never holds their values', async () => {
      const canary = 'canary-Zq81-secret-value';
      const created = await app.call('POST', `${WS}/connections`, {
        body: { name: 'db', type: 'postgresql', content: { host: 'h', password: canary } },
      });
      assert.equal(created.status, 201);
      const id = created.body.id;
      assert.equal(
        (await app.call('PATCH', `${WS}/connections/${id}`, { body: { content: { password: `${canary}-2` } } })).status,
        200,
      );
      const history = await app.call('GET', `${WS}/connections/${id}/history`);
      assert.equal(history.status, 200);
      assert.deepEqual(history.body.items[0].changedFields, ['content.password']);
      assert.deepEqual(
        history.body.items[1].changedFields.sort(),
        [
          'connectorId',
          'content.host',
          'content.password',
          'credentials',
          'description',
          'envType',
          'health',
          'id',
          'name',
          'ownerUserId',
          'status',
          'type',
          'uid',
          'variables',
          'workspaceId',
        ].sort(),
      );
      const rows = await app.db.kysely.selectFrom('audit_events').selectAll().execute();
      assert.ok(!JSON.stringify(rows).includes(canary));
    });

    it("records one event per connection that took the connector's variables, in the same write", async () => {
      await app.call('POST', `${WS}/connectors`, {
        body: { id: 'vars', name: 'V', connectionVariables: [{ name: 'a', value: '1' }] },
      });
      const ids: number[] = [];
      for (const name of ['c1', 'c2', 'c3']) {
        ids.push(
          (await app.call('POST', `${WS}/connections`, { body: { connectorId: 'vars', name, type: 'http' } })).body.id,
        );
      }
      await app.call('PATCH', `${WS}/connections/${ids[2]}`, { body: { variables: [{ name: 'a', value: '2' }] } });
      const reply = await app.call('PATCH', `${WS}/connectors/vars`, {
        body: { connectionVariables: [{ name: 'a', value: '2' }] },
        headers: { 'x-request-id': 'req-propagate' },
      });
      assert.equal(reply.headers['plugboard-connections-updated'], '2');
      const propagated = (await events('?resourceType=connection')).filter((e) => e.requestId === 'req-propagate');
      assert.deepEqual(propagated.map((e) => Number(e.resourceId)).sort(), [ids[0], ids[1]].sort());
      for (const event of propagated) {
        assert.equal(event.action, 'connection:update');
        assert.deepEqual(event.changedFields, ['variables']);
        const current = await app.call('GET', `${WS}/connections/${event.resourceId}`);
        assert.equal(event.toRevision, current.body.revision);
      }
    });

    it("keeps a resource's history after it is deleted, including connections deleted with it", async () => {
      const reply = await app.call('DELETE', `${WS}/connectors/vars?force=true`);
      assert.equal(reply.status, 204);
      const history = await app.call('GET', `${WS}/connectors/vars/history`);
      assert.equal(history.body.items[0].action, 'connector:delete');
      const deletes = (await events('?resourceType=connection')).filter((e) => e.action === 'connection:delete');
      assert.equal(deletes.length, 3);
    });

    it('pages newest first with cursors and filters by principal and time', async () => {
      const all = await events('?limit=200');
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await app.call('GET', `${WS}/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...page.body.items.map((e: any) => e.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      assert.deepEqual(
        seen,
        all.map((e) => e.id),
      );
      assert.deepEqual(
        [...seen].sort((a, b) => b - a),
        seen,
      );
      assert.equal((await events(`?principalId=${all[0].principalId}&limit=200`)).length, all.length);
      assert.equal((await events('?principalId=prn_nobody')).length, 0);
      assert.equal((await events('?since=2999-01-01T00:00:00Z')).length, 0);
      assert.equal((await events('?until=2000-01-01T00:00:00Z')).length, 0);
      assert.equal((await app.call('GET', `${WS}/audit?since=yesterday`)).status, 400);
    });

    it('records member and API-key changes and lets a viewer read the log', async () => {
      const key = await app.call('POST', `${WS}/api-keys`, { body: { name: 'reader', role: 'viewer' } });
      assert.equal(key.status, 201);
      const created = (await events('?resourceType=api-key'))[0];
      assert.equal(created.action, 'api-key:create');
      assert.equal(created.resourceId, key.body.id);
      assert.equal((await app.call('GET', `${WS}/audit`, { key: key.body.key })).status, 200);
      assert.ok(!JSON.stringify(await events('?limit=200')).includes(key.body.key));
    });

    it("hides another workspace's log", async () => {
      await app.call('POST', '/api/v1/workspaces', { body: { id: 'other-audit', name: 'Other' } });
      const key = await app.call('POST', '/api/v1/workspaces/other-audit/api-keys', {
        body: { name: 'o', role: 'owner' },
      });
      assert.equal((await app.call('GET', `${WS}/audit`, { key: key.body.key })).status, 404);
    });
  });
}
