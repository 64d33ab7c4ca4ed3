import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, OWNER_KEY, startTestApp, type TestApp } from './support/stores.js';
import { loadConfig } from '../src/config.js';
import { createApp } from '../src/app.js';

const WS = '/api/v1/workspaces/default';

for (const engine of ENGINES) {
  describe(`Idempotency-Key [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine);
    });
    after(async () => {
      await app?.stop();
    });

    const connectionCount = async () => (await app.call('GET', `${WS}/connections?limit=200`)).body.items.length;

    it('replays the first response to a retried POST without creating a second resource', async () => {
      const before = await connectionCount();
      const body = { name: 'idem-1', type: 'http', content: { password: 'p' } };
      const first = await app.call('POST', `${WS}/connections`, { body, headers: { 'idempotency-key': 'create-1' } });
      assert.equal(first.status, 201, first.text);
      const again = await app.call('POST', `${WS}/connections`, { body, headers: { 'idempotency-key': 'create-1' } });
      assert.equal(again.status, 201);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(again.text, first.text);
      assert.equal(again.headers.etag, first.headers.etag);
      assert.equal(again.headers.location, first.headers.location);
      assert.equal(await connectionCount(), before + 1);
    });

    it('refuses the same key with a different body with 422', async () => {
      const reply = await app.call('POST', `${WS}/connections`, {
        body: { name: 'idem-2', type: 'http' },
        headers: { 'idempotency-key': 'create-1' },
      });
      assert.equal(reply.status, 422, reply.text);
      assert.equal(reply.body.code, 'idempotency-mismatch');
    });

    it('replays a PUT and a PATCH, including their headers, without a second revision', async () => {
      await app.call('POST', `${WS}/connectors`, { body: { id: 'idem', name: 'I' } });
      const put = await app.call('PUT', `${WS}/connectors/idem`, {
        body: { name: 'I2' },
        headers: { 'idempotency-key': 'put-1' },
      });
      const patchBody = { connectionVariables: [{ name: 'a', value: '1' }] };
      const patch = await app.call('PATCH', `${WS}/connectors/idem`, {
        body: patchBody,
        headers: { 'idempotency-key': 'patch-1' },
      });
      assert.equal(patch.body.revision, 3);
      const putAgain = await app.call('PUT', `${WS}/connectors/idem`, {
        body: { name: 'I2' },
        headers: { 'idempotency-key': 'put-1' },
      });
      const patchAgain = await app.call('PATCH', `${WS}/connectors/idem`, {
        body: patchBody,
        headers: { 'idempotency-key': 'patch-1' },
      });
      assert.equal(putAgain.text, put.text);
      assert.equal(patchAgain.text, patch.text);
      assert.equal(patchAgain.headers['plugboard-connections-updated'], patch.headers['plugboard-connections-updated']);
      assert.equal((await app.call('GET', `${WS}/connectors/idem`)).body.revision, 3);
      const events = await app.call('GET', `${WS}/audit?resourceId=idem`);
      assert.equal(events.body.items.length, 3);
    });

    it('replays a refused request as refused, and does not keep server errors', async () => {
      const stale = { 'if-match': '"9-zzz"', 'idempotency-key': 'stale-1' };
      assert.equal(
        (await app.call('PUT', `${WS}/connectors/idem`, { body: { name: 'x' }, headers: stale })).status,
        412,
      );
      const again = await app.call('PUT', `${WS}/connectors/idem`, { body: { name: 'x' }, headers: stale });
      assert.equal(again.status, 412);
      assert.equal(again.headers['idempotent-replayed'], 'true');
    });

    it('scopes keys to the caller and the path', async () => {
      const key = await app.call('POST', `${WS}/api-keys`, { body: { name: 'other', role: 'editor' } });
      const body = { name: 'idem-scoped', type: 'http' };
      const mine = await app.call('POST', `${WS}/connections`, { body, headers: { 'idempotency-key': 'shared' } });
      const theirs = await app.call('POST', `${WS}/connections`, {
        body: { ...body, name: 'idem-scoped-2' },
        key: key.body.key,
        headers: { 'idempotency-key': 'shared' },
      });
      assert.equal(mine.status, 201);
      assert.equal(theirs.status, 201);
      assert.notEqual(theirs.headers['idempotent-replayed'], 'true');
    });

    it('never stores a one-time API key for replay, and refuses to create a second one', async () => {
      const headers = { 'idempotency-key': 'key-once' };
      const first = await app.call('POST', `${WS}/api-keys`, { body: { name: 'once', role: 'viewer' }, headers });
      assert.equal(first.status, 201);
      const again = await app.call('POST', `${WS}/api-keys`, { body: { name: 'once', role: 'viewer' }, headers });
      assert.equal(again.status, 409, again.text);
      assert.ok(!again.text.includes(first.body.key));
      const rows = await app.db.kysely.selectFrom('idempotency_records').selectAll().execute();
      assert.ok(!JSON.stringify(rows).includes(first.body.key));
      const keys = await app.call('GET', `${WS}/api-keys?limit=200`);
      assert.equal(keys.body.items.filter((k: any) => k.name === 'once').length, 1);
    });

    it('refuses a malformed key', async () => {
      const reply = await app.call('POST', `${WS}/connections`, {
        body: { name: 'bad-key', type: 'http' },
        headers: { 'idempotency-key': 'has space' },
      });
      assert.equal(reply.status, 400);
      assert.equal(reply.body.errors[0].path, 'header/idempotency-key');
    });

    it('lets only one of many concurrent requests with the same key write', async () => {
      const before = await connectionCount();
      const body = { name: 'idem-race', type: 'http' };
      const replies = await Promise.all(
        Array.from({ length: 10 }, () =>
          app.call('POST', `${WS}/connections`, { body, headers: { 'idempotency-key': 'race-1' } }),
        ),
      );
      const statuses = replies.map((r) => r.status);
      assert.ok(
        statuses.every((s) => s === 201 || s === 409),
        statuses.join(),
      );
      assert.ok(statuses.includes(201));
      assert.equal(await connectionCount(), before + 1);
    });

    it('replays on another process sharing the store', async () => {
      const second = await createApp(loadConfig({ ...app.store.env, PLUGBOARD_ADMIN_KEY: OWNER_KEY }));
      try {
        const body = { name: 'idem-cross', type: 'http' };
        const first = await app.call('POST', `${WS}/connections`, { body, headers: { 'idempotency-key': 'cross-1' } });
        const replay = await second.server.inject({
          method: 'POST',
          url: `${WS}/connections`,
          headers: {
            authorization: `Bearer ${OWNER_KEY}`,
            'content-type': 'application/json',
            'idempotency-key': 'cross-1',
          },
          payload: JSON.stringify(body),
        });
        assert.equal(replay.statusCode, 201);
        assert.equal(replay.headers['idempotent-replayed'], 'true');
        assert.equal(replay.body, first.text);
      } finally {
        await second.close();
      }
    });
  });
}
