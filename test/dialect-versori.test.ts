// The Versori Connect API v1 dialect over real HTTP, on both stores: UpdateConnector's full replacement field by
// field, the siblings a Versori user calls, response bodies checked against schemas written from Versori's
// document, and every change cross-checked in the native API and its audit log.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { ENGINES, OWNER_KEY, startTestApp, type TestApp } from './support/stores.js';
import * as schemas from './support/versori-schemas.js';
import type { Actor } from '../src/services/actor.js';

const ORG = 'default';
const NATIVE = `/api/v1/workspaces/${ORG}`;

interface VReply {
  status: number;
  headers: Headers;
  body: any;
}

function assertConforms(schema: object, body: unknown) {
  const problems = schemas.conformsTo(schema, body);
  assert.equal(problems, undefined, `${problems}\n${JSON.stringify(body).slice(0, 2000)}`);
}

/** A Versori error: the status, a body of Versori's shape, and (when given) the field it names. */
function assertVersoriError(reply: VReply, status: number, field?: string) {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
  assertConforms(schemas.VersoriError, reply.body);
  if (field !== undefined) {
    const fields = (reply.body.fields ?? []).map((f: { field: string }) => f.field);
    assert.ok(fields.includes(field), `expected an error at ${field}, got ${JSON.stringify(reply.body)}`);
  }
}

