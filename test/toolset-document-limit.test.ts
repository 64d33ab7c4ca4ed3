// The routes that take an OpenAPI document (native create, replace and patch of a toolset; DevS CreateToolset and
// UpdateToolset) read bodies up to TOOLSET_MAX_DOCUMENT_BYTES, every other route keeps BODY_LIMIT: a document too
// big for BODY_LIMIT imports over HTTP without raising the limit of the whole API.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import DevsModule, * as devs from '@alicloud/devs20230714';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';
import { assertSdkError, createAlibabaKey, listenForSdk, sdkConfig, sdkError } from './support/alibaba.js';

const Devs = DevsModule.default;
const WS = '/api/v1/workspaces/default';
const petstore = readFileSync(new URL('../src/openapi/fixtures/petstore-3.0.yaml', import.meta.url), 'utf8');
const BODY_LIMIT = 256 * 1024;
const DOCUMENT_LIMIT = 1024 * 1024;

/** The petstore, padded with a YAML comment to `bytes`: a valid document of that size. */
const documentOf = (bytes: number) => `${petstore}\n#${'x'.repeat(bytes - Buffer.byteLength(petstore) - 2)}`;

for (const engine of ENGINES) {
  describe(`toolset document body limit [${engine}]`, () => {
    let app: TestApp;
    let endpoint: string;
    const between = documentOf(BODY_LIMIT * 2);
    const over = documentOf(DOCUMENT_LIMIT + 1024);

    before(async () => {
      app = await startTestApp(engine, {
        env: {
          BODY_LIMIT: String(BODY_LIMIT),
          TOOLSET_MAX_DOCUMENT_BYTES: String(DOCUMENT_LIMIT),
          RECONCILE_INTERVAL_MS: '3600000',
        },
      });
      endpoint = await listenForSdk(app);
    });
    after(async () => {
      await app?.stop();
    });

    it('accepts a document over BODY_LIMIT on toolset create, replace and patch', async () => {
      assert.ok(Buffer.byteLength(between) > BODY_LIMIT);
      const spec = { schema: { type: 'OpenAPI', detail: between } };
      const created = await app.call('POST', `${WS}/toolsets`, { body: { name: 'big', spec } });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.spec.schema.detail, between);
      const replaced = await app.call('PUT', `${WS}/toolsets/big`, {
        body: { description: 'replaced', spec: { schema: { type: 'OpenAPI', detail: `${between}\n# put` } } },
        headers: { 'if-match': created.headers.etag as string },
      });
      assert.equal(replaced.status, 200, replaced.text);
      const patched = await app.call('PATCH', `${WS}/toolsets/big`, {
        body: { spec: { schema: { type: 'OpenAPI', detail: `${between}\n# patched` } } },
      });
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.body.generation, 3);
    });

    it('keeps BODY_LIMIT on every other route, and says which limit a 413 is about', async () => {
      const body = JSON.stringify({ name: 'big-connector', description: between });
      for (const [method, url] of [
        ['POST', `${WS}/connectors`],
        ['POST', `${WS}/access-clients`],
        ['POST', `${WS}/toolsets/big/tools/listPets/call`],
      ] as const) {
        const reply = await app.call(method, url, { body });
        assert.equal(reply.status, 413, `${method} ${url}: ${reply.text}`);
        assert.equal(reply.body.code, 'payload-too-large');
        assert.match(reply.body.detail, /262,144 bytes.*\(BODY_LIMIT\)/);
      }
    });

    it('refuses a body over TOOLSET_MAX_DOCUMENT_BYTES with 413 naming that limit', async () => {
      const spec = { schema: { type: 'OpenAPI', detail: over } };
      for (const [method, url, body] of [
        ['POST', `${WS}/toolsets`, { name: 'huge', spec }],
        ['PUT', `${WS}/toolsets/big`, { spec }],
        ['PATCH', `${WS}/toolsets/big`, { spec }],
      ] as const) {
        const reply = await app.call(method, url, { body });
        assert.equal(reply.status, 413, `${method} ${url}: ${reply.text}`);
        assert.equal(reply.body.code, 'payload-too-large');
        assert.match(reply.body.detail, /1,048,576 bytes.*\(TOOLSET_MAX_DOCUMENT_BYTES\)/);
      }
      assert.equal((await app.call('GET', `${WS}/toolsets/huge`)).status, 404);
    });

    it('refuses a DevS document request that is not signed by a known key before reading its body', async () => {
      // DevS signs the body's hash, so its body is read before the request is authenticated: on the routes that take
      // up to TOOLSET_MAX_DOCUMENT_BYTES, anyone could make the node read that much. The signature itself covers only
      // the headers (the declared hash among them), so it is checked first; the body's hash once it has arrived.
      const pair = await createAlibabaKey(app, 'editor');
      for (const authorization of [
        undefined,
        `ACS3-HMAC-SHA256 Credential=${pair.id},SignedHeaders=host;x-acs-date,Signature=${'0'.repeat(64)}`,
        `ACS3-HMAC-SHA256 Credential=LTAInobody,SignedHeaders=host;x-acs-date,Signature=${'0'.repeat(64)}`,
      ]) {
        const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const url = new URL('/2023-07-14/toolsets', `http://${endpoint}`);
          const request = httpRequest(url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'content-length': String(DOCUMENT_LIMIT - 1024),
              'x-acs-action': 'CreateToolset',
              'x-acs-version': '2023-07-14',
              'x-acs-date': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
              'x-acs-signature-nonce': `nonce-${Math.random()}`,
              'x-acs-content-sha256': '0'.repeat(64),
              ...(authorization === undefined ? {} : { authorization }),
            },
          });
          request.on('response', (response) => {
            let body = '';
            response.on('data', (chunk: Buffer) => (body += chunk.toString()));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
          });
          // The client never sends the rest of the body: only an answer given before it can arrive.
          request.on('error', reject);
          request.write('{"name":"x",');
          setTimeout(() => {
            request.destroy();
            reject(new Error(`no answer before the body (${authorization ?? 'no Authorization'})`));
          }, 10_000).unref();
        });
        assert.ok(answer.status >= 400 && answer.status < 500, `${answer.status} ${answer.body}`);
      }
    });

    it('gives DevS CreateToolset and UpdateToolset the document limit too', async () => {
      const client = new Devs(sdkConfig(endpoint, await createAlibabaKey(app, 'editor')));
      const spec = (detail: string) =>
        new devs.ToolsetSpec({ schema: new devs.ToolsetSchema({ type: 'OpenAPI', detail }) });
      const created = await client.createToolsetWithOptions(
        new devs.CreateToolsetRequest({ body: new devs.Toolset({ name: 'devs-big', spec: spec(between) }) }),
        {},
        {} as never,
      );
      assert.equal(created.statusCode, 200);
      const updated = await client.updateToolsetWithOptions(
        'devs-big',
        new devs.UpdateToolsetRequest({ body: new devs.Toolset({ spec: spec(`${between}\n# updated`) }) }),
        {},
        {} as never,
      );
      assert.equal(updated.statusCode, 200);
      const error = await sdkError(() =>
        client.createToolsetWithOptions(
          new devs.CreateToolsetRequest({ body: new devs.Toolset({ name: 'devs-huge', spec: spec(over) }) }),
          {},
          {} as never,
        ),
      );
      assertSdkError(error, 413, 'RequestEntityTooLarge');
      assert.match(error.message, /TOOLSET_MAX_DOCUMENT_BYTES/);
    });
  });
}
