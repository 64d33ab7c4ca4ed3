// Model Studio (Bailian) connectors through the official @alicloud/bailian20231229 SDK, pointed at a listening
// plugboard over HTTP, on both stores: the same connectors the native API serves, with Alibaba's errors.
import { wrongSecretOf } from './support/stores.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import BailianModule, * as bailian from '@alicloud/bailian20231229';
import { acs3Signature, sha256Hex } from '../src/dialects/alibaba/acs3-signature.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';
import {
  assertSdkError,
  auditOf,
  createAlibabaKey,
  listenForSdk,
  sdkConfig,
  sdkError,
  type AccessKeyPair,
} from './support/alibaba.js';

// The package is CommonJS: under Node's ESM loader its client class is the module's `default` export.
const Bailian = BailianModule.default;
type BailianClient = InstanceType<typeof Bailian>;
const WS = '/api/v1/workspaces/default';

const clientFor = (endpoint: string, pair: { id: string; secret: string }): BailianClient =>
  new Bailian(sdkConfig(endpoint, pair));
const update = (
  client: BailianClient,
  workspaceId: string,
  connectorId: string,
  fields: { connectorName?: string; description?: string },
  headers: Record<string, string> = {},
) =>
  client.updateConnectorWithOptions(
    workspaceId,
    connectorId,
    new bailian.UpdateConnectorRequest(fields),
    headers,
    {} as never,
  );

/** A correctly signed request sent by hand (chunked), for what the SDK cannot be made to send. */
function sendSigned(
  endpoint: string,
  pair: AccessKeyPair,
  options: { method: string; path: string; body: string; declaredBody?: string },
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {
    host: endpoint,
    'x-acs-action': 'UpdateConnector',
    'x-acs-version': '2023-12-29',
    'x-acs-date': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'x-acs-signature-nonce': randomBytes(32).toString('hex'),
    'x-acs-content-sha256': sha256Hex(options.declaredBody ?? options.body),
    'content-type': 'application/x-www-form-urlencoded',
  };
  const signature = acs3Signature({ method: options.method, path: options.path, query: {}, headers }, pair.secret);
  const signedHeaders = Object.keys(headers).sort().join(';');
  headers.authorization = `ACS3-HMAC-SHA256 Credential=${pair.id},SignedHeaders=${signedHeaders},Signature=${signature}`;
  const [host, port] = endpoint.split(':');
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host, port: Number(port), method: options.method, path: options.path, headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    // Two writes without Content-Length: the body goes chunked, as the SDKs send it.
    req.write(options.body.slice(0, 5));
    req.end(options.body.slice(5));
  });
}

