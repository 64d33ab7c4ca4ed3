// DevS toolsets through the official @alicloud/devs20230714 SDK, pointed at a listening plugboard over HTTP, on
// both stores: the toolsets of the AccessKey's default workspace, with partial updates and Alibaba's errors.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import DevsModule, * as devs from '@alicloud/devs20230714';
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
const Devs = DevsModule.default;
type DevsClient = InstanceType<typeof Devs>;
const WS = '/api/v1/workspaces/default';
const petstore = readFileSync(new URL('../src/openapi/fixtures/petstore-3.0.yaml', import.meta.url), 'utf8');
const MASK = '******';

const clientFor = (endpoint: string, pair: { id: string; secret: string }): DevsClient =>
  new Devs(sdkConfig(endpoint, pair));
const toolset = (fields: Record<string, unknown>) => new devs.Toolset(fields);
const apiKeySpec = (value: string) =>
  new devs.ToolsetSpec({
    schema: new devs.ToolsetSchema({ type: 'OpenAPI', detail: petstore }),
    authConfig: new devs.Authorization({
      type: 'APIKey',
      parameters: new devs.AuthorizationParameters({
        apiKeyParameter: new devs.APIKeyAuthParameter({ in: 'header', key: 'X-Api-Key', value, encrypted: true }),
      }),
    }),
  });

