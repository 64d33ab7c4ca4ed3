// Huawei DataArts Fabric access clients over HTTP, driven by the official @huaweicloud/huaweicloud-sdk-core client
// (AK/SK signatures and X-Auth-Token), on both stores, cross-checked against the native API and the audit log.
import { wrongSecretOf } from './support/stores.js';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { canonicalRequest, signatureOf, stringToSign } from '../src/dialects/huawei-fabric/auth.js';
import { ENGINES, OWNER_KEY, startTestApp, type TestApp } from './support/stores.js';

// The core SDK requires `uuid` without declaring it (wire/huawei-sdk-hmac.md): it is a devDependency of ours.
const require = createRequire(import.meta.url);
const { ClientBuilder } = require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder');
const { HcClient } = require('@huaweicloud/huaweicloud-sdk-core/HcClient');
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials');
const { DefaultHttpClient } = require('@huaweicloud/huaweicloud-sdk-core/http/DefaultHttpClient');
// The SDK logs every failed call, headers and all, to stdout at debug level; the failures here are on purpose.
require('log4js').getLogger().level = 'off';

const API = '/api/v1';
const WS = `${API}/workspaces/default`;
const ID_PATTERN = /^[A-Za-z0-9-]{1,64}$/;

interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  pathParams?: Record<string, string>;
  queryParams?: Record<string, unknown>;
  data?: Record<string, unknown>;
  headers?: Record<string, string>;
}

interface SdkClient {
  sendRequest(options: Record<string, unknown>): Promise<any>;
}

/** A generic core-SDK client signing with an AK/SK, as a Huawei script builds one. */
function akskClient(endpoint: string, ak: string, sk: string, projectId?: string): SdkClient {
  const credentials = new BasicCredentials().withAk(ak).withSk(sk);
  if (projectId !== undefined) credentials.withProjectId(projectId);
  return new ClientBuilder((hcClient: SdkClient) => hcClient)
    .withCredential(credentials)
    .withEndpoint(endpoint)
    .build();
}

/** The core SDK's HcClient without a credential: the token goes in X-Auth-Token. */
function tokenClient(endpoint: string, token: string): SdkClient & { token: string } {
  const client = new HcClient(new DefaultHttpClient({ headers: {} }, [endpoint])).withEndpoints([endpoint]);
  return Object.assign(client, { token });
}

function send(client: SdkClient & { token?: string }, call: Call): Promise<any> {
  return client.sendRequest({
    method: call.method,
    url: call.url,
    pathParams: call.pathParams ?? {},
    queryParams: call.queryParams ?? {},
    headers: { ...(client.token ? { 'X-Auth-Token': client.token } : {}), ...call.headers },
    contentType: 'application/json',
    data: call.data,
  });
}

/** The exception the SDK throws for a call, with the fields it surfaces. */
async function failure(
  promise: Promise<unknown>,
): Promise<{ httpStatusCode: number; errorCode: string; errorMsg: string; requestId: string; name: string }> {
  try {
    await promise;
  } catch (error) {
    return error as any;
  }
  assert.fail('the call succeeded');
}

function assertFailure(
  error: Awaited<ReturnType<typeof failure>>,
  status: number,
  code: string,
  kind = status >= 500 ? 'ServerResponseException' : 'ClientRequestException',
) {
  assert.equal(error.httpStatusCode, status, `${error.httpStatusCode} ${error.errorCode} ${error.errorMsg}`);
  assert.equal(String(error.errorCode), code, error.errorMsg);
  assert.equal(error.constructor.name, kind);
  assert.equal(typeof error.errorMsg, 'string');
  assert.ok(error.errorMsg.length >= 2 && error.errorMsg.length <= 512, error.errorMsg);
  assert.match(String(error.requestId), /^[A-Za-z0-9._:-]{1,128}$/, 'the SDK found no X-Request-Id');
}

const show = (id: string): Call => ({
  method: 'GET',
  url: '/v1/access-clients/{client_id}',
  pathParams: { client_id: id },
});
const rename = (id: string, name: unknown): Call => ({
  method: 'PUT',
  url: '/v1/access-clients/{client_id}',
  pathParams: { client_id: id },
  data: { name },
});
const remove = (id: string): Call => ({
  method: 'DELETE',
  url: '/v1/access-clients/{client_id}',
  pathParams: { client_id: id },
});
const create = (data: Record<string, unknown>): Call => ({ method: 'POST', url: '/v1/access-clients', data });
const list = (queryParams: Record<string, unknown> = {}): Call => ({
  method: 'GET',
  url: '/v1/access-clients',
  queryParams,
});