for (const engine of ENGINES) {
  describe(`Versori dialect [${engine}]`, () => {
    let app: TestApp;
    let base: string;
    let actor: Actor;
    let unique = 0;
    const fresh = (name: string) => `${name} ${++unique}`;

    before(async () => {
      app = await startTestApp(engine);
      await app.server.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(app.server.server.address() as AddressInfo).port}`;
      actor = { principal: await app.services.access.authenticate(OWNER_KEY), requestId: 'test-seed' };
    });
    after(async () => {
      await app?.stop();
    });

    async function v(
      method: string,
      path: string,
      body?: unknown,
      options: { key?: string | null; headers?: Record<string, string> } = {},
    ): Promise<VReply> {
      const key = options.key === undefined ? OWNER_KEY : options.key;
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
    }

    const native = (method: string, path: string, body?: unknown) => app.call(method, `${NATIVE}${path}`, { body });
    const history = async (id: string) =>
      (await native('GET', `/connectors/${id}/history?limit=200`)).body.items as any[];

    const apiKeyConfig = (id: string, name = 'X-Api-Key') => ({
      id,
      description: `key ${id}`,
      schemeType: 'api-key',
      name,
      in: 'header',
    });

    async function createHttp(extra: Record<string, unknown> = {}) {
      const reply = await v('POST', `/o/${ORG}/protocols/http/connectors`, {
        name: fresh('Http'),
        baseUrl: 'https://api.example.com/v1',
        authSchemeConfigs: [apiKeyConfig('cfg-a'), { id: 'cfg-b', description: 'none', schemeType: 'none' }],
        ...extra,
      });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      assertConforms(schemas.Connector, reply.body);
      return reply.body;
    }

    /** The ConnectorUpdate body a Versori user would keep for a connector. */
    const updateOf = (c: any, fields: Record<string, unknown> = {}) => ({
      id: c.id,
      organisationId: ORG,
      name: c.name,
      protocol: 'http',
      baseUrl: c.baseUrl,
      ...fields,
    });

    describe('authentication and errors', () => {
      it("refuses a request without a bearer key with 401 in Versori's error body", async () => {
        assertVersoriError(await v('GET', `/o/${ORG}/connectors`, undefined, { key: null }), 401);
        assertVersoriError(await v('GET', `/o/${ORG}/connectors`, undefined, { key: 'pbk_not_a_key' }), 401);
        const reply = await v('GET', `/o/${ORG}/connectors`, undefined, {
          key: null,
          headers: { authorization: 'Basic Zm9vOmJhcg==' },
        });
        assertVersoriError(reply, 401);
        assert.equal(reply.headers.get('www-authenticate'), 'Bearer realm="plugboard"');
      });

      it('treats an organisation the key is no member of as not found', async () => {
        assertVersoriError(await v('GET', '/o/elsewhere/connectors'), 404);
      });

      it("answers unknown routes, bad JSON and wrong media types in Versori's body, and leaves the native API alone", async () => {
        assertVersoriError(await v('GET', `/o/${ORG}/nothing-here`), 404);
        assertVersoriError(await v('PUT', `/o/${ORG}/connectors/x`, '{"name":'), 400);
        const text = await fetch(`${base}/o/${ORG}/protocols/http/connectors`, {
          method: 'POST',
          headers: { authorization: `Bearer ${OWNER_KEY}`, 'content-type': 'text/plain' },
          body: 'name',
        });
        assert.equal(text.status, 415);
        assertConforms(schemas.VersoriError, await text.json());
        const nativeMiss = await app.call('GET', `${NATIVE}/connectors/missing`);
        assert.match(String(nativeMiss.headers['content-type']), /problem\+json/);
      });

      it('never shows the API key in an error', async () => {
        const reply = await v('GET', `/o/${ORG}/connectors`, undefined, { key: 'pbk_secret_value_that_is_wrong' });
        assert.ok(!JSON.stringify(reply.body).includes('pbk_secret_value_that_is_wrong'));
      });
    });

    describe('create, get, list and delete', () => {
      it('creates an HTTP connector (201) and a BigQuery connector, both visible in the native API', async () => {
        const http = await createHttp({
          tags: { team: ['data'] },
          public: true,
          connectionVariables: [{ name: 'region', value: 'eu' }],
        });
        assert.equal(http.protocol, 'http');
        assert.equal(http.public, true);
        assert.deepEqual(
          http.authSchemeConfigs.map((c: any) => c.id),
          ['cfg-a', 'cfg-b'],
        );
        const bq = await v('POST', `/o/${ORG}/protocols/bigquery/connectors`, {
          name: fresh('BQ'),
          datasetId: 'my-project.sales',
          connections: [],
        });
        assert.equal(bq.status, 201, JSON.stringify(bq.body));
        assertConforms(schemas.Connector, bq.body);
        assert.equal(bq.body.datasetId, 'my-project.sales');
        const seen = await native('GET', `/connectors/${bq.body.id}`);
        assert.equal(seen.body.datasetId, 'my-project.sales');
        assert.equal(seen.body.protocolType, 'bigquery');
        const httpSeen = await native('GET', `/connectors/${http.id}`);
        assert.equal(httpSeen.body.isPublic, true);
        assert.deepEqual(httpSeen.body.tags, { team: ['data'] });
        assert.equal((await history(http.id)).length, 1);
      });

      it('creates the connections given with a connector', async () => {
        const reply = await v('POST', `/o/${ORG}/protocols/http/connectors`, {
          name: fresh('WithConnections'),
          baseUrl: 'https://api.example.com',
          authSchemeConfigs: [apiKeyConfig('k1')],
          connectionVariables: [{ name: 'tenant', value: 'acme' }],
          connections: [
            {
              name: 'prod',
              credentials: {
                action: [
                  {
                    authSchemeConfig: { id: 'k1' },
                    credential: { name: 'key', type: 'string', data: { value: 's3cret' } },
                  },
                ],
              },
              variables: [],
            },
          ],
        });
        assert.equal(reply.status, 201, JSON.stringify(reply.body));
        assertConforms(schemas.Connector, reply.body);
        assert.equal(reply.body.connections.length, 1);
        assert.deepEqual(reply.body.connections[0].variables, [{ name: 'tenant', value: 'acme' }]);
        assert.equal(reply.body.connections[0].credentials.action[0].credential.data.value, '******');
        assert.ok(!JSON.stringify(reply.body).includes('s3cret'));
      });

      it('refuses a create without its required fields, naming them', async () => {
        assertVersoriError(
          await v('POST', `/o/${ORG}/protocols/http/connectors`, { name: 'x', authSchemeConfigs: [] }),
          400,
          'baseUrl',
        );
        assertVersoriError(
          await v('POST', `/o/${ORG}/protocols/http/connectors`, {
            baseUrl: 'https://a.example',
            authSchemeConfigs: [],
          }),
          400,
          'name',
        );
        assertVersoriError(
          await v('POST', `/o/${ORG}/protocols/bigquery/connectors`, { name: 'x', connections: [] }),
          400,
          'datasetId',
        );
        assertVersoriError(
          await v('POST', `/o/${ORG}/protocols/http/connectors`, {
            name: 'x',
            baseUrl: 'https://a.example',
            authSchemeConfigs: [{ id: 'k', description: '', schemeType: 'api-key' }],
          }),
          400,
          'authSchemeConfigs[0].name',
        );
        assertVersoriError(
          await v('POST', `/o/${ORG}/protocols/http/connectors`, {
            name: 'x',
            baseUrl: 'not a url',
            authSchemeConfigs: [],
          }),
          400,
          'baseUrl',
        );
      });

      it('gets a connector with an ETag and refuses connectors of protocols Versori does not know', async () => {
        const c = await createHttp();
        const reply = await v('GET', `/o/${ORG}/connectors/${c.id}`);
        assert.equal(reply.status, 200);
        assertConforms(schemas.Connector, reply.body);
        assert.match(reply.headers.get('etag') ?? '', /^"\d+-/);
        const mysql = await native('POST', '/connectors', { name: 'Native MySQL', protocolType: 'mysql' });
        assertVersoriError(await v('GET', `/o/${ORG}/connectors/${mysql.body.id}`), 404);
        assertVersoriError(await v('GET', `/o/${ORG}/connectors/no-such-connector`), 404);
      });

      it('pages connectors with first, after and before, with totalCount', async () => {
        const prefix = `Paged${engine}`;
        for (let i = 0; i < 5; i++) await createHttp({ name: `${prefix} ${i}` });
        const first = await v('GET', `/o/${ORG}/connectors?first=2&name=${prefix}`);
        assert.equal(first.status, 200, JSON.stringify(first.body));
        assertConforms(schemas.ConnectorPage, first.body);
        assert.equal(first.body.totalCount, 5);
        assert.equal(first.body.connectors.length, 2);
        assert.equal(first.body.prev, undefined);
        const second = await v('GET', `/o/${ORG}/connectors?first=2&name=${prefix}&after=${first.body.next}`);
        const third = await v('GET', `/o/${ORG}/connectors?first=2&name=${prefix}&after=${second.body.next}`);
        assert.equal(third.body.connectors.length, 1);
        assert.equal(third.body.next, undefined);
        const back = await v('GET', `/o/${ORG}/connectors?first=2&name=${prefix}&before=${third.body.prev}`);
        assert.deepEqual(
          back.body.connectors.map((c: any) => c.id),
          second.body.connectors.map((c: any) => c.id),
        );
        const all = [...first.body.connectors, ...second.body.connectors, ...third.body.connectors].map(
          (c: any) => c.name,
        );
        assert.deepEqual(new Set(all).size, 5);
        assertVersoriError(await v('GET', `/o/${ORG}/connectors?first=0`), 400, 'first');
        assertVersoriError(await v('GET', `/o/${ORG}/connectors?after=bogus`), 400, 'after');
        const onlyBq = await v('GET', `/o/${ORG}/connectors?protocol=BIG&first=200`);
        assert.ok(onlyBq.body.connectors.every((c: any) => c.protocol === 'bigquery'));
      });

      it('refuses to delete a connector in use without force (409), and deletes it with force', async () => {
        const c = await createHttp();
        const conn = await v('POST', `/o/${ORG}/connectors/${c.id}/connections`, {
          name: 'in-use',
          credentials: {},
          variables: [],
        });
        assert.equal(conn.status, 200, JSON.stringify(conn.body));
        assertVersoriError(await v('DELETE', `/o/${ORG}/connectors/${c.id}`), 409);
        const gone = await v('DELETE', `/o/${ORG}/connectors/${c.id}?force=true`);
        assert.equal(gone.status, 204);
        assert.equal((await native('GET', `/connectors/${c.id}`)).status, 404);
        assert.equal((await native('GET', `/connections/${conn.body.id}`)).status, 404);
      });
    });

    describe('UpdateConnector: full replacement', () => {
      it('sets every mutable field from the body, sets updatedAt, and records one audit event', async () => {
        const c = await createHttp();
        const reply = await v(
          'PUT',
          `/o/${ORG}/connectors/${c.id}`,
          updateOf(c, {
            name: 'Renamed',
            baseUrl: 'https://new.example.com',
            documentationURL: 'https://docs.example.com',
            imageURL: 'https://img.example.com/i.png',
            tags: { env: ['prod', 'eu'] },
            public: true,
          }),
        );
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assertConforms(schemas.Connector, reply.body);
        assert.equal(reply.body.name, 'Renamed');
        assert.equal(reply.body.baseUrl, 'https://new.example.com');
        assert.equal(reply.body.documentationURL, 'https://docs.example.com');
        assert.equal(reply.body.imageURL, 'https://img.example.com/i.png');
        assert.deepEqual(reply.body.tags, { env: ['prod', 'eu'] });
        assert.equal(reply.body.public, true);
        assert.ok(reply.body.updatedAt > c.updatedAt || reply.body.updatedAt !== c.updatedAt);
        const seen = (await native('GET', `/connectors/${c.id}`)).body;
        assert.equal(seen.name, 'Renamed');
        assert.equal(seen.documentationUrl, 'https://docs.example.com');
        assert.equal(seen.iconUrl, 'https://img.example.com/i.png');
        assert.equal(seen.isPublic, true);
        assert.equal(seen.revision, 2);
        const events = await history(c.id);
        assert.equal(events.length, 2);
        assert.equal(events[0].action, 'connector:update');
        assert.deepEqual([...events[0].changedFields].sort(), [
          'baseUrl',
          'documentationUrl',
          'iconUrl',
          'isPublic',
          'name',
          'tags',
        ]);
      });

      for (const [field, value, cleared] of [
        ['documentationURL', 'https://docs.example.com', undefined],
        ['imageURL', 'https://img.example.com/x.png', undefined],
        ['tags', { a: ['b'] }, {}],
        ['public', true, false],
      ] as const) {
        it(`clears ${field} when the body leaves it out`, async () => {
          const c = await createHttp();
          const set = await v('PUT', `/o/${ORG}/connectors/${c.id}`, updateOf(c, { [field]: value }));
          assert.deepEqual(set.body[field], value);
          const before = (await history(c.id)).length;
          const cleared_ = await v('PUT', `/o/${ORG}/connectors/${c.id}`, updateOf(c));
          assert.equal(cleared_.status, 200);
          assertConforms(schemas.Connector, cleared_.body);
          assert.deepEqual(cleared_.body[field], cleared);
          assert.equal((await history(c.id)).length, before + 1);
        });
      }

      for (const field of ['id', 'organisationId', 'name', 'protocol', 'baseUrl']) {
        it(`refuses a body without the required ${field} with 400 naming it, changing nothing`, async () => {
          const c = await createHttp();
          const body: Record<string, unknown> = updateOf(c, { name: 'Changed' });
          delete body[field];
          assertVersoriError(await v('PUT', `/o/${ORG}/connectors/${c.id}`, body), 400, field);
          const seen = (await native('GET', `/connectors/${c.id}`)).body;
          assert.equal(seen.revision, 1);
          assert.equal(seen.name, c.name);
        });
      }

      it('refuses a bigquery body without datasetId, a protocol change, and ids that contradict the path', async () => {
        const bq = (
          await v('POST', `/o/${ORG}/protocols/bigquery/connectors`, {
            name: fresh('BQ'),
            datasetId: 'p.d',
            connections: [],
          })
        ).body;
        assertVersoriError(
          await v('PUT', `/o/${ORG}/connectors/${bq.id}`, {
            id: bq.id,
            organisationId: ORG,
            name: 'n',
            protocol: 'bigquery',
          }),
          400,
          'datasetId',
        );
        const ok = await v('PUT', `/o/${ORG}/connectors/${bq.id}`, {
          id: bq.id,
          organisationId: ORG,
          name: 'n',
          protocol: 'bigquery',
          datasetId: 'p2.d2',
        });
        assert.equal(ok.status, 200);
        assertConforms(schemas.Connector, ok.body);
        assert.equal(ok.body.datasetId, 'p2.d2');
        assertVersoriError(
          await v('PUT', `/o/${ORG}/connectors/${bq.id}`, {
            id: bq.id,
            organisationId: ORG,
            name: 'n',
            protocol: 'http',
            baseUrl: 'https://a.example',
          }),
          400,
          'protocol',
        );
        assertVersoriError(
          await v('PUT', `/o/${ORG}/connectors/${bq.id}`, {
            id: bq.id,
            organisationId: ORG,
            name: 'n',
            protocol: 'soap',
          }),
          400,
          'protocol',
        );
        const c = await createHttp();
        assertVersoriError(await v('PUT', `/o/${ORG}/connectors/${c.id}`, { ...updateOf(c), id: 'other' }), 400, 'id');
        assertVersoriError(
          await v('PUT', `/o/${ORG}/connectors/${c.id}`, { ...updateOf(c), organisationId: 'other' }),
          400,
          'organisationId',
        );
        assertVersoriError(
          await v('PUT', `/o/${ORG}/connectors/${c.id}`, { ...updateOf(c), datasetId: 'p.d' }),
          400,
          'datasetId',
        );
        assertVersoriError(await v('PUT', `/o/${ORG}/connectors/nope`, { ...updateOf(c), id: 'nope' }), 404);
      });

      it('changes nothing when the same body is sent again: same revision, ETag and updatedAt, no audit event', async () => {
        const c = await createHttp({ connectionVariables: [{ name: 'a', value: '1' }] });
        const body = updateOf(c, {
          documentationURL: 'https://docs.example.com',
          tags: { t: ['1'] },
          connectionVariables: [{ name: 'a', value: '2' }],
        });
        const first = await v('PUT', `/o/${ORG}/connectors/${c.id}`, body);
        const events = (await history(c.id)).length;
        const second = await v('PUT', `/o/${ORG}/connectors/${c.id}`, body);
        assert.equal(second.status, 200);
        assert.equal(second.headers.get('etag'), first.headers.get('etag'));
        assert.equal(second.body.updatedAt, first.body.updatedAt);
        assert.equal(second.headers.get('plugboard-connections-updated'), '0');
        assert.equal((await history(c.id)).length, events);
        assert.equal((await native('GET', `/connectors/${c.id}`)).body.revision, 2);
        // A GET body sent back as it is is also an unchanged update.
        const read = await v('GET', `/o/${ORG}/connectors/${c.id}`);
        const echoed = await v('PUT', `/o/${ORG}/connectors/${c.id}`, read.body);
        assert.equal(echoed.status, 200, JSON.stringify(echoed.body));
        assert.equal(echoed.headers.get('etag'), first.headers.get('etag'));
      });

      it('keeps the fields Versori cannot express (description, status)', async () => {
        const c = await createHttp();
        await native('PATCH', `/connectors/${c.id}`, { description: 'kept', status: 'disabled' });
        await v('PUT', `/o/${ORG}/connectors/${c.id}`, updateOf(c, { name: 'Other' }));
        const seen = (await native('GET', `/connectors/${c.id}`)).body;
        assert.equal(seen.description, 'kept');
        assert.equal(seen.status, 'disabled');
        assert.equal(seen.name, 'Other');
      });

      it('reorders auth-scheme configs with a permutation, refuses anything else, and leaves them alone when omitted', async () => {
        const c = await createHttp();
        const reordered = await v(
          'PUT',
          `/o/${ORG}/connectors/${c.id}`,
          updateOf(c, { authSchemeConfigIds: ['cfg-b', 'cfg-a'] }),
        );
        assert.equal(reordered.status, 200);
        assert.deepEqual(
          reordered.body.authSchemeConfigs.map((a: any) => a.id),
          ['cfg-b', 'cfg-a'],
        );
        for (const ids of [['cfg-a'], ['cfg-a', 'cfg-b', 'cfg-c'], ['cfg-a', 'cfg-a'], [], ['cfg-b', 'nope']]) {
          const reply = await v(
            'PUT',
            `/o/${ORG}/connectors/${c.id}`,
            updateOf(c, { authSchemeConfigIds: ids, name: 'Not applied' }),
          );
          assertVersoriError(reply, 400);
          assert.ok(
            reply.body.fields.every((f: any) => f.field.startsWith('authSchemeConfigIds')),
            JSON.stringify(reply.body),
          );
        }
        const untouched = await v('PUT', `/o/${ORG}/connectors/${c.id}`, updateOf(c, { name: 'Omitted' }));
        assert.deepEqual(
          untouched.body.authSchemeConfigs.map((a: any) => a.id),
          ['cfg-b', 'cfg-a'],
        );
        assert.equal((await native('GET', `/connectors/${c.id}`)).body.name, 'Omitted');
      });

      it('ignores validationMessages and other read-only fields sent back', async () => {
        const c = await createHttp();
        const read = (await v('GET', `/o/${ORG}/connectors/${c.id}`)).body;
        read.authSchemeConfigs[0].validationMessages = [{ text: 'forged', severity: 'error' }];
        read.createdAt = '2000-01-01T00:00:00Z';
        const reply = await v('PUT', `/o/${ORG}/connectors/${c.id}`, read);
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.equal(reply.body.createdAt, c.createdAt);
        assert.deepEqual(reply.body.authSchemeConfigs[0].validationMessages, []);
        const upsert = await v('PUT', `/o/${ORG}/connectors/${c.id}/auth-scheme-configs/cfg-a`, {
          ...apiKeyConfig('cfg-a'),
          validationMessages: [{ text: 'forged', severity: 'error' }],
        });
        assert.equal(upsert.status, 200, JSON.stringify(upsert.body));
        assert.deepEqual(upsert.body.authSchemeConfigs[0].validationMessages, []);
      });

      it('propagates connectionVariables to 1,000 connections in one transaction', { timeout: 240_000 }, async () => {
        const c = await createHttp({ connectionVariables: [{ name: 'region', value: 'eu' }] });
        const ids: number[] = [];
        for (let batch = 0; batch < 50; batch++) {
          const created = await Promise.all(
            Array.from({ length: 20 }, (_unused, i) =>
              app.services.connections.create(actor, ORG, {
                connectorId: c.id,
                name: `conn-${batch}-${i}`,
                type: 'http',
                variables: [],
              }),
            ),
          );
          ids.push(...created.map((x) => x.id));
        }
        assert.equal(ids.length, 1000);
        // A bad list changes nothing anywhere.
        const refused = await v(
          'PUT',
          `/o/${ORG}/connectors/${c.id}`,
          updateOf(c, {
            connectionVariables: [
              { name: 'dup', value: '1' },
              { name: 'dup', value: '2' },
            ],
          }),
        );
        assertVersoriError(refused, 400, 'connectionVariables[1].name');
        const variables = [
          { name: 'region', value: 'us' },
          { name: 'tier', value: 'gold' },
        ];
        const reply = await v('PUT', `/o/${ORG}/connectors/${c.id}`, updateOf(c, { connectionVariables: variables }));
        assert.equal(reply.status, 200);
        assertConforms(schemas.Connector, reply.body);
        assert.equal(reply.headers.get('plugboard-connections-updated'), '1000');
        assert.deepEqual(reply.body.connectionVariables, variables);
        assert.equal(reply.body.connections.length, 1000);
        assert.ok(reply.body.connections.every((x: any) => JSON.stringify(x.variables) === JSON.stringify(variables)));
        // One write: every connection took the connector's updatedAt, and the audit log has one event for each.
        const updatedAt = reply.body.updatedAt;
        const nativeList = await app.services.connections.list(actor, ORG, { limit: 2000, connectorId: c.id });
        assert.ok(nativeList.items.every((x) => x.updatedAt === updatedAt && x.revision === 2));
        const requestId = (await history(c.id))[0].requestId;
        const audit = await app.services.audit.list(actor, ORG, { limit: 2000, resourceType: 'connection' });
        assert.equal(audit.items.filter((e) => e.requestId === requestId).length, 1000);
        assert.equal((await history(c.id)).filter((e) => e.requestId === requestId).length, 1);
        // Omitted: the connections keep their variables.
        const omitted = await v('PUT', `/o/${ORG}/connectors/${c.id}`, updateOf(c, { name: 'Renamed' }));
        assert.equal(omitted.headers.get('plugboard-connections-updated'), '0');
        assert.deepEqual(omitted.body.connectionVariables, variables);
      });

      it('honours If-Match when a client sends one', async () => {
        const c = await createHttp();
        const stale = await v('PUT', `/o/${ORG}/connectors/${c.id}`, updateOf(c, { name: 'x' }), {
          headers: { 'if-match': '"99-abc"' },
        });
        assertVersoriError(stale, 412);
      });
    });

    describe('auth-scheme configs', () => {
      it('upserts a config (add, then replace) and deletes it, answering with the Connector', async () => {
        const c = await createHttp();
        const oauth = {
          id: 'oauth',
          description: 'OAuth',
          schemeType: 'oauth2',
          authorizeUrl: 'https://auth.example.com/authorize',
          tokenUrl: 'https://auth.example.com/token',
          scopes: [{ name: 'read' }],
          defaultScopes: ['read'],
          grant: { grantType: 'authorization_code', clientId: 'cid', clientSecret: 'very-secret' },
        };
        const added = await v('PUT', `/o/${ORG}/connectors/${c.id}/auth-scheme-configs/oauth`, oauth);
        assert.equal(added.status, 200, JSON.stringify(added.body));
        assertConforms(schemas.Connector, added.body);
        assert.deepEqual(
          added.body.authSchemeConfigs.map((a: any) => a.id),
          ['cfg-a', 'cfg-b', 'oauth'],
        );
        assert.equal(added.body.authSchemeConfigs[2].grant.clientSecret, '******');
        assert.ok(!JSON.stringify(added.body).includes('very-secret'));
        const replaced = await v(
          'PUT',
          `/o/${ORG}/connectors/${c.id}/auth-scheme-configs/cfg-a`,
          apiKeyConfig('cfg-a', 'Authorization'),
        );
        assert.equal(replaced.body.authSchemeConfigs[0].name, 'Authorization');
        assertVersoriError(
          await v('PUT', `/o/${ORG}/connectors/${c.id}/auth-scheme-configs/cfg-a`, apiKeyConfig('other')),
          400,
          'id',
        );
        assertVersoriError(
          await v('PUT', `/o/${ORG}/connectors/${c.id}/auth-scheme-configs/x`, {
            id: 'x',
            description: '',
            schemeType: 'magic',
          }),
          400,
          'schemeType',
        );
        const deleted = await v('DELETE', `/o/${ORG}/connectors/${c.id}/auth-scheme-configs/oauth`);
        assert.equal(deleted.status, 200);
        assertConforms(schemas.Connector, deleted.body);
        assert.deepEqual(
          deleted.body.authSchemeConfigs.map((a: any) => a.id),
          ['cfg-a', 'cfg-b'],
        );
        assertVersoriError(await v('DELETE', `/o/${ORG}/connectors/${c.id}/auth-scheme-configs/oauth`), 404);
        assert.equal((await history(c.id)).length, 4);
      });
    });

    describe('connections under a connector', () => {
      it('creates, lists, gets, updates and deletes connections', async () => {
        const c = await createHttp({ connectionVariables: [{ name: 'region', value: 'eu' }] });
        const created = await v('POST', `/o/${ORG}/connectors/${c.id}/connections`, {
          name: 'primary',
          credentials: {
            action: [
              {
                authSchemeConfig: apiKeyConfig('cfg-a'),
                credential: { name: 'key', type: 'string', data: { value: 'k-123' } },
              },
              { authSchemeConfig: { id: 'cfg-b' }, credential: { name: 'none', type: 'none', data: {} } },
            ],
          },
          variables: [{ name: 'tenant', value: 't1' }],
        });
        assert.equal(created.status, 200, JSON.stringify(created.body));
        assertConforms(schemas.Connection, created.body);
        assert.deepEqual(created.body.variables, [
          { name: 'region', value: 'eu' },
          { name: 'tenant', value: 't1' },
        ]);
        assert.ok(!JSON.stringify(created.body).includes('k-123'));
        const id = created.body.id;
        assertVersoriError(
          await v('POST', `/o/${ORG}/connectors/${c.id}/connections`, {
            name: 'bad',
            credentials: {
              action: [
                { authSchemeConfig: { id: 'nope' }, credential: { name: 'k', type: 'string', data: { value: 'v' } } },
              ],
            },
            variables: [],
          }),
          400,
          'credentials.action[0].authSchemeConfig.id',
        );
        assertVersoriError(
          await v('POST', `/o/${ORG}/connectors/${c.id}/connections`, {
            name: 'primary',
            credentials: {},
            variables: [],
          }),
          409,
        );
        assertVersoriError(
          await v('POST', `/o/${ORG}/connectors/${c.id}/connections`, { credentials: {}, variables: [] }),
          400,
          'name',
        );

        await v('POST', `/o/${ORG}/connectors/${c.id}/connections`, { name: 'second', credentials: {}, variables: [] });
        const page = await v('GET', `/o/${ORG}/connectors/${c.id}/connections?first=1`);
        assertConforms(schemas.ConnectorConnectionPage, page.body);
        assert.equal(page.body.totalCount, 2);
        assert.equal(page.body.items[0].id, id);
        const next = await v('GET', `/o/${ORG}/connectors/${c.id}/connections?first=1&after=${page.body.next}`);
        assert.equal(next.body.items[0].name, 'second');
        assert.equal(next.body.next, undefined);
        assert.ok(next.body.prev);

        const got = await v('GET', `/o/${ORG}/connectors/${c.id}/connections/${id}`);
        assertConforms(schemas.Connection, got.body);
        const [first, secondCredential] = got.body.credentials.action;
        const updated = await v('PUT', `/o/${ORG}/connectors/${c.id}/connections/${id}`, {
          id,
          name: 'renamed',
          credentials: { action: [secondCredential, first] },
        });
        assert.equal(updated.status, 200, JSON.stringify(updated.body));
        assertConforms(schemas.Connection, updated.body);
        assert.equal(updated.body.name, 'renamed');
        assert.deepEqual(
          updated.body.credentials.action.map((x: any) => x.id),
          [secondCredential.id, first.id],
        );
        assert.deepEqual(updated.body.variables, got.body.variables);
        const nativeConnection = (await native('GET', `/connections/${id}`)).body;
        assert.equal(nativeConnection.name, 'renamed');
        assert.deepEqual(
          nativeConnection.credentials.map((x: any) => x.secret),
          [null, '******'],
        );
        assertVersoriError(
          await v('PUT', `/o/${ORG}/connectors/${c.id}/connections/${id}`, {
            id,
            name: 'x',
            credentials: { action: [first] },
          }),
          400,
          'credentials.action',
        );
        assertVersoriError(
          await v('PUT', `/o/${ORG}/connectors/${c.id}/connections/${id}`, { id: '999', name: 'x' }),
          400,
          'id',
        );
        const vars = await v('PUT', `/o/${ORG}/connectors/${c.id}/connections/${id}`, {
          id,
          name: 'renamed',
          variables: [],
        });
        assert.deepEqual(vars.body.variables, []);

        const other = await createHttp();
        assertVersoriError(await v('GET', `/o/${ORG}/connectors/${other.id}/connections/${id}`), 404);
        assertVersoriError(await v('GET', `/o/${ORG}/connectors/${c.id}/connections/abc`), 404);
        assert.equal((await v('DELETE', `/o/${ORG}/connectors/${c.id}/connections/${id}`)).status, 204);
        assertVersoriError(await v('GET', `/o/${ORG}/connectors/${c.id}/connections/${id}`), 404);
        const events = (await native('GET', `/connections/${id}/history`)).body.items.map((e: any) => e.action);
        assert.deepEqual(events, ['connection:delete', 'connection:update', 'connection:update', 'connection:create']);
      });
    });

    describe('versions', () => {
      it('creates (from another), lists, gets, updates, publishes, unpublishes and deletes versions', async () => {
        const c = await createHttp();
        const base_ = `/o/${ORG}/connectors/${c.id}/versions`;
        const v1 = await v('POST', base_, { name: '1.0.0' });
        assert.equal(v1.status, 201, JSON.stringify(v1.body));
        assertConforms(schemas.ConnectorVersion, v1.body);
        assert.equal(v1.body.publishedAt, null);
        await v('PUT', `${base_}/1.0.0`, { ...v1.body, description: 'first' });
        const v2 = await v('POST', base_, { name: '1.1.0', fromVersion: '1.0.0' });
        assert.equal(v2.body.description, 'first');
        assert.equal(v2.body.isLatest, true);
        assertVersoriError(await v('POST', base_, { name: '2.0.0', fromVersion: '9.9.9' }), 400, 'fromVersion');
        assertVersoriError(await v('POST', base_, { name: 'latest' }), 400, 'name');
        assertVersoriError(await v('POST', base_, { name: '1.0.0' }), 400, 'name');

        const list = await v('GET', `${base_}?first=1`);
        assertConforms(schemas.ConnectorVersionsPage, list.body);
        assert.equal(list.body.totalCount, 2);
        assert.equal(list.body.items[0].name, '1.0.0');
        assert.equal((await v('GET', `${base_}?first=1&after=${list.body.next}`)).body.items[0].name, '1.1.0');
        assert.equal((await v('GET', `${base_}/latest`)).body.name, '1.1.0');
        assert.equal((await v('GET', `${base_}/default`)).body.name, '1.1.0');

        const published = await v('POST', `${base_}/1.0.0/publish`);
        assert.equal(published.status, 200, JSON.stringify(published.body));
        assertConforms(schemas.VersionResponse, published.body);
        assert.ok(published.body.version.publishedAt);
        const again = await v('POST', `${base_}/1.0.0/publish`);
        assert.equal(again.body.version.publishedAt, published.body.version.publishedAt);
        assertVersoriError(
          await v('PUT', `${base_}/1.0.0`, { ...published.body.version, publishedAt: null }),
          400,
          'publishedAt',
        );
        const renamed = await v('PUT', `${base_}/1.0.0`, {
          ...published.body.version,
          description: undefined,
          isDefault: true,
        });
        assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
        assert.equal(renamed.body.description, '');
        assert.equal(renamed.body.isDefault, true);
        assert.equal((await v('GET', `${base_}/default`)).body.name, '1.0.0');
        assertVersoriError(await v('DELETE', `${base_}/1.0.0`), 409);
        const unpublished = await v('POST', `${base_}/1.0.0/unpublish`);
        assertConforms(schemas.VersionResponse, unpublished.body);
        assert.equal(unpublished.body.version.publishedAt, null);
        assert.equal((await v('DELETE', `${base_}/1.0.0`)).status, 204);
        assertVersoriError(await v('GET', `${base_}/1.0.0`), 404);
        const connector = await v('GET', `/o/${ORG}/connectors/${c.id}`);
        assertConforms(schemas.Connector, connector.body);
        assert.deepEqual(
          connector.body.versions.map((x: any) => x.name),
          ['1.1.0'],
        );
        const nativeVersions = (await native('GET', `/connectors/${c.id}/versions`)).body.items;
        assert.deepEqual(
          nativeVersions.map((x: any) => x.name),
          ['1.1.0'],
        );
      });
    });

    describe('tried as a new user would', () => {
      it('applies a definition kept in a repository, re-applies it unchanged, then applies it with a field removed', async () => {
        const c = await createHttp();
        const definition = {
          id: c.id,
          organisationId: ORG,
          name: 'Payments API',
          protocol: 'http',
          baseUrl: 'https://payments.example.com/v2',
          documentationURL: 'https://payments.example.com/docs',
          imageURL: 'https://payments.example.com/logo.png',
          tags: { domain: ['payments'] },
          public: false,
          connectionVariables: [{ name: 'currency', value: 'EUR' }],
          authSchemeConfigIds: ['cfg-a', 'cfg-b'],
        };
        const applied = await v('PUT', `/o/${ORG}/connectors/${c.id}`, definition);
        assert.equal(applied.status, 200, JSON.stringify(applied.body));
        assertConforms(schemas.Connector, applied.body);
        const etag = applied.headers.get('etag');
        const events = (await history(c.id)).length;

        const reapplied = await v('PUT', `/o/${ORG}/connectors/${c.id}`, definition);
        assert.equal(reapplied.status, 200);
        assert.equal(reapplied.headers.get('etag'), etag);
        assert.deepEqual(reapplied.body, applied.body);
        assert.equal((await history(c.id)).length, events);

        const { documentationURL: _removed, ...withoutDocs } = definition;
        const trimmed = await v('PUT', `/o/${ORG}/connectors/${c.id}`, withoutDocs);
        assert.equal(trimmed.status, 200);
        assert.equal(trimmed.body.documentationURL, undefined);
        assert.notEqual(trimmed.headers.get('etag'), etag);
        assert.equal((await native('GET', `/connectors/${c.id}`)).body.documentationUrl, null);
        const last = await history(c.id);
        assert.equal(last.length, events + 1);
        assert.deepEqual(last[0].changedFields, ['documentationUrl']);
      });
    });
  });
}
