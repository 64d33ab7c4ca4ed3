// DataWorks connections (RPC, 2020-05-18) through the official generic @alicloud/openapi-client `callApi`, in
// its default ACS3 mode and its legacy `signatureAlgorithm: "v2"` mode, pointed at a listening plugboard over
// HTTP, on both stores: the same connections the native API serves, with DataWorks' answers and errors.
import { wrongSecretOf } from './support/stores.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { dataworksParams } from './support/dataworks-sdk.js';
import OpenApiModule, * as OpenApi from '@alicloud/openapi-client';
import * as TeaUtil from '@alicloud/tea-util';
import { MASK } from '../src/domain/secrets.js';
import { upsertMembership } from '../src/storage/principal-repo.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';
import {
  assertSdkError,
  auditOf,
  createAlibabaKey,
  listenForSdk,
  sdkError,
  type AccessKeyPair,
} from './support/alibaba.js';

// The package is CommonJS: under Node's ESM loader its client class is the module's `default` export.
const OpenApiClient = OpenApiModule.default;
type Client = InstanceType<typeof OpenApiClient>;
type Mode = 'acs3' | 'v2';
const MODES: readonly Mode[] = ['acs3', 'v2'];
const WS = '/api/v1/workspaces/default';
const mariadb = { host: '127.0.0.1', port: 3306, username: 'root', password: '', database: 'test' };

const clientFor = (endpoint: string, pair: { id: string; secret: string }, mode: Mode): Client =>
  new OpenApiClient(
    new OpenApi.Config({
      accessKeyId: pair.id,
      accessKeySecret: pair.secret,
      endpoint,
      protocol: 'http',
      ...(mode === 'v2' ? { signatureAlgorithm: 'v2' } : {}),
    }),
  );

interface CallOptions {
  readonly method?: 'GET' | 'POST' | 'PUT';
  /** Where the caller's parameters go: the URL query (the default) or a form body. */
  readonly in?: 'query' | 'body';
  readonly headers?: Record<string, string>;
  /** Extra query parameters, e.g. the v2 mode's Timestamp or SignatureNonce. */
  readonly query?: Record<string, string>;
}

/** One DataWorks action as a script calls it with the generic client. */
function call(
  client: Client,
  action: string,
  parameters: Record<string, string | number>,
  options: CallOptions = {},
): Promise<{ statusCode: number; body: any }> {
  const params = dataworksParams(action, { method: options.method });
  const strings = Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, String(v)]));
  const request = new OpenApi.OpenApiRequest({
    headers: options.headers,
    query: { ...(options.in === 'body' ? {} : strings), ...options.query },
    ...(options.in === 'body' ? { body: strings } : {}),
  });
  return client.callApi(params, request, new TeaUtil.RuntimeOptions({})) as Promise<{ statusCode: number; body: any }>;
}

const update = (client: Client, id: number | string, fields: Record<string, string | number>, options?: CallOptions) =>
  call(client, 'UpdateConnection', { ConnectionId: id, EnvType: 0, RegionId: 'cn-shanghai', ...fields }, options);

const timestamp = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');

