// What a new user tries: on PostgreSQL, one script updates many connections through DataWorks `UpdateConnection`
// with Alibaba's official SDK while another renames access clients through Huawei Fabric's API with Huawei's core SDK
// (and their tokens rotate through the native API: Fabric has no rotation operation). Every write is a row change
// of the writer, batched with whatever else arrives; the audit must still hold exactly one event per change.
// 300 connections prove that in seconds; the full 5,000 against a bare server's speed is `npm run
// bench:vendor-scripts` (bench/README.md), since timing belongs to benchmarks.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dataworksParams } from './support/dataworks-sdk.js';
import OpenApiModule, * as OpenApi from '@alicloud/openapi-client';
import * as TeaUtil from '@alicloud/tea-util';
import { createAlibabaKey } from './support/alibaba.js';
import { startTestApp, type TestApp } from './support/stores.js';

const require = createRequire(import.meta.url);
const { ClientBuilder } = require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder');
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials');

const OpenApiClient = OpenApiModule.default;
const WS = '/api/v1/workspaces/default';
const CONNECTIONS = 300;
const CLIENTS = 6;
const SCRIPT_WORKERS = 12;

/** Runs `work` over the items with a few calls in flight at once, as a script with a small pool would. */
async function inPool<T>(items: readonly T[], workers: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

describe('DataWorks and Huawei Fabric scripts writing at once [postgres]', () => {
  let app: TestApp;
  let origin: string;

  before(async () => {
    app = await startTestApp('postgres', {
      env: { RATE_LIMIT_WRITE_PER_SECOND: '0', RATE_LIMIT_READ_PER_SECOND: '0' },
    });
    await app.server.listen({ host: '127.0.0.1', port: 0 });
    origin = `127.0.0.1:${(app.server.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await app?.stop();
  });

  it(
    'updates every connection and renames every client once per call: one audit event per change',
    { timeout: 300_000 },
    async () => {
      const ids: number[] = [];
      await inPool(
        Array.from({ length: CONNECTIONS }, (_, i) => i),
        SCRIPT_WORKERS,
        async (i) => {
          const created = await app.call('POST', `${WS}/connections`, {
            body: { name: `warehouse-${i}`, type: 'mysql', content: { host: 'db', port: 3306, password: 'p0' } },
          });
          assert.equal(created.status, 201, created.text);
          ids.push(created.body.id);
        },
      );
      const clients: string[] = [];
      for (let i = 0; i < CLIENTS; i++) {
        const created = await app.call('POST', `${WS}/access-clients`, { body: { id: `script-${i}`, name: `c${i}` } });
        assert.equal(created.status, 201, created.text);
        clients.push(created.body.id);
      }

      const alibaba = await createAlibabaKey(app, 'editor');
      const dataworks = new OpenApiClient(
        new OpenApi.Config({
          accessKeyId: alibaba.id,
          accessKeySecret: alibaba.secret,
          endpoint: origin,
          protocol: 'http',
        }),
      );
      const huaweiKey = await app.call('POST', `${WS}/access-keys`, {
        body: { name: 'fabric script', kind: 'huawei', role: 'editor' },
      });
      assert.equal(huaweiKey.status, 201, huaweiKey.text);
      const fabric = new ClientBuilder((hcClient: unknown) => hcClient)
        .withCredential(new BasicCredentials().withAk(huaweiKey.body.id).withSk(huaweiKey.body.secret))
        .withEndpoint(`http://${origin}`)
        .build();

      // Script 1: each connection gets a new password (and host) through UpdateConnection.
      const updateConnections = inPool(ids, SCRIPT_WORKERS, async (id) => {
        const params = dataworksParams('UpdateConnection');
        const query = {
          ConnectionId: String(id),
          EnvType: '0',
          RegionId: 'cn-shanghai',
          Content: JSON.stringify({ host: `db-${id}`, port: 3306, password: `rotated-${id}` }),
        };
        const response = (await dataworks.callApi(
          params,
          new OpenApi.OpenApiRequest({ query }),
          new TeaUtil.RuntimeOptions({}),
        )) as { statusCode: number; body: { Data: boolean } };
        assert.equal(response.statusCode, 200);
        assert.equal(response.body.Data, true);
      });
      // Script 2: renames through Fabric; its tokens rotate through the native API meanwhile.
      const renames = new Map<string, number>(clients.map((id) => [id, 0]));
      const rotations = new Map<string, number>(clients.map((id) => [id, 0]));
      const renameClients = inPool(
        Array.from({ length: 10 }, (_, round) => clients.map((id) => ({ id, round }))).flat(),
        4,
        async ({ id, round }) => {
          const answer = await fabric.sendRequest({
            method: 'PUT',
            url: '/v1/access-clients/{client_id}',
            contentType: 'application/json',
            pathParams: { client_id: id },
            queryParams: {},
            headers: {},
            data: { name: `renamed ${round}` },
          });
          assert.equal(answer.httpStatusCode, 200);
          renames.set(id, renames.get(id)! + 1);
          if (round % 3 === 0) {
            const rotated = await app.call('POST', `${WS}/access-clients/${id}/secrets`, {
              body: { gracePeriodSeconds: 60 },
            });
            assert.equal(rotated.status, 200, rotated.text);
            rotations.set(id, rotations.get(id)! + 1);
          }
        },
      );
      await Promise.all([updateConnections, renameClients]);

      const connectionEvents = await app.db.kysely
        .selectFrom('audit_events')
        .select(['resource_id', 'principal_id', 'from_revision', 'to_revision', 'changed_fields'])
        .where('resource_type', '=', 'connection')
        .where('action', '=', 'connection:update')
        .execute();
      assert.equal(connectionEvents.length, CONNECTIONS, 'one update event per connection');
      assert.deepEqual(new Set(connectionEvents.map((e) => Number(e.resource_id))), new Set(ids));
      for (const event of connectionEvents) {
        assert.equal(event.principal_id, alibaba.principalId);
        assert.equal(event.from_revision, 1);
        assert.equal(event.to_revision, 2);
        assert.deepEqual(JSON.parse(event.changed_fields), ['content.host', 'content.password']);
      }
      for (const id of ids) {
        const stored = await app.call('GET', `${WS}/connections/${id}`);
        assert.equal(stored.body.revision, 2);
        assert.equal(stored.body.content.host, `db-${id}`);
      }
      for (const id of clients) {
        const reply = await app.call('GET', `${WS}/audit?resourceType=access-client&resourceId=${id}&limit=200`);
        assert.equal(reply.status, 200, reply.text);
        const events = reply.body.items as { action: string; toRevision: number }[];
        // Ten renames to ten different names: each is a change.
        assert.equal(events.filter((e) => e.action === 'access-client:update').length, renames.get(id));
        assert.equal(events.filter((e) => e.action === 'access-client:rotate-secret').length, rotations.get(id));
        const stored = await app.call('GET', `${WS}/access-clients/${id}`);
        assert.equal(stored.body.revision, events.length, 'one event per revision, the create included');
        assert.equal(stored.body.secrets.length, rotations.get(id)! + 1);
      }
    },
  );
});
