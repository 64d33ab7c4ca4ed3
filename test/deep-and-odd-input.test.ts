// JSON nested too deep and the NUL character, sent to every edge (native API, Versori, Huawei DataArts Fabric,
// Model Studio, DataWorks, DevS, the MCP gateway) on both stores: each answers with its own 4xx, never a 5xx.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { ENGINES, OWNER_KEY, startTestApp, type TestApp } from './support/stores.js';
import { createAlibabaKey, injectAcs3, type AccessKeyPair } from './support/alibaba.js';
import { startUpstreamApi, type UpstreamApi } from './support/upstream-api.js';

const WS = '/api/v1/workspaces/default';
const FORM = 'application/x-www-form-urlencoded';

/** JSON text of exactly `depth` objects inside each other, `leaf` innermost. */
const nested = (depth: number, leaf = '1') => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;
/** The same depth with arrays, the cheapest way to nest. */
const nestedArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
/** Depths that must be refused: far too deep (a recursive walker overflows its stack) and one level too deep. */
const TOO_DEEP = [10_000, 65];

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** JSON values that parse, or nearly do, but that no well-behaved client sends. */
const ODD_VALUES = [
  '"\\ud800"',
  '"\\udfff\\ud800x"',
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '0.000000000000000000000000000000000000000000001',
  `[${Array.from({ length: 100_000 }, () => '1').join(',')}]`,
  `[${Array.from({ length: 100_000 }, () => '"x"').join(',')}]`,
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"a":1,"a":2}',
];
/** Whole bodies: odd values in a field and as the name, duplicate and prototype keys at the top, bytes that are not UTF-8. */
const ODD_BODIES = (fields: string): (string | Buffer)[] => [
  ...ODD_VALUES.map((value) => `{${fields},"x":${value}}`),
  ...ODD_VALUES.map((value) => `{"name":${value},${fields}}`),
  `{${fields},${fields}}`,
  `{"__proto__":{"isAdmin":true},${fields}}`,
  Buffer.concat([Buffer.from(`{${fields},"name":"`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]),
];
const ODD_TYPES = [
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  'application/jsonx',
];

function assert4xx(reply: { status: number; text: string }, what: string, status = 400) {
  assert.equal(reply.status, status, `${what} answered ${reply.status}: ${reply.text.slice(0, 300)}`);
}

async function settled(app: TestApp, name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const reply = await app.call('GET', `${WS}/toolsets/${name}`);
    if (reply.body.status.observedGeneration === reply.body.generation) return;
    if (Date.now() > deadline) throw new Error(`toolset ${name} was not reconciled: ${reply.text}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const engine of ENGINES) {
  describe(`deep JSON and the NUL character on every edge [${engine}]`, () => {
    let app: TestApp;
    let upstream: UpstreamApi;
    let alibaba: AccessKeyPair;
    let projectId: number;
    let fabricToken: string;
    let mcpUrl: string;
    let mcpToken: string;
    let mcpSession: string;

    before(async () => {
      upstream = await startUpstreamApi();
      app = await startTestApp(engine, {
        env: { BAILIAN_RATE_LIMIT_PER_SECOND: '0', RECONCILE_INTERVAL_MS: '3600000' },
      });
      assert.equal((await app.call('POST', `${WS}/connectors`, { body: { id: 'gh', name: 'GitHub' } })).status, 201);
      alibaba = await createAlibabaKey(app, 'editor');
      projectId = (await app.call('GET', WS)).body.projectId;
      const issued = await app.call('POST', '/api/v1/tokens', { body: { defaultWorkspaceId: 'default' } });
      assert.equal(issued.status, 201, issued.text);
      fabricToken = issued.body.token;
      const toolset = await app.call('POST', `${WS}/toolsets`, {
        body: { name: 'shop', spec: { schema: { type: 'OpenAPI', detail: upstream.document() } } },
      });
      assert.equal(toolset.status, 201, toolset.text);
      await settled(app, 'shop');
      const client = await app.call('POST', `${WS}/access-clients`, { body: { name: 'agent', toolsets: ['shop'] } });
      assert.equal(client.status, 201, client.text);
      mcpToken = client.body.secret;
      mcpUrl = `${await app.server.listen({ host: '127.0.0.1', port: 0 })}/mcp/default/shop`;
      const opened = await mcpPost(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: LATEST_PROTOCOL_VERSION,
            capabilities: {},
            clientInfo: { name: 't', version: '1' },
          },
        }),
      );
      assert.equal(opened.status, 200, opened.text);
      mcpSession = opened.session!;
    });
    after(async () => {
      await app?.stop();
      await upstream?.close();
    });

    /** One POST to the gateway's Streamable HTTP endpoint over a real socket (the server's fast path). */
    async function mcpPost(text: string) {
      const response = await fetch(mcpUrl, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${mcpToken}`,
          'content-type': 'application/json',
          accept: 'application/json',
          ...(mcpSession ? { 'mcp-session-id': mcpSession } : {}),
        },
        body: text,
      });
      const body = await response.text();
      return {
        status: response.status,
        text: body,
        body: body === '' ? undefined : JSON.parse(body),
        session: response.headers.get('mcp-session-id'),
      };
    }

    describe('native API', () => {
      it('refuses JSON nested deeper than 64 with 400 problem+json, and takes 64', async () => {
        for (const depth of TOO_DEEP) {
          for (const [method, url, body] of [
            ['POST', `${WS}/connectors`, `{"id":"deep","name":"d","tags":${nested(depth - 1)}}`],
            ['PATCH', `${WS}/connectors/gh`, `{"tags":${nestedArrays(depth - 1)}}`],
            ['POST', `${WS}/connections`, nestedArrays(depth)],
          ] as const) {
            const reply = await app.call(method, url, { body });
            assert4xx(reply, `${method} ${url} ${depth} deep`);
            assert.equal(reply.body.code, 'validation-failed');
            assert.match(reply.body.detail, /64/);
          }
        }
        const deepest = await app.call('POST', `${WS}/connections`, {
          body: `{"connectorId":"gh","name":"deep","type":"http","content":${nested(63)}}`,
        });
        assert.equal(deepest.status, 201, deepest.text);
      });

      it('refuses the NUL character in the path, the query and the body with 400 problem+json', async () => {
        for (const [method, url, body] of [
          ['GET', `${WS}/connectors/a%00b`, undefined],
          ['GET', '/api/v1/workspaces/a%00b', undefined],
          ['DELETE', `${WS}/connectors/a%00b`, undefined],
          ['GET', `${WS}/connectors?cursor=a%00b`, undefined],
          ['POST', `${WS}/connectors`, { id: 'nul', name: 'a\u0000b' }],
        ] as const) {
          const reply = await app.call(method, url, { body });
          assert4xx(reply, `${method} ${url}`);
          assert.equal(reply.body.code, 'validation-failed', reply.text);
        }
      });
    });

    describe('odd input', () => {
      const sane = (reply: { status: number; text: string }, what: string) =>
        assert.ok(reply.status < 500, `${what} answered ${reply.status}: ${reply.text.slice(0, 300)}`);
      const raw = async (method: string, url: string, payload: string | Buffer, headers: Record<string, string>) => {
        const reply = await app.server.inject({ method: method as 'POST', url, payload, headers });
        return { status: reply.statusCode, text: reply.body };
      };
      const bearer = { authorization: `Bearer ${OWNER_KEY}` };
      const short = (body: string | Buffer) => String(body).slice(0, 80);
      let unique = 0;

      it('answers odd JSON, content types and queries on the native API with 2xx or 4xx, never 5xx', async () => {
        for (const body of ODD_BODIES(`"id":"odd${++unique}","connectorId":"gh","type":"http","content":{"k":1}`)) {
          for (const [method, url] of [
            ['POST', `${WS}/connectors`],
            ['POST', `${WS}/connections`],
            ['PATCH', `${WS}/connectors/gh`],
            ['PUT', `${WS}/connectors/gh`],
          ] as const) {
            sane(
              await raw(method, url, body, {
                ...bearer,
                'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
              }),
              `${method} ${url} ${short(body)}`,
            );
          }
        }
        for (const type of ODD_TYPES)
          sane(await raw('POST', `${WS}/connectors`, 'id=x&name=y', { ...bearer, 'content-type': type }), type);
        for (const query of [
          'limit=1e400',
          'limit=99999999999999999999',
          'limit=1&limit=2',
          'cursor=%ED%A0%80',
          'cursor[a]=1',
          'limit[]=1',
          'cursor=%FF',
        ]) {
          sane(await raw('GET', `${WS}/connectors?${query}`, '', bearer), query);
        }
        assert.equal(
          ({} as Record<string, unknown>).isAdmin ?? ({} as Record<string, unknown>).polluted,
          undefined,
          'no prototype was polluted',
        );
      });

      it('answers odd JSON and content types on Versori, Fabric, DevS and the gateway with 2xx or 4xx, never 5xx', async () => {
        for (const body of ODD_BODIES(`"name":"odd${++unique}","baseUrl":"https://a.example"`)) {
          sane(
            await raw('POST', '/o/default/protocols/http/connectors', body, {
              ...bearer,
              'content-type': 'application/json',
            }),
            `Versori ${short(body)}`,
          );
          sane(
            await raw('POST', '/v1/access-clients', body, {
              'x-auth-token': fabricToken,
              'content-type': 'application/json',
            }),
            `Fabric ${short(body)}`,
          );
          sane(
            await injectAcs3(app, alibaba, {
              method: 'POST',
              path: '/2023-07-14/toolsets',
              body: String(body),
              contentType: 'application/json',
            }),
            `DevS ${short(body)}`,
          );
          sane(
            await mcpPost(
              `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":${String(body)}}}`,
            ),
            `gateway ${short(body)}`,
          );
        }
        for (const type of ODD_TYPES) {
          sane(
            await raw('POST', '/o/default/protocols/http/connectors', '{"name":"t"}', {
              ...bearer,
              'content-type': type,
            }),
            `Versori ${type}`,
          );
          sane(
            await raw('POST', '/v1/access-clients', '{"name":"t"}', {
              'x-auth-token': fabricToken,
              'content-type': type,
            }),
            `Fabric ${type}`,
          );
          sane(
            await injectAcs3(app, alibaba, {
              method: 'POST',
              path: '/2023-07-14/toolsets',
              body: '{"name":"t"}',
              contentType: type,
            }),
            `DevS ${type}`,
          );
        }
      });

      it('answers odd values in Model Studio and DataWorks forms with 2xx or 4xx, never 5xx', async () => {
        for (const value of [...ODD_VALUES, '\ud800', 'x'.repeat(100_000)]) {
          const bailian = await injectAcs3(app, alibaba, {
            method: 'POST',
            path: '/default/datacenter/connector',
            contentType: FORM,
            headers: { 'x-acs-action': 'AddConnector', 'x-acs-version': '2023-12-29' },
            body: form({
              ConnectorName: `odd${++unique}`,
              ConnectorType: 'file',
              Description: value.slice(0, 1000),
              FileConnectorConfig: value,
            }),
          });
          sane(bailian, `Model Studio ${value.slice(0, 60)}`);
          const dataworks = await injectAcs3(app, alibaba, {
            method: 'POST',
            path: '/',
            contentType: FORM,
            headers: { 'x-acs-action': 'CreateConnection', 'x-acs-version': '2020-05-18' },
            body: form({
              RegionId: 'cn-shanghai',
              ProjectId: String(projectId),
              Name: `odd${++unique}`,
              ConnectionType: 'postgresql',
              EnvType: '0',
              Content: `{"host":"db","x":${value}}`,
            }),
          });
          sane(dataworks, `DataWorks ${value.slice(0, 60)}`);
        }
        for (const id of ['9999999999999999999', '9007199254740993', '18446744073709551616']) {
          for (const [action, fields] of [
            ['ListConnections', { ProjectId: id }],
            ['DeleteConnection', { ConnectionId: id }],
            ['UpdateConnection', { ConnectionId: id, Content: '{}', EnvType: '0' }],
            ['DeleteConnection', { ConnectionId: id, ProjectId: id }],
          ] as const) {
            const reply = await injectAcs3(app, alibaba, {
              method: 'POST',
              path: '/',
              contentType: FORM,
              headers: { 'x-acs-action': action, 'x-acs-version': '2020-05-18' },
              body: form({ RegionId: 'cn-shanghai', ...fields }),
            });
            sane(reply, `DataWorks ${action} ${JSON.stringify(fields)}`);
          }
        }
      });
    });

    describe('Versori', () => {
      const v = (method: string, url: string, body?: string) =>
        app.call(method, url, { body, contentType: 'application/json' });
      it("refuses JSON nested deeper than 64 with Versori's 400", async () => {
        for (const depth of TOO_DEEP) {
          const reply = await v(
            'POST',
            '/o/default/protocols/http/connectors',
            `{"name":"deep","baseUrl":"https://a.example","x":${nested(depth - 1)}}`,
          );
          assert4xx(reply, `${depth} deep`);
          assert.equal(reply.body.code, 'bad_request');
        }
      });
      it("refuses the NUL character in the path, the query and the body with Versori's 400", async () => {
        for (const [method, url, body] of [
          ['GET', '/o/default/connectors/a%00b', undefined],
          ['GET', '/o/a%00b/connectors', undefined],
          ['GET', '/o/default/connectors?name=a%00b', undefined],
          [
            'POST',
            '/o/default/protocols/http/connectors',
            JSON.stringify({ name: 'a\u0000b', baseUrl: 'https://a.example' }),
          ],
        ] as const) {
          const reply = await v(method, url, body);
          assert4xx(reply, `${method} ${url}`);
          assert.equal(reply.body.code, 'bad_request', reply.text);
        }
      });
    });

    describe('Huawei DataArts Fabric', () => {
      const fabric = (method: string, url: string, body?: string) =>
        app.call(method, url, {
          key: null,
          headers: { 'x-auth-token': fabricToken },
          body,
          contentType: 'application/json',
        });
      it("refuses JSON nested deeper than 64 with Fabric's 400", async () => {
        for (const depth of TOO_DEEP) {
          const reply = await fabric('POST', '/v1/access-clients', `{"name":"deep","x":${nested(depth - 1)}}`);
          assert4xx(reply, `${depth} deep`);
          assert.equal(reply.body.error_code, 'common.01000001');
        }
      });
      it("refuses the NUL character in the path, the query and the body with Fabric's 400", async () => {
        for (const [method, url, body] of [
          ['GET', '/v1/access-clients/a%00b', undefined],
          ['DELETE', '/v1/access-clients/a%00b', undefined],
          ['GET', '/v1/access-clients?name=a%00b', undefined],
          ['POST', '/v1/access-clients', JSON.stringify({ name: 'a\u0000b' })],
        ] as const) {
          const reply = await fabric(method, url, body);
          assert4xx(reply, `${method} ${url}`);
          assert.equal(reply.body.error_code, 'common.01000001', reply.text);
        }
      });
    });

    describe('Model Studio (Bailian)', () => {
      const add = (fields: Record<string, string>, workspace = 'default') =>
        injectAcs3(app, alibaba, {
          method: 'POST',
          path: `/${workspace}/datacenter/connector`,
          contentType: FORM,
          headers: { 'x-acs-action': 'AddConnector', 'x-acs-version': '2023-12-29' },
          body: form({ ConnectorName: 'c', ConnectorType: 'file', Description: 'd', ...fields }),
        });
      it('refuses a FileConnectorConfig nested deeper than 64 with InvalidParameter', async () => {
        for (const depth of TOO_DEEP) {
          const reply = await add({ FileConnectorConfig: nested(depth) });
          assert4xx(reply, `${depth} deep`);
          assert.equal(reply.body.Code, 'InvalidParameter', reply.text);
        }
      });
      it('refuses the NUL character in the path, the query, the form and the JSON inside it with 400', async () => {
        for (const [what, reply] of [
          ['form', await add({ ConnectorName: 'a\u0000b' })],
          ['JSON in the form', await add({ FileConnectorConfig: JSON.stringify({ a: 'x\u0000' }) })],
          ['path', await add({}, 'a%00b')],
          [
            'query',
            await injectAcs3(app, alibaba, {
              method: 'GET',
              path: '/default/datacenter/connector',
              query: { ConnectorName: 'a\u0000b' },
              headers: { 'x-acs-action': 'GetConnector', 'x-acs-version': '2023-12-29' },
            }),
          ],
        ] as const) {
          assert4xx(reply, what);
          assert.equal(reply.body.Code, 'InvalidParameter', reply.text);
          assert.equal(reply.body.Success, false);
        }
      });
    });

    describe('DataWorks', () => {
      const rpc = (action: string, fields: Record<string, string>, query: Record<string, string> = {}) =>
        injectAcs3(app, alibaba, {
          method: 'POST',
          path: '/',
          query,
          contentType: FORM,
          headers: { 'x-acs-action': action, 'x-acs-version': '2020-05-18' },
          body: form({ RegionId: 'cn-shanghai', ProjectId: String(projectId), ...fields }),
        });
      const create = (fields: Record<string, string>) =>
        rpc('CreateConnection', {
          Name: 'pg',
          ConnectionType: 'postgresql',
          EnvType: '0',
          Content: '{"host":"db"}',
          ...fields,
        });
      it('refuses a Content nested deeper than 64 with InvalidParameter', async () => {
        for (const depth of TOO_DEEP) {
          const reply = await create({ Content: `{"x":${nested(depth - 1)}}` });
          assert4xx(reply, `${depth} deep`);
          assert.equal(reply.body.Code, 'InvalidParameter', reply.text);
        }
      });
      it('refuses the NUL character in the query, the form and the JSON inside it with 400', async () => {
        for (const [what, reply] of [
          ['form', await create({ Name: 'a\u0000b' })],
          ['JSON in the form', await create({ Content: JSON.stringify({ host: 'db\u0000' }) })],
          ['query', await rpc('ListConnections', {}, { Name: 'a\u0000b' })],
          [
            'a legacy signature nonce',
            await app.server
              .inject({
                method: 'GET',
                url: '/?Action=ListConnections&AccessKeyId=x&Signature=y&SignatureNonce=a%00b&Timestamp=2026-01-01T00:00:00Z',
              })
              .then((r) => ({ status: r.statusCode, text: r.body, body: JSON.parse(r.body) })),
          ],
          [
            'a legacy access key id',
            await app.server
              .inject({
                method: 'GET',
                url: `/?Action=ListConnections&AccessKeyId=a%00b&Signature=y&SignatureNonce=n&Timestamp=${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')}`,
              })
              .then((r) => ({ status: r.statusCode, text: r.body, body: JSON.parse(r.body) })),
          ],
        ] as const) {
          assert4xx(reply, what);
          assert.equal(reply.body.Code, 'InvalidParameter', reply.text);
          assert.equal(reply.body.Success, false);
        }
      });
    });

    describe('DevS', () => {
      const devs = (method: string, path: string, body?: string, query: Record<string, string> = {}) =>
        injectAcs3(app, alibaba, {
          method,
          path: `/2023-07-14${path}`,
          query,
          body,
          contentType: body === undefined ? undefined : 'application/json',
          headers: { 'x-acs-version': '2023-07-14' },
        });
      it('refuses a body nested deeper than 64 with InvalidParameter', async () => {
        for (const depth of TOO_DEEP) {
          const reply = await devs('POST', '/toolsets', `{"name":"deep","labels":${nested(depth - 1)}}`);
          assert4xx(reply, `${depth} deep`);
          assert.equal(reply.body.Code, 'InvalidParameter', reply.text);
        }
      });
      it('refuses the NUL character in the path, the query and the body with 400', async () => {
        const spec = { schema: { type: 'MCP', detail: 'http://127.0.0.1:9/mcp' } };
        for (const [what, reply] of [
          ['body', await devs('POST', '/toolsets', JSON.stringify({ name: 'nul', description: 'a\u0000b', spec }))],
          ['path', await devs('GET', '/toolsets/a%00b')],
          ['query', await devs('GET', '/toolsets', undefined, { keyword: 'a\u0000b' })],
        ] as const) {
          assert4xx(reply, what);
          assert.equal(reply.body.Code, 'InvalidParameter', reply.text);
        }
      });
    });

    describe('MCP gateway', () => {
      it('refuses a JSON-RPC body nested deeper than 64 with a 400 JSON-RPC error', async () => {
        for (const depth of TOO_DEEP) {
          const reply = await mcpPost(
            `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":${nested(depth - 2)}}}`,
          );
          assert4xx(reply, `${depth} deep`);
          assert.equal(reply.body.jsonrpc, '2.0');
          assert.equal(typeof reply.body.error.code, 'number');
          assert.equal(reply.body.id, null);
        }
        const deepest = await mcpPost(
          `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":${nested(62)}}}`,
        );
        assert.equal(deepest.status, 200, deepest.text);
        assert.equal(deepest.body.result.isError, undefined, deepest.text);
      });
      it('refuses the NUL character in a JSON-RPC body with a 400 JSON-RPC error', async () => {
        const reply = await mcpPost(
          JSON.stringify({
            jsonrpc: '2.0',
            id: 3,
            method: 'tools/call',
            params: { name: 'echo', arguments: { text: 'a\u0000b' } },
          }),
        );
        assert4xx(reply, 'NUL in arguments');
        assert.equal(typeof reply.body.error.code, 'number');
        for (const [method, path] of [
          ['POST', '/mcp/de%00fault/shop'],
          ['POST', '/mcp/default/sh%00op'],
          ['GET', '/sse/default/sh%00op'],
          ['POST', '/sse/default/shop/messages?sessionId=a%00b'],
        ]) {
          const response = await fetch(new URL(path!, mcpUrl), {
            method,
            headers: {
              authorization: `Bearer ${mcpToken}`,
              'content-type': 'application/json',
              accept: 'application/json',
            },
            body: method === 'POST' ? '{"jsonrpc":"2.0","id":1,"method":"ping"}' : undefined,
          });
          assert.ok(response.status >= 400 && response.status < 500, `${method} ${path} answered ${response.status}`);
          await response.body?.cancel();
        }
      });
    });
  });
}