for (const engine of ENGINES) {
  describe(`DataWorks connections through the generic Alibaba client [${engine}]`, () => {
    let app: TestApp;
    let endpoint: string;
    let editor: AccessKeyPair;
    let projectId: number;
    let elsewhereProjectId: number;
    let connectionId: number;
    let foreignId: number;

    const nativeConnection = async (id: number) => {
      const reply = await app.call('GET', `${WS}/connections/${id}`);
      assert.equal(reply.status, 200, reply.text);
      return reply.body;
    };
    const storedContent = async (id: number) =>
      JSON.parse(
        (await app.db.kysely.selectFrom('connections').select('content').where('id', '=', id).executeTakeFirstOrThrow())
          .content,
      );

    before(async () => {
      app = await startTestApp(engine);
      endpoint = await listenForSdk(app);
      editor = await createAlibabaKey(app, 'editor');
      projectId = (await app.call('GET', '/api/v1/workspaces/default')).body.projectId;
      const elsewhere = await app.call('POST', '/api/v1/workspaces', { body: { id: 'elsewhere', name: 'Elsewhere' } });
      assert.equal(elsewhere.status, 201, elsewhere.text);
      elsewhereProjectId = elsewhere.body.projectId;
      const created = await app.call('POST', `${WS}/connections`, {
        body: {
          name: 'warehouse',
          type: 'mysql',
          envType: 0,
          description: 'old',
          content: { ...mariadb, password: 'p0' },
        },
      });
      assert.equal(created.status, 201, created.text);
      connectionId = created.body.id;
      const foreign = await app.call('POST', '/api/v1/workspaces/elsewhere/connections', {
        body: { name: 'theirs', type: 'mysql', content: mariadb },
      });
      assert.equal(foreign.status, 201, foreign.text);
      foreignId = foreign.body.id;
    });
    after(async () => {
      await app?.stop();
    });

    it('gives every workspace a stable numeric projectId, read-only in the native API', async () => {
      assert.ok(Number.isSafeInteger(projectId) && projectId > 0);
      assert.notEqual(elsewhereProjectId, projectId);
      const renamed = await app.call('PUT', '/api/v1/workspaces/elsewhere', {
        body: { name: 'Renamed', projectId: 777 },
      });
      assert.equal(renamed.status, 200, renamed.text);
      assert.equal(renamed.body.projectId, elsewhereProjectId, 'a projectId in a PUT body is ignored');
      assert.equal((await app.call('GET', '/api/v1/workspaces/elsewhere')).body.projectId, elsewhereProjectId);
    });

    it('answers an unsigned RPC call with a DataWorks JSON error, and leaves other requests to / to the server (404, or the console for a GET)', async () => {
      for (const [method, url] of [
        ['POST', '/'],
        ['GET', '/?Action=ListConnections&ProjectId=1'],
      ] as const) {
        const reply = await app.call(method, url, { key: null, headers: { 'x-acs-action': 'ListConnections' } });
        assert.equal(reply.status, 400, reply.text);
        assert.equal(reply.body.Code, 'MissingAccessKeyId');
        assert.equal(reply.body.Success, false);
        assert.equal(reply.body.HttpStatusCode, 400);
        assert.equal(reply.body.RequestId, reply.headers['x-acs-request-id']);
      }
      const form = await app.call('POST', '/', {
        key: null,
        body: 'Action=ListConnections&ProjectId=1',
        contentType: 'application/x-www-form-urlencoded',
      });
      assert.equal(form.body.Code, 'MissingAccessKeyId');
      const plain = await app.call('POST', '/', { body: { name: 'n' } });
      assert.equal(plain.status, 404, plain.text);
      assert.equal(plain.body.code, 'not-found');
      const page = await app.call('GET', '/');
      assert.equal(page.status, 302, page.text);
      assert.equal(page.headers.location, '/console/');
    });

    it("updates a connection of another workspace the signer may write as there, not as in its key's workspace", async () => {
      const signer = await createAlibabaKey(app, 'editor');
      const client = clientFor(endpoint, signer, 'acs3');
      const role = (value: 'editor' | 'viewer') =>
        upsertMembership(app.db.kysely, 'elsewhere', signer.principalId, value, new Date().toISOString());
      await role('editor');
      const content = { ...mariadb, host: 'elsewhere-host' };
      const done = await update(client, foreignId, { Content: JSON.stringify(content) });
      assert.equal(done.body.Data, true);
      const stored = await app.call('GET', `/api/v1/workspaces/elsewhere/connections/${foreignId}`);
      assert.equal(stored.body.content.host, 'elsewhere-host');
      assertSdkError(
        await sdkError(() => update(client, foreignId, { Content: JSON.stringify(content), ProjectId: projectId })),
        400,
        'Invalid.Tenant.ConnectionNotExists',
      );
      await role('viewer');
      assertSdkError(
        await sdkError(() => update(client, foreignId, { Content: JSON.stringify(content) })),
        403,
        'Invalid.Tenant.UserIsNotProjectOwnerOrAdmin',
      );
      const unknown = await sdkError(() => update(client, 987654321, { Content: '{}' }));
      assertSdkError(unknown, 400, 'Invalid.Tenant.ConnectionNotExists');
      assert.match(
        String(unknown.data.Message),
        /^The connection does not exist: no connection has ConnectionId 987654321/,
      );
    });

    it('deletes a connection of another workspace the signer may delete in as there, and nothing the answers refuse', async () => {
      const signer = await createAlibabaKey(app, 'editor');
      const client = clientFor(endpoint, signer, 'acs3');
      const role = (value: 'editor' | 'viewer') =>
        upsertMembership(app.db.kysely, 'elsewhere', signer.principalId, value, new Date().toISOString());
      const created = await app.call('POST', '/api/v1/workspaces/elsewhere/connections', {
        body: { name: 'to-delete', type: 'mysql', content: mariadb },
      });
      assert.equal(created.status, 201, created.text);
      const id = created.body.id as number;
      const stillThere = async () =>
        assert.equal((await app.call('GET', `/api/v1/workspaces/elsewhere/connections/${id}`)).status, 200);
      await role('viewer');
      assertSdkError(
        await sdkError(() => call(client, 'DeleteConnection', { ConnectionId: id })),
        403,
        'Invalid.Tenant.UserIsNotProjectOwnerOrAdmin',
      );
      await stillThere();
      await role('editor');
      assertSdkError(
        await sdkError(() => call(client, 'DeleteConnection', { ConnectionId: id, ProjectId: projectId })),
        400,
        'Invalid.Tenant.ConnectionNotExists',
      );
      await stillThere();
      const deleted = await call(client, 'DeleteConnection', { ConnectionId: id });
      assert.equal(deleted.body.Data, true);
      assert.equal((await app.call('GET', `/api/v1/workspaces/elsewhere/connections/${id}`)).status, 404);
      assertSdkError(
        await sdkError(() => call(client, 'DeleteConnection', { ConnectionId: id })),
        400,
        'Invalid.Tenant.ConnectionNotExists',
      );
      assert.equal((await app.call('GET', `${WS}/connections/${connectionId}`)).status, 200, 'nothing else went');
    });

    for (const mode of MODES) {
      describe(`signed with ${mode === 'acs3' ? 'ACS3-HMAC-SHA256 (the default)' : 'the legacy HMAC-SHA1 Signature (v2)'}`, () => {
        let client: Client;
        before(() => {
          client = clientFor(endpoint, editor, mode);
        });

        it('updates a connection with UpdateConnection and answers in the seed shape', async () => {
          const content = JSON.stringify({ ...mariadb, host: 'db.internal', password: `pw-${mode}` });
          const response = await update(
            client,
            connectionId,
            { Content: content, EnvType: 1, Description: `via ${mode}`, Status: 'DISABLED' },
            { method: 'PUT' },
          );
          assert.equal(response.statusCode, 200);
          assert.deepEqual(Object.keys(response.body).sort(), ['Data', 'HttpStatusCode', 'RequestId', 'Success']);
          assert.equal(response.body.Data, true);
          assert.equal(response.body.Success, true);
          assert.equal(response.body.HttpStatusCode, 200);
          assert.match(response.body.RequestId, /.+/);
          const native = await nativeConnection(connectionId);
          assert.equal(native.content.host, 'db.internal');
          assert.equal(native.content.password, MASK, 'the secret is masked in the native API');
          assert.equal(native.envType, 1);
          assert.equal(native.description, `via ${mode}`);
          assert.equal(native.status, 'disabled');
          assert.equal(native.name, 'warehouse', 'fields DataWorks does not carry are kept');
        });

        it('takes the parameters from a form body as well as from the query', async () => {
          const content = JSON.stringify({ ...mariadb, password: 'from-form' });
          const response = await update(
            client,
            connectionId,
            { Content: content, Description: 'form body', Status: 'ENABLED' },
            { in: 'body' },
          );
          assert.equal(response.body.Data, true);
          const native = await nativeConnection(connectionId);
          assert.equal(native.description, 'form body');
          assert.equal(native.status, 'active');
          assert.equal(native.envType, 0);
        });

        it('keeps the stored secret when the mask is written back inside Content', async () => {
          const before = await storedContent(connectionId);
          assert.notEqual(before.password, MASK);
          await update(client, connectionId, {
            Content: JSON.stringify({ ...mariadb, password: MASK, database: 'test' }),
            Description: 'mask kept',
          });
          const after = await storedContent(connectionId);
          assert.equal(after.password, before.password, 'the sealed secret is the same');
        });

        it('refuses UpdateConnection that moves the host while keeping the password by the mask, or carries a sealed value', async () => {
          const before = await storedContent(connectionId);
          const moved = await sdkError(() =>
            update(client, connectionId, {
              Content: JSON.stringify({ ...mariadb, host: 'elsewhere.example', password: MASK }),
            }),
          );
          assertSdkError(moved, 400, 'InvalidParameter');
          assert.match(String(moved.data.Message), /enter the secret again when you change where it is sent/);
          assert.match(String(moved.data.Message), /Content\.host/);
          const copied = await sdkError(() =>
            update(client, connectionId, {
              Content: JSON.stringify({ ...mariadb, password: MASK, database: before.password }),
            }),
          );
          assertSdkError(copied, 400, 'InvalidParameter');
          assert.ok(!String(copied.data.Message).includes(before.password), 'the sealed value is not echoed');
          assert.deepEqual(await storedContent(connectionId), before);
        });

        it('records exactly one audit event for a change, by the AccessKey principal, and none when nothing changes', async () => {
          const content = JSON.stringify({ ...mariadb, password: MASK, database: `db_${mode}` });
          const before = (await auditOf(app, 'connection', String(connectionId))).length;
          await update(client, connectionId, { Content: content, Description: 'audited' });
          const events = await auditOf(app, 'connection', String(connectionId));
          assert.equal(events.length, before + 1);
          assert.equal(events[0].action, 'connection:update');
          assert.equal(events[0].principalId, editor.principalId);
          assert.ok(events[0].changedFields.includes('content.database'), JSON.stringify(events[0].changedFields));
          await update(client, connectionId, { Content: content, Description: 'audited' });
          assert.equal((await auditOf(app, 'connection', String(connectionId))).length, before + 1);
        });

        it('shows a change made through the native API to ListConnections, with the secrets masked', async () => {
          const before = (await auditOf(app, 'connection', String(connectionId))).length;
          const patched = await app.call('PATCH', `${WS}/connections/${connectionId}`, {
            body: { description: `native ${mode}`, content: { database: `native_${mode}` } },
          });
          assert.equal(patched.status, 200, patched.text);
          const events = (await auditOf(app, 'connection', String(connectionId))).length;
          assert.equal(events, before + 1, 'the native change writes exactly one audit event');
          const listed = await call(
            client,
            'ListConnections',
            { ProjectId: projectId, Name: 'wareh' },
            { method: 'GET' },
          );
          assert.equal(listed.body.Success, true);
          assert.equal(listed.body.Data.TotalCount, 1);
          const [item] = listed.body.Data.Connections;
          assert.equal(item.Id, connectionId);
          assert.equal(item.Description, `native ${mode}`);
          assert.equal(item.ProjectId, projectId);
          const content = JSON.parse(item.Content);
          assert.equal(content.database, `native_${mode}`);
          assert.equal(content.password, MASK);
          assert.equal(
            (await auditOf(app, 'connection', String(connectionId))).length,
            events,
            'a read writes no audit event',
          );
        });

        it('creates, lists with filters and pages, and deletes connections', async () => {
          const ids: number[] = [];
          for (const [i, envType] of [0, 1, 1].entries()) {
            const created = await call(client, 'CreateConnection', {
              ProjectId: projectId,
              Name: `${mode}-src-${i}`,
              ConnectionType: 'PostgreSQL',
              Content: JSON.stringify({ host: '127.0.0.1', username: 'postgres', password: `secret-${i}` }),
              EnvType: envType,
              Description: `source ${i}`,
            });
            assert.equal(created.body.Success, true);
            assert.equal(typeof created.body.Data, 'number');
            ids.push(created.body.Data);
          }
          const native = await nativeConnection(ids[0]!);
          assert.equal(native.type, 'postgresql');
          assert.equal(native.content.password, MASK);
          assert.equal(
            (await auditOf(app, 'connection', String(ids[0]))).filter((e) => e.action === 'connection:create').length,
            1,
          );

          const filtered = await call(client, 'ListConnections', {
            ProjectId: projectId,
            Name: `${mode}-src`,
            EnvType: 1,
            ConnectionType: 'postgresql',
            PageSize: 1,
            PageNumber: 2,
          });
          assert.deepEqual(
            { ...filtered.body.Data, Connections: filtered.body.Data.Connections.map((c: any) => c.Id) },
            { PageNumber: 2, PageSize: 1, TotalCount: 2, Connections: [ids[2]] },
          );
          const [item] = filtered.body.Data.Connections;
          assert.equal(item.Name, `${mode}-src-2`);
          assert.equal(item.ConnectionType, 'postgresql');
          assert.equal(item.EnvType, 1);
          assert.equal(item.Status, 1);
          assert.equal(JSON.parse(item.Content).password, MASK);
          const defaults = await call(client, 'ListConnections', { ProjectId: projectId });
          assert.equal(defaults.body.Data.PageNumber, 1);
          assert.equal(defaults.body.Data.PageSize, 10);
          const disabled = await call(client, 'ListConnections', {
            ProjectId: projectId,
            Name: `${mode}-src`,
            Status: 'DISABLED',
          });
          assert.equal(disabled.body.Data.TotalCount, 0);

          for (const id of ids) {
            const deleted = await call(client, 'DeleteConnection', { ConnectionId: id });
            assert.deepEqual(
              { ...deleted.body, RequestId: 'x' },
              { RequestId: 'x', HttpStatusCode: 200, Data: true, Success: true },
            );
            assert.equal((await app.call('GET', `${WS}/connections/${id}`)).status, 404);
            assert.equal(
              (await auditOf(app, 'connection', String(id))).filter((e) => e.action === 'connection:delete').length,
              1,
            );
          }
          const gone = await sdkError(() => call(client, 'DeleteConnection', { ConnectionId: ids[0]! }));
          assertSdkError(gone, 400, 'Invalid.Tenant.ConnectionNotExists');
        });

        it('answers 400 Invalid.Tenant.ConnectionNotExists for an unknown connection, in the documented body', async () => {
          const error = await sdkError(() => update(client, 987654321, { Content: '{}' }));
          assertSdkError(error, 400, 'Invalid.Tenant.ConnectionNotExists');
          assert.equal(error.data.HttpStatusCode, 400);
          assert.equal(error.data.Success, false);
          assert.match(String(error.data.Message), /^The connection does not exist/);
          assert.ok(error.message.includes(String(error.data.RequestId)), 'the message quotes the request id');
          const outOfRange = await sdkError(() =>
            update(client, '99999999999999999999'.slice(0, 19), { Content: '{}' }),
          );
          assertSdkError(outOfRange, 400, 'Invalid.Tenant.ConnectionNotExists');
        });

        it('answers 400 Invalid.Tenant.UserNotInProject for a connection or project of a workspace the principal is not in', async () => {
          assertSdkError(
            await sdkError(() => update(client, foreignId, { Content: '{}' })),
            400,
            'Invalid.Tenant.UserNotInProject',
          );
          assertSdkError(
            await sdkError(() => call(client, 'ListConnections', { ProjectId: elsewhereProjectId })),
            400,
            'Invalid.Tenant.UserNotInProject',
          );
          assertSdkError(
            await sdkError(() => call(client, 'DeleteConnection', { ConnectionId: foreignId })),
            400,
            'Invalid.Tenant.UserNotInProject',
          );
          assert.equal((await app.call('GET', `/api/v1/workspaces/elsewhere/connections/${foreignId}`)).status, 200);
        });

        it('answers 400 Invalid.Tenant.ProjectNotExists for a ProjectId no workspace has', async () => {
          assertSdkError(
            await sdkError(() => call(client, 'ListConnections', { ProjectId: 987654 })),
            400,
            'Invalid.Tenant.ProjectNotExists',
          );
          const create = () =>
            call(client, 'CreateConnection', {
              ProjectId: 987654,
              Name: 'x',
              ConnectionType: 'mysql',
              Content: '{}',
              EnvType: 0,
            });
          assertSdkError(await sdkError(create), 400, 'Invalid.Tenant.ProjectNotExists');
          assertSdkError(
            await sdkError(() => update(client, connectionId, { Content: '{}', ProjectId: 987654 })),
            400,
            'Invalid.Tenant.ProjectNotExists',
          );
        });

        it('answers 403 Invalid.Tenant.UserIsNotProjectOwnerOrAdmin to a viewer writing, and lets the viewer read', async () => {
          const viewer = clientFor(endpoint, await createAlibabaKey(app, 'viewer'), mode);
          const before = await nativeConnection(connectionId);
          const error = await sdkError(() => update(viewer, connectionId, { Content: '{}', Description: 'viewer' }));
          assertSdkError(error, 403, 'Invalid.Tenant.UserIsNotProjectOwnerOrAdmin');
          assert.equal(error.data.HttpStatusCode, 403);
          const create = () =>
            call(viewer, 'CreateConnection', {
              ProjectId: projectId,
              Name: 'v',
              ConnectionType: 'mysql',
              Content: '{}',
              EnvType: 0,
            });
          assertSdkError(await sdkError(create), 403, 'Invalid.Tenant.UserIsNotProjectOwnerOrAdmin');
          assert.deepEqual(await nativeConnection(connectionId), before);
          const listed = await call(viewer, 'ListConnections', { ProjectId: projectId, Name: 'warehouse' });
          assert.equal(listed.body.Data.TotalCount, 1);
        });

        it('answers 403 Invalid.Tenant.UserNotInTenant to the key of a disabled principal', async () => {
          const pair = await createAlibabaKey(app, 'editor');
          await app.db.kysely
            .updateTable('principals')
            .set({ status: 'disabled' })
            .where('id', '=', pair.principalId)
            .execute();
          const error = await sdkError(() => update(clientFor(endpoint, pair, mode), connectionId, { Content: '{}' }));
          assertSdkError(error, 403, 'Invalid.Tenant.UserNotInTenant');
        });

        it('refuses malformed parameters with 400, a clear code and a message naming the parameter, changing nothing', async () => {
          const before = await nativeConnection(connectionId);
          const cases: [Record<string, string | number>, string, RegExp][] = [
            [{ ConnectionId: 'abc', Content: '{}' }, 'InvalidParameter', /ConnectionId/],
            [{ Content: '{"host":' }, 'InvalidParameter', /Content .*JSON/],
            [{ Content: '[1,2]' }, 'InvalidParameter', /Content/],
            [{ Content: '{}', EnvType: 2 }, 'InvalidParameter', /EnvType/],
            [{ Content: '{}', Status: 'PAUSED' }, 'InvalidParameter', /Status/],
            [{ Content: '{}', RegionId: '' }, 'MissingRegionId', /RegionId/],
            [{ Content: '' }, 'MissingContent', /Content/],
            [{ Content: '{}', EnvType: '' }, 'MissingEnvType', /EnvType/],
            [{ ConnectionId: '', Content: '{}' }, 'MissingConnectionId', /ConnectionId/],
          ];
          for (const [fields, code, message] of cases) {
            const error = await sdkError(() => update(client, connectionId, fields));
            assertSdkError(error, 400, code);
            assert.match(String(error.data.Message), message);
          }
          assert.deepEqual(await nativeConnection(connectionId), before);
        });

        it('reaches the caller with the field named when the core refuses a value', async () => {
          const masked = await sdkError(() =>
            update(client, connectionId, { Content: JSON.stringify({ host: 'h', token: MASK }) }),
          );
          assertSdkError(masked, 400, 'InvalidParameter');
          assert.match(String(masked.data.Message), /Content\.token/);
          const badType = () =>
            call(client, 'CreateConnection', {
              ProjectId: projectId,
              Name: 'x',
              ConnectionType: 'no such type!',
              Content: '{}',
              EnvType: 0,
            });
          const error = await sdkError(badType);
          assertSdkError(error, 400, 'InvalidParameter');
          assert.match(String(error.data.Message), /ConnectionType/);
        });

        it('refuses an unknown action and another API version', async () => {
          assertSdkError(
            await sdkError(() => call(client, 'UpdateDataSource', { Id: 1 })),
            400,
            'InvalidAction.NotFound',
          );
          const params = dataworksParams('ListConnections', { version: '2024-05-18' });
          const error = await sdkError(() =>
            client.callApi(
              params,
              new OpenApi.OpenApiRequest({ query: { ProjectId: String(projectId) } }),
              new TeaUtil.RuntimeOptions({}),
            ),
          );
          assertSdkError(error, 400, 'InvalidVersion');
        });

        it('refuses a wrong secret with SignatureDoesNotMatch and an unknown AccessKey', async () => {
          const wrong = clientFor(endpoint, { id: editor.id, secret: wrongSecretOf(editor.secret) }, mode);
          const error = await sdkError(() => update(wrong, connectionId, { Content: '{}' }));
          assertSdkError(error, 400, 'SignatureDoesNotMatch');
          assert.ok(!error.message.includes(editor.secret));
          const stranger = clientFor(endpoint, { id: 'LTAI00000000000000000000', secret: 'x'.repeat(30) }, mode);
          assertSdkError(
            await sdkError(() => update(stranger, connectionId, { Content: '{}' })),
            404,
            'InvalidAccessKeyId.NotFound',
          );
        });

        it('refuses a replayed nonce', async () => {
          const nonce = randomBytes(16).toString('hex');
          const replay =
            mode === 'acs3' ? { headers: { 'x-acs-signature-nonce': nonce } } : { query: { SignatureNonce: nonce } };
          const content = JSON.stringify({ ...mariadb, password: MASK });
          await update(client, connectionId, { Content: content, Description: 'once' }, replay);
          const error = await sdkError(() =>
            update(client, connectionId, { Content: content, Description: 'twice' }, replay),
          );
          assertSdkError(error, 400, 'SignatureNonceUsed');
          assert.equal((await nativeConnection(connectionId)).description, 'once');
        });

        it('refuses a timestamp more than 15 minutes off, either way', async () => {
          const dated = (date: string) =>
            mode === 'acs3' ? { headers: { 'x-acs-date': date } } : { query: { Timestamp: date } };
          for (const offset of [-16 * 60 * 1000, 16 * 60 * 1000]) {
            assertSdkError(
              await sdkError(() => update(client, connectionId, { Content: '{}' }, dated(timestamp(offset)))),
              400,
              'InvalidTimeStamp.Expired',
            );
          }
          const content = JSON.stringify({ ...mariadb, password: MASK });
          const late = await update(
            client,
            connectionId,
            { Content: content, Description: 'ten minutes late' },
            dated(timestamp(-10 * 60 * 1000)),
          );
          assert.equal(late.body.Data, true);
        });

        it('runs the real connection test with TestNetworkConnection and records the outcome', async () => {
          await update(client, connectionId, { Content: JSON.stringify(mariadb), EnvType: 0 });
          const test = (name: string, envType = 0) =>
            call(client, 'TestNetworkConnection', {
              ProjectId: projectId,
              DatasourceName: name,
              EnvType: envType,
              ResourceGroup: 'S_res_group_1',
            });
          const ok = await test('warehouse');
          assert.equal(ok.body.Success, true);
          assert.equal(ok.body.TaskList.ConnectStatus, true, ok.body.TaskList.ConnectMessage);
          assert.equal((await nativeConnection(connectionId)).health.state, 'ok');
          const tests = (await auditOf(app, 'connection', String(connectionId))).filter(
            (e) => e.action === 'connection:test',
          );
          assert.ok(tests.length >= 1);
          assert.equal(tests[0].principalId, editor.principalId);

          await update(client, connectionId, { Content: JSON.stringify({ ...mariadb, port: 1 }) });
          const failing = await test('warehouse');
          assert.equal(failing.body.TaskList.ConnectStatus, false);
          assert.match(failing.body.TaskList.ConnectMessage, /.+/);
          assert.equal((await nativeConnection(connectionId)).health.state, 'failing');
          const listed = await call(client, 'ListConnections', { ProjectId: projectId, Name: 'warehouse' });
          assert.equal(listed.body.Data.Connections[0].ConnectStatus, 2);

          assertSdkError(await sdkError(() => test('warehouse', 1)), 400, 'Invalid.Tenant.ConnectionNotExists');
          assertSdkError(
            await sdkError(() =>
              call(client, 'TestNetworkConnection', { ProjectId: projectId, DatasourceName: 'warehouse', EnvType: 0 }),
            ),
            400,
            'MissingResourceGroup',
          );
          await update(client, connectionId, { Content: JSON.stringify(mariadb) });
        });
      });
    }
  });

  describe(`DataWorks throttling [${engine}]`, () => {
    let app: TestApp;
    let endpoint: string;
    let connectionId: number;

    before(async () => {
      app = await startTestApp(engine, { env: { RATE_LIMIT_WRITE_PER_SECOND: '2', RATE_LIMIT_WRITE_BURST: '2' } });
      endpoint = await listenForSdk(app);
      const created = await app.call('POST', `${WS}/connections`, {
        body: { name: 'busy', type: 'mysql', content: mariadb },
      });
      assert.equal(created.status, 201, created.text);
      connectionId = created.body.id;
    });
    after(async () => {
      await app?.stop();
    });

    it("throttles a principal past the native API's write budget with 429 Throttling.User", async () => {
      const client = clientFor(endpoint, await createAlibabaKey(app, 'editor'), 'acs3');
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          update(client, connectionId, { Content: JSON.stringify({ ...mariadb, database: `d${i}` }) }),
        ),
      );
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
      assert.ok(
        results.some((r) => r.status === 'fulfilled'),
        'the first calls pass',
      );
      assert.ok(refused.length >= 1, 'the rest are throttled');
      for (const error of refused) {
        assertSdkError(error, 429, 'Throttling.User');
        assert.equal(error.data.HttpStatusCode, 429);
      }
      const metrics = await app.server.inject({ method: 'GET', url: '/metrics' });
      assert.match(
        metrics.body,
        new RegExp(`plugboard_rate_limit_rejections_total\\{class="write"\\} ${refused.length}$`, 'm'),
        'every refusal counted',
      );
    });
  });
}