for (const engine of ENGINES) {
  describe(`Model Studio connectors through the Bailian SDK [${engine}]`, () => {
    let app: TestApp;
    let endpoint: string;
    let editor: AccessKeyPair;
    let client: BailianClient;

    before(async () => {
      app = await startTestApp(engine, { env: { BAILIAN_RATE_LIMIT_PER_SECOND: '1000' } });
      endpoint = await listenForSdk(app);
      editor = await createAlibabaKey(app, 'editor');
      client = clientFor(endpoint, editor);
      assert.equal(
        (
          await app.call('POST', `${WS}/connectors`, {
            body: { id: 'conn_1', name: 'Before', description: 'old', baseUrl: 'https://api.example.com' },
          })
        ).status,
        201,
      );
      assert.equal(
        (await app.call('POST', '/api/v1/workspaces', { body: { id: 'elsewhere', name: 'Elsewhere' } })).status,
        201,
      );
    });
    after(async () => {
      await app?.stop();
    });

    it('updates a connector with UpdateConnector and answers in the seed shape', async () => {
      const response = await update(client, 'default', 'conn_1', { connectorName: 'n ame*~!', description: 'd' });
      assert.equal(response.statusCode, 200);
      assert.equal(response.body?.success, true);
      assert.equal(response.body?.status, '200');
      assert.equal(response.body?.data?.connectorId, 'conn_1');
      assert.match(response.body?.requestId ?? '', /.+/);
      const native = await app.call('GET', `${WS}/connectors/conn_1`);
      assert.equal(native.body.name, 'n ame*~!');
      assert.equal(native.body.description, 'd');
      assert.equal(native.body.baseUrl, 'https://api.example.com', 'fields Model Studio does not carry are kept');
    });

    it('records exactly one audit event for the dialect change, by the AccessKey principal', async () => {
      const before = (await auditOf(app, 'connector', 'conn_1')).length;
      await update(client, 'default', 'conn_1', { connectorName: 'Audited', description: 'via bailian' });
      const events = await auditOf(app, 'connector', 'conn_1');
      assert.equal(events.length, before + 1);
      assert.equal(events[0].action, 'connector:update');
      assert.equal(events[0].principalId, editor.principalId);
      assert.deepEqual(events[0].changedFields, ['description', 'name']);
    });

    it('writes no audit event when UpdateConnector changes nothing', async () => {
      await update(client, 'default', 'conn_1', { connectorName: 'Same', description: 'same' });
      const before = (await auditOf(app, 'connector', 'conn_1')).length;
      await update(client, 'default', 'conn_1', { connectorName: 'Same', description: 'same' });
      assert.equal((await auditOf(app, 'connector', 'conn_1')).length, before);
    });

    it('shows a change made through the native API to GetConnector', async () => {
      const patched = await app.call('PATCH', `${WS}/connectors/conn_1`, {
        body: { name: 'Native name', description: 'native' },
      });
      assert.equal(patched.status, 200, patched.text);
      const before = (await auditOf(app, 'connector', 'conn_1')).length;
      const response = await client.getConnectorWithOptions(
        'default',
        new bailian.GetConnectorRequest({ connectorId: 'conn_1' }),
        {},
        {} as never,
      );
      assert.equal(response.body?.data?.connectorName, 'Native name');
      assert.equal(response.body?.data?.description, 'native');
      assert.equal((await auditOf(app, 'connector', 'conn_1')).length, before, 'a read writes no audit event');
    });

    it('refuses UpdateConnector without ConnectorName or with an empty Description, changing nothing', async () => {
      const before = (await app.call('GET', `${WS}/connectors/conn_1`)).body;
      assertSdkError(
        await sdkError(() => update(client, 'default', 'conn_1', { description: 'd' })),
        400,
        'MissingConnectorName',
        'ClientError',
      );
      assertSdkError(
        await sdkError(() => update(client, 'default', 'conn_1', { connectorName: 'x', description: '' })),
        400,
        'MissingDescription',
        'ClientError',
      );
      assert.deepEqual((await app.call('GET', `${WS}/connectors/conn_1`)).body, before);
    });

    it('names the field when the core refuses a value', async () => {
      const error = await sdkError(() =>
        update(client, 'default', 'conn_1', { connectorName: 'x'.repeat(200), description: 'd' }),
      );
      assertSdkError(error, 400, 'InvalidParameter', 'ClientError');
      assert.match(error.message, /ConnectorName/);
    });

    it('answers 404 for an unknown connector', async () => {
      assertSdkError(
        await sdkError(() => update(client, 'default', 'nope', { connectorName: 'x', description: 'd' })),
        404,
        'NotFound',
        'ClientError',
      );
    });

    it("answers 403 NoPermission in a workspace the key's principal is not a member of", async () => {
      const error = await sdkError(() =>
        update(client, 'elsewhere', 'conn_1', { connectorName: 'x', description: 'd' }),
      );
      assertSdkError(error, 403, 'NoPermission', 'ClientError');
    });

    it('answers 403 NoPermission to a viewer', async () => {
      const viewer = clientFor(endpoint, await createAlibabaKey(app, 'viewer'));
      assertSdkError(
        await sdkError(() => update(viewer, 'default', 'conn_1', { connectorName: 'x', description: 'd' })),
        403,
        'NoPermission',
      );
    });

    it('refuses a wrong secret with SignatureDoesNotMatch', async () => {
      const wrong = clientFor(endpoint, { id: editor.id, secret: wrongSecretOf(editor.secret) });
      const error = await sdkError(() => update(wrong, 'default', 'conn_1', { connectorName: 'x', description: 'd' }));
      assertSdkError(error, 400, 'SignatureDoesNotMatch', 'ClientError');
      assert.ok(!error.message.includes(editor.secret));
    });

    it('refuses an unknown AccessKey id', async () => {
      const stranger = clientFor(endpoint, { id: 'LTAI00000000000000000000', secret: 'x'.repeat(30) });
      assertSdkError(
        await sdkError(() => update(stranger, 'default', 'conn_1', { connectorName: 'x', description: 'd' })),
        404,
        'InvalidAccessKeyId.NotFound',
      );
    });

    it('refuses a replayed nonce', async () => {
      const nonce = randomBytes(32).toString('hex');
      await update(
        client,
        'default',
        'conn_1',
        { connectorName: 'Once', description: 'd' },
        { 'x-acs-signature-nonce': nonce },
      );
      const error = await sdkError(() =>
        update(
          client,
          'default',
          'conn_1',
          { connectorName: 'Twice', description: 'd' },
          { 'x-acs-signature-nonce': nonce },
        ),
      );
      assertSdkError(error, 400, 'SignatureNonceUsed', 'ClientError');
      assert.equal((await app.call('GET', `${WS}/connectors/conn_1`)).body.name, 'Once');
    });

    it('refuses a timestamp more than 15 minutes off, either way', async () => {
      const old = new Date(Date.now() - 16 * 60 * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const future = new Date(Date.now() + 16 * 60 * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      for (const date of [old, future]) {
        assertSdkError(
          await sdkError(() =>
            update(client, 'default', 'conn_1', { connectorName: 'x', description: 'd' }, { 'x-acs-date': date }),
          ),
          400,
          'InvalidTimeStamp.Expired',
        );
      }
      const recent = new Date(Date.now() - 10 * 60 * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      await update(
        client,
        'default',
        'conn_1',
        { connectorName: 'Ten minutes late', description: 'd' },
        { 'x-acs-date': recent },
      );
    });

    it('refuses the key of a disabled principal', async () => {
      const pair = await createAlibabaKey(app, 'editor');
      await app.db.kysely
        .updateTable('principals')
        .set({ status: 'disabled' })
        .where('id', '=', pair.principalId)
        .execute();
      assertSdkError(
        await sdkError(() =>
          update(clientFor(endpoint, pair), 'default', 'conn_1', { connectorName: 'x', description: 'd' }),
        ),
        400,
        'InvalidAccessKeyId.Inactive',
      );
    });

    it('refuses a key disabled through the API from the next request, and takes it again once enabled', async () => {
      const pair = await createAlibabaKey(app, 'editor');
      const send = () =>
        update(clientFor(endpoint, pair), 'default', 'conn_1', { connectorName: 'Toggled', description: 'd' });
      await send();
      const disabled = await app.call('PATCH', `${WS}/access-keys/${pair.id}`, { body: { status: 'disabled' } });
      assert.equal(disabled.status, 200, disabled.text);
      assertSdkError(await sdkError(send), 400, 'InvalidAccessKeyId.Inactive');
      const enabled = await app.call('PATCH', `${WS}/access-keys/${pair.id}`, { body: { status: 'active' } });
      assert.equal(enabled.status, 200, enabled.text);
      await send();
    });

    it('hashes the chunked body actually received and refuses one that differs from x-acs-content-sha256', async () => {
      const path = '/default/datacenter/connector/conn_1';
      const good = await sendSigned(endpoint, editor, {
        method: 'PUT',
        path,
        body: 'ConnectorName=Chunked&Description=d',
      });
      assert.equal(good.status, 200, JSON.stringify(good.body));
      assert.equal((await app.call('GET', `${WS}/connectors/conn_1`)).body.name, 'Chunked');
      const bad = await sendSigned(endpoint, editor, {
        method: 'PUT',
        path,
        body: 'ConnectorName=Evil&Description=d',
        declaredBody: 'ConnectorName=Fine&Description=d',
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.Code, 'SignatureDoesNotMatch');
      assert.equal((await app.call('GET', `${WS}/connectors/conn_1`)).body.name, 'Chunked');
    });

    it('adds, reads by id and by name, and deletes a connector', async () => {
      const added = await client.addConnectorWithOptions(
        'default',
        new bailian.AddConnectorRequest({
          connectorName: 'Docs bucket',
          connectorType: 'FILE',
          description: 'files',
          fileConnectorConfig: new bailian.AddConnectorRequestFileConnectorConfig({
            bucketName: 'b',
            regionId: 'cn-hangzhou',
            storageType: 'OSS_CUSTOM',
          }),
        }),
        {},
        {} as never,
      );
      assert.equal(added.body?.success, true);
      const id = added.body?.data?.connectorId;
      assert.ok(id);
      const native = await app.call('GET', `${WS}/connectors/${id}`);
      assert.equal(native.body.name, 'Docs bucket');
      const byId = await client.getConnectorWithOptions(
        'default',
        new bailian.GetConnectorRequest({ connectorId: id }),
        {},
        {} as never,
      );
      assert.deepEqual(
        { ...byId.body?.data },
        { connectorId: id, connectorName: 'Docs bucket', connectorType: 'FILE', description: 'files' },
      );
      const byName = await client.getConnectorWithOptions(
        'default',
        new bailian.GetConnectorRequest({ connectorName: 'Docs bucket' }),
        {},
        {} as never,
      );
      assert.equal(byName.body?.data?.connectorId, id);
      const deleted = await client.deleteConnectorWithOptions(
        id,
        'default',
        new bailian.DeleteConnectorRequest({}),
        {},
        {} as never,
      );
      assert.equal(deleted.body?.data?.connectorId, id);
      assert.equal((await app.call('GET', `${WS}/connectors/${id}`)).status, 404);
      assertSdkError(
        await sdkError(() =>
          client.getConnectorWithOptions(
            'default',
            new bailian.GetConnectorRequest({ connectorId: id }),
            {},
            {} as never,
          ),
        ),
        404,
        'NotFound',
      );
      const deletes = (await auditOf(app, 'connector', id)).filter((e) => e.action === 'connector:delete');
      assert.equal(deletes.length, 1);
    });

    it('refuses AddConnector without ConnectorType and GetConnector without either key', async () => {
      const error = await sdkError(() =>
        client.addConnectorWithOptions(
          'default',
          new bailian.AddConnectorRequest({ connectorName: 'x', description: 'd' }),
          {},
          {} as never,
        ),
      );
      assertSdkError(error, 400, 'MissingConnectorType');
      assertSdkError(
        await sdkError(() =>
          client.getConnectorWithOptions('default', new bailian.GetConnectorRequest({}), {}, {} as never),
        ),
        400,
        'MissingConnectorId',
      );
    });
  });

  describe(`Model Studio throttling [${engine}]`, () => {
    let app: TestApp;
    let endpoint: string;

    before(async () => {
      app = await startTestApp(engine);
      endpoint = await listenForSdk(app);
      assert.equal((await app.call('POST', `${WS}/connectors`, { body: { id: 'busy', name: 'Busy' } })).status, 201);
    });
    after(async () => {
      await app?.stop();
    });

    it('throttles a principal past 5 UpdateConnector calls a second with a ThrottlingError and x-acs-retry-after', async () => {
      const client = clientFor(endpoint, await createAlibabaKey(app, 'editor'));
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          update(client, 'default', 'busy', { connectorName: `n${i}`, description: 'd' }),
        ),
      );
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
      assert.ok(results.filter((r) => r.status === 'fulfilled').length >= 5, 'the first five pass');
      assert.ok(refused.length >= 1, 'the rest are throttled');
      for (const error of refused) {
        assertSdkError(error, 429, 'Throttling.User', 'ThrottlingError');
        assert.ok(
          typeof error.retryAfter === 'number' && error.retryAfter > 0,
          'retryAfter comes from x-acs-retry-after',
        );
      }
      const other = clientFor(endpoint, await createAlibabaKey(app, 'editor'));
      await update(other, 'default', 'busy', { connectorName: 'other principal', description: 'd' });
      const metrics = await app.server.inject({ method: 'GET', url: '/metrics' });
      assert.match(
        metrics.body,
        new RegExp(`plugboard_rate_limit_rejections_total\\{class="bailian"\\} ${refused.length}$`, 'm'),
        'every refusal counted',
      );
    });
  });
}