for (const engine of ENGINES) {
  describe(`DevS toolsets through the DevS SDK [${engine}]`, () => {
    let app: TestApp;
    let endpoint: string;
    let editor: AccessKeyPair;
    let client: DevsClient;
    const update = (name: string, fields: Record<string, unknown>, headers: Record<string, string> = {}) =>
      client.updateToolsetWithOptions(
        name,
        new devs.UpdateToolsetRequest({ body: toolset(fields) }),
        headers,
        {} as never,
      );

    before(async () => {
      app = await startTestApp(engine);
      endpoint = await listenForSdk(app);
      editor = await createAlibabaKey(app, 'editor');
      client = clientFor(endpoint, editor);
    });
    after(async () => {
      await app?.stop();
    });

    it('creates a toolset with CreateToolset and returns the bare Toolset with its key masked', async () => {
      const response = await client.createToolsetWithOptions(
        new devs.CreateToolsetRequest({
          body: toolset({
            name: 'pets',
            description: 'Pet shop',
            labels: { team: 'a' },
            spec: apiKeySpec('sk-live-1'),
          }),
        }),
        {},
        {} as never,
      );
      assert.equal(response.statusCode, 200);
      const body = response.body!;
      assert.equal(body.name, 'pets');
      assert.equal(body.kind, 'Toolset');
      assert.equal(body.generation, 1);
      assert.match(body.uid ?? '', /^\d+$/);
      assert.equal(body.spec?.authConfig?.parameters?.apiKeyParameter?.value, MASK);
      assert.ok(body.status?.phase);
      const native = await app.call('GET', `${WS}/toolsets/pets`);
      assert.equal(native.status, 200);
      assert.equal(native.body.description, 'Pet shop');
    });

    it('updates only the fields the caller set, without bumping generation for a non-spec change', async () => {
      const before = (await auditOf(app, 'toolset', 'pets')).length;
      const response = await update('pets', { description: 'new', labels: { a: 'b' } });
      const body = response.body!;
      assert.equal(body.description, 'new');
      assert.deepEqual(body.labels, { a: 'b' });
      assert.equal(body.generation, 1);
      assert.equal(body.spec?.schema?.type, 'OpenAPI', 'the spec is untouched');
      assert.equal(body.spec?.authConfig?.parameters?.apiKeyParameter?.value, MASK);
      assert.ok(body.status, 'the current status comes back');
      const events = await auditOf(app, 'toolset', 'pets');
      assert.equal(events.length, before + 1, 'exactly one audit event');
      assert.equal(events[0].principalId, editor.principalId);
      assert.deepEqual(events[0].changedFields, ['description', 'labels']);
    });

    it('bumps generation on a spec change and keeps the stored API key when the mask is written back', async () => {
      const got = await client.getToolsetWithOptions('pets', {}, {} as never);
      const spec = got.body!.spec!;
      spec.schema!.detail = `${petstore}\n# changed`;
      const response = await update('pets', { spec });
      assert.equal(response.body?.generation, 2);
      assert.equal(response.body?.spec?.authConfig?.parameters?.apiKeyParameter?.value, MASK);
      const row = await app.db.kysely
        .selectFrom('toolsets')
        .select('spec')
        .where('name', '=', 'pets')
        .executeTakeFirstOrThrow();
      assert.ok(!row.spec.includes('sk-live-1'), 'the key is stored sealed');
      assert.ok(row.spec.includes('pbenc:'), 'and still there');
    });

    it('refuses to point a toolset at another server while keeping its API key by the mask, and a sealed value', async () => {
      const got = await client.getToolsetWithOptions('pets', {}, {} as never);
      const spec = got.body!.spec!;
      assert.equal(spec.authConfig?.parameters?.apiKeyParameter?.value, MASK);
      spec.schema!.detail = petstore.replace('https://{region}.pets.example.com/v1', 'http://127.0.0.1:9/elsewhere');
      const moved = await sdkError(() => update('pets', { spec }));
      assertSdkError(moved, 400, 'InvalidParameter');
      assert.match(moved.message, /enter the secret again when you change where it is sent/);
      assert.match(moved.message, /spec\.schema\.detail/);
      const row = await app.db.kysely
        .selectFrom('toolsets')
        .select('spec')
        .where('name', '=', 'pets')
        .executeTakeFirstOrThrow();
      const sealed = JSON.parse(row.spec).authConfig.parameters.apiKeyParameter.value as string;
      spec.schema!.detail = petstore;
      spec.authConfig.parameters.apiKeyParameter.value = sealed;
      const copied = await sdkError(() => update('pets', { spec }));
      assertSdkError(copied, 400, 'InvalidParameter');
      assert.ok(!copied.message.includes(sealed), 'the sealed value is not echoed');
      assert.equal(
        (await app.db.kysely.selectFrom('toolsets').select('spec').where('name', '=', 'pets').executeTakeFirstOrThrow())
          .spec,
        row.spec,
      );
    });

    it('shows a change made through the native API to GetToolset, and the reverse', async () => {
      const patched = await app.call('PATCH', `${WS}/toolsets/pets`, { body: { description: 'from native' } });
      assert.equal(patched.status, 200, patched.text);
      assert.equal((await client.getToolsetWithOptions('pets', {}, {} as never)).body?.description, 'from native');
      await update('pets', { description: 'from devs' });
      assert.equal((await app.call('GET', `${WS}/toolsets/pets`)).body.description, 'from devs');
    });

    it('gives the MCP URL on the address the SDK called, not a URL a converting process stored', async () => {
      const where = app.db.kysely
        .updateTable('toolsets')
        .where('workspace_id', '=', 'default')
        .where('name', '=', 'pets');
      const row = await app.db.kysely
        .selectFrom('toolsets')
        .select('status')
        .where('workspace_id', '=', 'default')
        .where('name', '=', 'pets')
        .executeTakeFirstOrThrow();
      const stale = 'http://127.0.0.1:8080/mcp/default/pets';
      const status = JSON.parse(row.status);
      status.outputs = {
        ...status.outputs,
        urls: { internetUrl: stale, intranetUrl: stale },
        mcpServerConfig: { url: stale, transportType: 'streamable-http', headers: {} },
      };
      await where.set({ status: JSON.stringify(status) }).execute();
      const expected = `http://${endpoint}/mcp/default/pets`;
      const got = (await client.getToolsetWithOptions('pets', {}, {} as never)).body?.status?.outputs;
      assert.deepEqual(
        [got?.mcpServerConfig?.url, got?.urls?.internetUrl, got?.urls?.intranetUrl],
        [expected, expected, expected],
      );
      const listed = (
        await client.listToolsetsWithOptions(new devs.ListToolsetsRequest({}), {}, {} as never)
      ).body?.data?.find((t) => t.name === 'pets');
      assert.equal(listed?.status?.outputs?.mcpServerConfig?.url, expected);
    });

    it('lists toolsets with keyword, labelSelector and page numbers', async () => {
      for (const [name, labels] of [
        ['alpha', { env: 'prod', team: 'x' }],
        ['beta', { env: 'dev' }],
        ['gamma', { env: 'prod' }],
      ] as const) {
        await client.createToolsetWithOptions(
          new devs.CreateToolsetRequest({ body: toolset({ name, labels, spec: apiKeySpec('k') }) }),
          {},
          {} as never,
        );
      }
      const list = (request: Record<string, unknown>) =>
        client.listToolsetsWithOptions(new devs.ListToolsetsRequest(request), {}, {} as never);
      const prod = await list({ labelSelector: ['env=prod'] });
      assert.deepEqual(
        prod.body?.data?.map((t) => t.name),
        ['alpha', 'gamma'],
      );
      const both = await list({ labelSelector: ['env=prod', 'team=x'] });
      assert.deepEqual(
        both.body?.data?.map((t) => t.name),
        ['alpha'],
      );
      const keyword = await list({ keyword: 'amm' });
      assert.deepEqual(
        keyword.body?.data?.map((t) => t.name),
        ['gamma'],
      );
      const page2 = await list({ pageNumber: 2, pageSize: 2 });
      assert.equal(page2.body?.pageNumber, 2);
      assert.equal(page2.body?.pageSize, 2);
      assert.deepEqual(
        page2.body?.data?.map((t) => t.name),
        ['gamma', 'pets'],
      );
      assert.equal(page2.body?.data?.[1]?.spec?.authConfig?.parameters?.apiKeyParameter?.value, MASK);
    });

    it('deletes a toolset with DeleteToolset', async () => {
      await client.deleteToolsetWithOptions('beta', {}, {} as never);
      assert.equal((await app.call('GET', `${WS}/toolsets/beta`)).status, 404);
      assert.equal((await auditOf(app, 'toolset', 'beta')).filter((e) => e.action === 'toolset:delete').length, 1);
    });

    it('answers 404 for an unknown toolset and 409 for a duplicate name', async () => {
      assertSdkError(
        await sdkError(() => client.getToolsetWithOptions('nope', {}, {} as never)),
        404,
        'NotFound',
        'ClientError',
      );
      assertSdkError(await sdkError(() => update('nope', { description: 'x' })), 404, 'NotFound');
      assertSdkError(await sdkError(() => client.deleteToolsetWithOptions('nope', {}, {} as never)), 404, 'NotFound');
      const duplicate = () =>
        client.createToolsetWithOptions(
          new devs.CreateToolsetRequest({ body: toolset({ name: 'alpha', spec: apiKeySpec('k') }) }),
          {},
          {} as never,
        );
      assertSdkError(await sdkError(duplicate), 409, 'Conflict');
    });

    it('names the field of a value the core refuses', async () => {
      const error = await sdkError(() =>
        update('pets', {
          spec: new devs.ToolsetSpec({ schema: new devs.ToolsetSchema({ type: 'GraphQL', detail: 'x' }) }),
        }),
      );
      assertSdkError(error, 400, 'InvalidParameter', 'ClientError');
      assert.match(error.message, /spec\.schema\.type/);
      const badName = await sdkError(() =>
        client.createToolsetWithOptions(
          new devs.CreateToolsetRequest({ body: toolset({ name: 'Bad Name', spec: apiKeySpec('k') }) }),
          {},
          {} as never,
        ),
      );
      assertSdkError(badName, 400, 'InvalidParameter');
      assert.match(badName.message, /name/);
    });

    it('refuses a viewer write with NoPermission', async () => {
      const viewer = clientFor(endpoint, await createAlibabaKey(app, 'viewer'));
      assert.equal((await viewer.getToolsetWithOptions('pets', {}, {} as never)).body?.name, 'pets');
      assertSdkError(
        await sdkError(() =>
          viewer.updateToolsetWithOptions(
            'pets',
            new devs.UpdateToolsetRequest({ body: toolset({ description: 'x' }) }),
            {},
            {} as never,
          ),
        ),
        403,
        'NoPermission',
      );
    });

    it('refuses a wrong secret, a replayed nonce and an expired timestamp', async () => {
      const wrong = clientFor(endpoint, { id: editor.id, secret: 'x'.repeat(30) });
      assertSdkError(
        await sdkError(() => wrong.getToolsetWithOptions('pets', {}, {} as never)),
        400,
        'SignatureDoesNotMatch',
        'ClientError',
      );
      const nonce = randomBytes(32).toString('hex');
      await client.getToolsetWithOptions('pets', { 'x-acs-signature-nonce': nonce }, {} as never);
      assertSdkError(
        await sdkError(() => client.getToolsetWithOptions('pets', { 'x-acs-signature-nonce': nonce }, {} as never)),
        400,
        'SignatureNonceUsed',
      );
      const old = new Date(Date.now() - 20 * 60 * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      assertSdkError(
        await sdkError(() => update('pets', { description: 'late' }, { 'x-acs-date': old })),
        400,
        'InvalidTimeStamp.Expired',
      );
      assert.equal((await app.call('GET', `${WS}/toolsets/pets`)).body.description, 'from devs');
    });

    it('answers an unsigned request, to any DevS path, with a JSON error', async () => {
      for (const path of ['/2023-07-14/toolsets', '/2023-07-14/nothing-here']) {
        const response = await fetch(`http://${endpoint}${path}`);
        assert.equal(response.status, 400);
        const body = (await response.json()) as Record<string, unknown>;
        assert.equal(body.Code, 'MissingAccessKeyId');
        assert.equal(typeof body.RequestId, 'string');
      }
    });
  });

  describe(`DevS throttling [${engine}]`, () => {
    let app: TestApp;
    let endpoint: string;

    before(async () => {
      app = await startTestApp(engine, { env: { RATE_LIMIT_READ_PER_SECOND: '2', RATE_LIMIT_READ_BURST: '1' } });
      endpoint = await listenForSdk(app);
    });
    after(async () => {
      await app?.stop();
    });

    it("spends the principal's native read budget and throttles with a ThrottlingError", async () => {
      const client = clientFor(endpoint, await createAlibabaKey(app, 'viewer'));
      const list = () => client.listToolsetsWithOptions(new devs.ListToolsetsRequest({}), {}, {} as never);
      const results = await Promise.allSettled([list(), list(), list(), list()]);
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.ok(refused.length >= 1);
      for (const r of refused) assertSdkError(r.reason, 429, 'Throttling.User', 'ThrottlingError');
    });
  });
}