/**
 * What a Huawei user's script looks like: everything vendor-specific is the endpoint and the AK/SK, so pointing
 * it at plugboard means changing only those.
 */
async function renameAccessClient(endpoint: string, ak: string, sk: string, clientId: string, name: string) {
  const client = new ClientBuilder((hcClient: SdkClient) => hcClient)
    .withCredential(new BasicCredentials().withAk(ak).withSk(sk).withProjectId('0123456789abcdef0123456789abcdef'))
    .withEndpoint(endpoint)
    .build();
  return client.sendRequest({
    method: 'PUT',
    url: '/v1/access-clients/{client_id}',
    contentType: 'application/json',
    pathParams: { client_id: clientId },
    queryParams: {},
    headers: {},
    data: { name },
  });
}

const sha256 = (body: string) => createHash('sha256').update(body).digest('hex');

/** X-Sdk-Date `offsetMs` from now, in the signer's basic format (20261123T082425Z). */
const sdkDate = (offsetMs: number) =>
  new Date(Date.now() + offsetMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

interface Fixture {
  readonly name: string;
  readonly setup?: { readonly exists?: boolean; readonly credential?: 'token' | 'none' };
  readonly request: { readonly method: string; readonly path: string; readonly body?: unknown };
  readonly response: { readonly status: number; readonly body: Record<string, unknown> };
}

/** The golden corpus of Fabric requests and answers, fixtures/<operation>/<case>.json. */
function loadFixtures(): Fixture[] {
  const root = new URL('../src/dialects/huawei-fabric/fixtures/', import.meta.url);
  return readdirSync(root).flatMap((operation) =>
    readdirSync(new URL(`${operation}/`, root))
      .filter((file) => file.endsWith('.json'))
      .map((file) => ({
        name: `${operation}/${file.slice(0, -5)}`,
        ...JSON.parse(readFileSync(new URL(`${operation}/${file}`, root), 'utf8')),
      })),
  );
}

async function listen(app: TestApp): Promise<string> {
  await app.server.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.server.address() as AddressInfo).port}`;
}

for (const engine of ENGINES) {
  describe(`Huawei DataArts Fabric access clients [${engine}]`, () => {
    let app: TestApp;
    let endpoint: string;
    let editor: { id: string; secret: string; principalId: string };
    let viewer: { id: string; secret: string };
    let token: string;
    let clockOffsetMs = 0;
    const clock = { now: () => new Date(Date.now() + clockOffsetMs).toISOString() };
    let unique = 0;
    const fresh = () => `fab-${engine}-${++unique}`;

    async function accessKey(role: string) {
      const reply = await app.call('POST', `${WS}/access-keys`, {
        body: { name: `fabric ${role}`, kind: 'huawei', role },
      });
      assert.equal(reply.status, 201, reply.text);
      return reply.body;
    }

    async function nativeCreate(name = 'native', id = fresh()): Promise<string> {
      const reply = await app.call('POST', `${WS}/access-clients`, { body: { id, name } });
      assert.equal(reply.status, 201, reply.text);
      return id;
    }

    async function auditOf(id: string): Promise<any[]> {
      const reply = await app.call('GET', `${WS}/audit?resourceType=access-client&resourceId=${id}&limit=200`);
      assert.equal(reply.status, 200, reply.text);
      return reply.body.items;
    }

    before(async () => {
      app = await startTestApp(engine, { clock });
      endpoint = await listen(app);
      editor = await accessKey('editor');
      viewer = await accessKey('viewer');
      const issued = await app.call('POST', `${API}/tokens`, { body: { defaultWorkspaceId: 'default' } });
      assert.equal(issued.status, 201, issued.text);
      token = issued.body.token;
    });
    after(async () => {
      await app?.stop();
    });

    for (const fixture of loadFixtures()) {
      it(`replays the fixture ${fixture.name} through the routes`, async () => {
        const id = fresh();
        if (fixture.setup?.exists !== false) await nativeCreate('fixture', id);
        const fill = (text: string) => text.replaceAll('{client_id}', id);
        const reply = await app.call(fixture.request.method, fill(fixture.request.path), {
          key: null,
          headers: fixture.setup?.credential === 'none' ? {} : { 'x-auth-token': token },
          body: fixture.request.body,
        });
        assert.equal(reply.status, fixture.response.status, reply.text);
        assert.match(String(reply.headers['content-type']), /^application\/json/);
        assert.ok(reply.headers['x-request-id']);
        const expected = JSON.parse(fill(JSON.stringify(fixture.response.body))) as Record<string, unknown>;
        if (Object.keys(expected).length === 0) assert.deepEqual(reply.body, {});
        for (const [key, value] of Object.entries(expected))
          assert.deepEqual(reply.body[key], value, `${key} in ${reply.text}`);
      });
    }

    it('creates, shows, lists, renames and deletes an access client with an AK/SK signature', async () => {
      const sdk = akskClient(endpoint, editor.id, editor.secret, 'proj-1');
      const created = await send(sdk, create({ name: 'vpc client', vpc_id: 'vpc-1', subnet_ids: ['subnet-1'] }));
      assert.equal(created.httpStatusCode, 200);
      assert.match(created.id, ID_PATTERN);
      assert.equal(created.name, 'vpc client');
      assert.equal(created.status, 'RUNNING');
      assert.equal(created.vpc_id, 'vpc-1');
      assert.deepEqual(created.subnet_ids, ['subnet-1']);
      assert.match(created.secret, /^pbac_/);
      assert.ok(!Number.isNaN(Date.parse(created.create_time)));

      const shown = await send(sdk, show(created.id));
      assert.deepEqual(
        { ...shown, httpStatusCode: undefined },
        {
          id: created.id,
          name: 'vpc client',
          description: null,
          status: 'RUNNING',
          create_time: created.create_time,
          update_time: created.update_time,
          httpStatusCode: undefined,
        },
      );
      assert.ok(!JSON.stringify(shown).includes(created.secret));

      const listed = await send(sdk, list({ id: created.id }));
      assert.equal(listed.total, 1);
      assert.deepEqual(
        listed.access_client_infos,
        [{ ...shown, httpStatusCode: undefined }].map(({ httpStatusCode: _, ...rest }) => rest),
      );

      const renamed = await send(sdk, rename(created.id, 'zzh_test1122'));
      assert.equal(renamed.httpStatusCode, 200);
      assert.equal(renamed.name, 'zzh_test1122');
      const native = await app.call('GET', `${WS}/access-clients/${created.id}`);
      assert.equal(native.body.name, 'zzh_test1122');

      const deleted = await send(sdk, remove(created.id));
      assert.equal(deleted.httpStatusCode, 200);
      assert.equal((await app.call('GET', `${WS}/access-clients/${created.id}`)).status, 404);
      assertFailure(await failure(send(sdk, show(created.id))), 404, 'common.01000001');
    });

    it('renames through Fabric with exactly one audit event that the native API shows', async () => {
      const id = await nativeCreate('before');
      const requestId = `fabric-${randomUUID()}`;
      const sdk = akskClient(endpoint, editor.id, editor.secret);
      const renamed = await send(sdk, { ...rename(id, 'after'), headers: { 'X-Request-Id': requestId } });
      assert.equal(renamed.name, 'after');
      const native = await app.call('GET', `${WS}/access-clients/${id}`);
      assert.equal(native.status, 200);
      assert.equal(native.body.name, 'after');
      assert.equal(native.body.revision, 2);
      const events = (await auditOf(id)).filter((e) => e.action === 'access-client:update');
      assert.equal(events.length, 1, JSON.stringify(events));
      assert.equal(events[0].principalId, editor.principalId);
      assert.equal(events[0].requestId, requestId);
      assert.deepEqual(events[0].changedFields, ['name']);

      // The same name again changes nothing and records nothing.
      await send(sdk, rename(id, 'after'));
      await send(sdk, { ...rename(id, 'after'), data: {} });
      assert.equal((await auditOf(id)).filter((e) => e.action === 'access-client:update').length, 1);
      assert.equal((await app.call('GET', `${WS}/access-clients/${id}`)).body.revision, 2);
    });

    it('shows a native rename through Fabric, with exactly one audit event', async () => {
      const id = await nativeCreate('native-before');
      const patched = await app.call('PATCH', `${WS}/access-clients/${id}`, { body: { name: 'native-after' } });
      assert.equal(patched.status, 200, patched.text);
      const shown = await send(tokenClient(endpoint, token), show(id));
      assert.equal(shown.name, 'native-after');
      assert.equal(shown.update_time, patched.body.updatedAt);
      assert.equal((await auditOf(id)).filter((e) => e.action === 'access-client:update').length, 1);
    });

    it('renames with a token from POST /api/v1/tokens', async () => {
      const id = await nativeCreate('by token');
      const sdk = tokenClient(endpoint, token);
      const renamed = await send(sdk, rename(id, 'token renamed'));
      assert.equal(renamed.httpStatusCode, 200);
      assert.equal(renamed.name, 'token renamed');
      const events = (await auditOf(id)).filter((e) => e.action === 'access-client:update');
      assert.equal(events.length, 1);
    });

    it('lets a script rename an access client by changing only its endpoint and AK/SK', async () => {
      const id = await nativeCreate('script');
      const result = await renameAccessClient(endpoint, editor.id, editor.secret, id, 'renamed by script');
      assert.equal(result.httpStatusCode, 200);
      assert.equal((await app.call('GET', `${WS}/access-clients/${id}`)).body.name, 'renamed by script');
    });

    it('pages the list by offset and limit, filters by a part of the name and by id, and counts the matches', async () => {
      const tag = `pg${engine}${Date.now()}`;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await nativeCreate(`${tag}-Item_${i}`));
      await nativeCreate('100%_literal');
      const sdk = akskClient(endpoint, editor.id, editor.secret);
      const first = await send(sdk, list({ name: tag.toUpperCase(), limit: 2 }));
      assert.equal(first.total, 5);
      assert.deepEqual(
        first.access_client_infos.map((c: any) => c.id),
        [...ids].sort().slice(0, 2),
      );
      const last = await send(sdk, list({ name: tag, offset: 4, limit: 2 }));
      assert.deepEqual(
        last.access_client_infos.map((c: any) => c.id),
        [...ids].sort().slice(4),
      );
      assert.equal(last.total, 5);
      const wildcard = await send(sdk, list({ name: '%_' }));
      assert.deepEqual(
        wildcard.access_client_infos.map((c: any) => c.name),
        ['100%_literal'],
      );
      await nativeCreate(`café au lait ${tag}`);
      const spaced = await send(sdk, list({ name: `é au lait ${tag}` }));
      assert.deepEqual(
        spaced.access_client_infos.map((c: any) => c.name),
        [`café au lait ${tag}`],
      );
      const byId = await send(sdk, list({ id: ids[2] }));
      assert.equal(byId.total, 1);
      const slash = await fetch(`${endpoint}/v1/access-clients/?id=${ids[2]}`, { headers: { 'x-auth-token': token } });
      assert.equal(slash.status, 200);
      assert.equal(((await slash.json()) as any).total, 1);
      const defaults = await send(sdk, list());
      assert.ok(defaults.access_client_infos.length <= 10);
      assert.ok(defaults.total >= 6);
    });

    it('answers bad ids, type mismatches, unknown fields and out-of-range values with 400 common.01000001', async () => {
      const id = await nativeCreate('valid');
      const sdk = akskClient(endpoint, editor.id, editor.secret);
      const cases: Call[] = [
        rename('bad_id', 'x'),
        rename('x'.repeat(65), 'x'),
        rename(id, 5),
        rename(id, ''),
        rename(id, 'x'.repeat(65)),
        { ...rename(id, 'x'), data: { name: 'x', color: 'red' } },
        create({ name: 'x', unknown: true }),
        create({}),
        list({ limit: 0 }),
        list({ limit: 101 }),
        list({ offset: -1 }),
        list({ limit: 'ten' }),
      ];
      for (const call of cases) {
        const error = await failure(send(sdk, call));
        assertFailure(error, 400, 'common.01000001');
      }
      const mismatch = await failure(send(tokenClient(endpoint, token), rename(id, 5)));
      assert.match(mismatch.errorMsg, /name/);
      assert.equal((await app.call('GET', `${WS}/access-clients/${id}`)).body.name, 'valid');
    });

    it('answers a bad signature, an unknown AK, a stale X-Sdk-Date and a bad token with 401 APIG.1002', async () => {
      const id = await nativeCreate('guarded');
      const wrongSecret = akskClient(endpoint, editor.id, wrongSecretOf(editor.secret));
      const unknownAk = akskClient(endpoint, 'AAAAAAAAAAAAAAAAAAAA', editor.secret);
      const stale = { ...rename(id, 'x'), headers: { 'X-Sdk-Date': sdkDate(-16 * 60 * 1000) } };
      const early = { ...rename(id, 'x'), headers: { 'X-Sdk-Date': sdkDate(16 * 60 * 1000) } };
      const isoDate = { ...show(id), headers: { 'X-Sdk-Date': new Date().toISOString() } };
      const calls: [SdkClient, Call][] = [
        [wrongSecret, rename(id, 'x')],
        [unknownAk, show(id)],
        [akskClient(endpoint, editor.id, editor.secret), stale],
        [akskClient(endpoint, editor.id, editor.secret), early],
        // The SDK signs its own reformatting of a date it is given but sends the header as given: not a valid request.
        [akskClient(endpoint, editor.id, editor.secret), isoDate],
        [tokenClient(endpoint, 'pbt_not-a-token'), show(id)],
        [tokenClient(endpoint, OWNER_KEY), show(id)],
        [new HcClient(new DefaultHttpClient({ headers: {} }, [endpoint])).withEndpoints([endpoint]), show(id)],
      ];
      for (const [client, call] of calls) {
        const error = await failure(send(client, call));
        assertFailure(error, 401, 'APIG.1002');
        assert.ok(!error.errorMsg.includes(editor.secret));
      }
      // Within 15 minutes the SDK's own date is fine.
      const recent = { ...show(id), headers: { 'X-Sdk-Date': sdkDate(-10 * 60 * 1000) } };
      assert.equal((await send(akskClient(endpoint, editor.id, editor.secret), recent)).httpStatusCode, 200);
      assert.equal((await app.call('GET', `${WS}/access-clients/${id}`)).body.name, 'guarded');
    });

    it('refuses a signed write that arrives a second time, and lets reads repeat', async () => {
      const id = await nativeCreate('replayed');
      const url = `${endpoint}/v1/access-clients/${id}`;
      // The exact bytes of one signed call, as the SDK would put them on the wire (the signer matches its vectors).
      const signed = (method: 'PUT' | 'GET', body: string): RequestInit => {
        const headers = { 'content-type': 'application/json', host: new URL(endpoint).host, 'x-sdk-date': sdkDate(0) };
        const names = ['content-type', 'host', 'x-sdk-date'];
        const canonical = canonicalRequest(
          { method, url: new URL(url).pathname, headers, body: Buffer.from(body) },
          names,
          sha256(body),
        )!;
        const signature = signatureOf(editor.secret, stringToSign(headers['x-sdk-date'], canonical));
        const authorization = `SDK-HMAC-SHA256 Access=${editor.id}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
        return { method, headers: { ...headers, authorization }, ...(body === '' ? {} : { body }) };
      };
      const write = signed('PUT', JSON.stringify({ name: 'renamed once' }));
      assert.equal((await fetch(url, write)).status, 200);
      const again = await fetch(url, write);
      assert.equal(again.status, 401);
      assert.equal(((await again.json()) as any).error_code, 'APIG.1002');
      const read = signed('GET', '');
      for (let i = 0; i < 3; i++) assert.equal((await fetch(url, read)).status, 200);
      assert.equal((await auditOf(id)).filter((e) => e.action === 'access-client:update').length, 1);
    });

    it('refuses an expired token and the credentials of a disabled principal', async () => {
      const id = await nativeCreate('expiry');
      const short = await app.call('POST', `${API}/tokens`, { body: { ttlSeconds: 60 } });
      const sdk = tokenClient(endpoint, short.body.token);
      assert.equal((await send(sdk, show(id))).httpStatusCode, 200);
      clockOffsetMs = 61_000;
      try {
        assertFailure(await failure(send(sdk, show(id))), 401, 'APIG.1002');
      } finally {
        clockOffsetMs = 0;
      }

      const doomed = await accessKey('editor');
      const signer = akskClient(endpoint, doomed.id, doomed.secret);
      assert.equal((await send(signer, show(id))).httpStatusCode, 200);
      await app.db.kysely
        .updateTable('principals')
        .set({ status: 'disabled' })
        .where('id', '=', doomed.principalId)
        .execute();
      assertFailure(await failure(send(signer, rename(id, 'x'))), 401, 'APIG.1002');
    });

    it('answers a role that may not write with 403 in the documented nested shape', async () => {
      const id = await nativeCreate('read only');
      const sdk = akskClient(endpoint, viewer.id, viewer.secret);
      assert.equal((await send(sdk, show(id))).name, 'read only');
      const error = await failure(send(sdk, rename(id, 'x')));
      assertFailure(error, 403, '403');
      assertFailure(await failure(send(sdk, create({ name: 'x' }))), 403, '403');
      assertFailure(await failure(send(sdk, remove(id))), 403, '403');

      const raw = await fetch(`${endpoint}/v1/access-clients/${id}`, {
        method: 'DELETE',
        headers: { 'x-auth-token': await viewerToken() },
      });
      assert.equal(raw.status, 403);
      const body = (await raw.json()) as any;
      assert.deepEqual(Object.keys(body).sort(), ['error', 'error_code', 'error_msg', 'title']);
      assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'title']);
      assert.equal(body.error.code, '403');
      assert.equal(body.error_code, 403);
      assert.equal(body.title, 'Forbidden');
      assert.equal(body.error.message, body.error_msg);
    });

    async function viewerToken(): Promise<string> {
      const key = await app.call('POST', `${WS}/api-keys`, { body: { name: 'viewer api key', role: 'viewer' } });
      const issued = await app.call('POST', `${API}/tokens`, { key: key.body.key, body: {} });
      assert.equal(issued.status, 201, issued.text);
      return issued.body.token;
    }

    it('answers an unknown client with 404 common.01000001 and an unknown client of another workspace alike', async () => {
      const sdk = akskClient(endpoint, editor.id, editor.secret);
      assertFailure(await failure(send(sdk, show('no-such-client'))), 404, 'common.01000001');
      assertFailure(await failure(send(sdk, rename('no-such-client', 'x'))), 404, 'common.01000001');
      assertFailure(await failure(send(sdk, remove('no-such-client'))), 404, 'common.01000001');
      assert.equal(
        (await app.call('POST', `${API}/workspaces`, { body: { id: `other-${engine}`, name: 'Other' } })).status,
        201,
      );
      const elsewhere = fresh();
      assert.equal(
        (
          await app.call('POST', `${API}/workspaces/other-${engine}/access-clients`, {
            body: { id: elsewhere, name: 'x' },
          })
        ).status,
        201,
      );
      assertFailure(await failure(send(sdk, show(elsewhere))), 404, 'common.01000001');
    });

    it('answers an unexpected failure with 500 common.00000500 and nothing of its internals', async () => {
      const service = app.services.accessClients as { search: (...args: unknown[]) => Promise<unknown> };
      const search = service.search;
      service.search = async () => {
        throw new Error('connection to postgres://admin:hunter2@db failed');
      };
      try {
        const error = await failure(send(akskClient(endpoint, editor.id, editor.secret), list()));
        assertFailure(error, 500, 'common.00000500');
        assert.equal(error.errorMsg, 'internal error');
        const raw = await fetch(`${endpoint}/v1/access-clients`, { headers: { 'x-auth-token': token } });
        const text = await raw.text();
        assert.equal(raw.status, 500);
        assert.ok(!text.includes('hunter2') && !text.includes('postgres'), text);
        assert.match(String(raw.headers.get('content-type')), /^application\/json/);
        assert.ok(raw.headers.get('x-request-id'));
      } finally {
        service.search = search;
      }
    });

    it('sends X-Request-Id and a JSON body with error_code, error_msg and solution_msg on every failure', async () => {
      const cases: [string, RequestInit, number, string][] = [
        ['/v1/access-clients', {}, 401, 'APIG.1002'],
        ['/v1/access-clients/x/y', { headers: { 'x-auth-token': token } }, 404, 'common.01000001'],
        [
          '/v1/access-clients/x',
          { method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'application/json' }, body: '{"name":' },
          400,
          'common.01000001',
        ],
        [
          '/v1/access-clients/x',
          { method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'application/json' }, body: '["x"]' },
          400,
          'common.01000001',
        ],
        [
          '/v1/access-clients/x',
          { method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'application/json' }, body: '' },
          400,
          'common.01000001',
        ],
        [
          '/v1/access-clients/x',
          {
            method: 'PUT',
            headers: { 'x-auth-token': token, 'content-type': 'application/json' },
            body: '{"name":"a\\u0000b"}',
          },
          400,
          'common.01000001',
        ],
        ['/v1/access-clients?name=a%00b', { headers: { 'x-auth-token': token } }, 400, 'common.01000001'],
        [
          '/v1/access-clients/x',
          { method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'text/plain' }, body: 'name=x' },
          415,
          'common.01000001',
        ],
      ];
      for (const [path, init, status, code] of cases) {
        const reply = await fetch(`${endpoint}${path}`, init);
        const text = await reply.text();
        assert.equal(reply.status, status, `${path}: ${text}`);
        assert.match(String(reply.headers.get('content-type')), /^application\/json/);
        assert.match(String(reply.headers.get('x-request-id')), /\S/);
        const body = JSON.parse(text);
        assert.deepEqual(Object.keys(body).sort(), ['error_code', 'error_msg', 'solution_msg'], text);
        assert.equal(body.error_code, code);
        assert.ok(body.error_code.length >= 8 && body.error_code.length <= 36);
        assert.ok(body.error_msg.length >= 2 && body.error_msg.length <= 512);
        assert.ok(body.solution_msg.length <= 4096);
      }
      // The native API keeps its own envelope.
      const native = await app.call('GET', `${WS}/access-clients/nope`);
      assert.match(String(native.headers['content-type']), /^application\/problem\+json/);
    });

    it('shares the native per-principal rate limit and answers 429 APIG.0308 over it', async () => {
      const limited = await startTestApp(engine, {
        env: { RATE_LIMIT_READ_PER_SECOND: '1', RATE_LIMIT_READ_BURST: '0' },
      });
      try {
        const url = await listen(limited);
        const key = await limited.call('POST', `${WS}/access-keys`, {
          body: { name: 'rl', kind: 'huawei', role: 'viewer' },
        });
        const sdk = akskClient(url, key.body.id, key.body.secret);
        assert.equal((await send(sdk, list())).httpStatusCode, 200);
        assertFailure(await failure(send(sdk, list())), 429, 'APIG.0308');
      } finally {
        await limited.stop();
      }
    });

    it('answers 408 common.00000408 when a call runs past HUAWEI_FABRIC_TIMEOUT_MS', async () => {
      const slow = await startTestApp(engine, { env: { HUAWEI_FABRIC_TIMEOUT_MS: '200' } });
      try {
        const url = await listen(slow);
        const key = await slow.call('POST', `${WS}/access-keys`, {
          body: { name: 'slow', kind: 'huawei', role: 'editor' },
        });
        const created = await slow.call('POST', `${WS}/access-clients`, { body: { id: 'slow-1', name: 'slow' } });
        assert.equal(created.status, 201, created.text);
        const service = slow.services.accessClients as { get: (...args: unknown[]) => Promise<unknown> };
        const get = service.get;
        service.get = async (...args: unknown[]) => {
          await new Promise((resolve) => setTimeout(resolve, 600));
          return get(...args);
        };
        const sdk = akskClient(url, key.body.id, key.body.secret);
        const error = await failure(send(sdk, show('slow-1')));
        assertFailure(error, 408, 'common.00000408');
        assert.match(error.errorMsg, /timeout exception occurred/);
        service.get = get;
        assert.equal((await send(sdk, show('slow-1'))).name, 'slow');
        // The late answer of the timed-out call is dropped without disturbing later ones.
        await new Promise((resolve) => setTimeout(resolve, 500));
        assert.equal((await send(sdk, show('slow-1'))).name, 'slow');
      } finally {
        await slow.stop();
      }
    });
  });
}
