// A toolset's MCP URL is built each time it is read, on the node that serves it: PUBLIC_URL when set, the Host
// the caller used otherwise. No URL is stored, so a toolset converted by a CLI run with other settings, or a row
// written by an older version, reads with the serving node's URL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './support/cli-process.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';

const TOOLSETS = '/api/v1/workspaces/default/toolsets';
const PETSTORE = 'src/openapi/fixtures/petstore-3.0.yaml';
const PUBLIC_URL = 'https://pb.example.com';
const petstoreSpec = {
  schema: { type: 'OpenAPI', detail: 'openapi: 3.0.3\ninfo: {title: t, version: "1"}\npaths: {}\n' },
};

/** The status JSON as stored in the toolset's row. */
async function storedStatus(app: TestApp, name: string): Promise<string> {
  const row = await app.db.kysely
    .selectFrom('toolsets')
    .select('status')
    .where('workspace_id', '=', 'default')
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
  return row.status;
}

/** Puts URLs into a stored status, as versions that stored them left rows. */
async function storeOldUrls(app: TestApp, name: string, url: string): Promise<void> {
  const status = JSON.parse(await storedStatus(app, name));
  status.outputs = {
    ...status.outputs,
    urls: { internetUrl: url, intranetUrl: url },
    mcpServerConfig: { url, transportType: 'streamable-http', headers: {} },
  };
  await app.db.kysely
    .updateTable('toolsets')
    .set({ status: JSON.stringify(status) })
    .where('workspace_id', '=', 'default')
    .where('name', '=', name)
    .execute();
}

const urlsOf = (toolset: any) => [
  toolset.status.outputs.mcpServerConfig.url,
  toolset.status.outputs.urls.internetUrl,
  toolset.status.outputs.urls.intranetUrl,
];

for (const engine of ENGINES) {
  describe(`toolset MCP URLs with PUBLIC_URL [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine, { env: { PUBLIC_URL, RECONCILE_INTERVAL_MS: '3600000' } });
    });
    after(async () => {
      await app?.stop();
    });

    it('gives the URL on PUBLIC_URL on create, get and list, and stores none', async () => {
      const created = await app.call('POST', TOOLSETS, {
        body: { name: 'plain', spec: petstoreSpec },
        headers: { host: 'other.example:1234' },
      });
      assert.equal(created.status, 201, created.text);
      const expected = `${PUBLIC_URL}/mcp/default/plain`;
      assert.deepEqual(urlsOf(created.body), [expected, expected, expected]);
      assert.deepEqual(
        urlsOf((await app.call('GET', `${TOOLSETS}/plain`, { headers: { host: 'other.example:1234' } })).body),
        [expected, expected, expected],
      );
      const listed = (await app.call('GET', TOOLSETS)).body.items.find((t: any) => t.name === 'plain');
      assert.deepEqual(urlsOf(listed), [expected, expected, expected]);
      const stored = await storedStatus(app, 'plain');
      assert.ok(!stored.includes('/mcp/'), `a URL is stored: ${stored}`);
    });

    it('reads a URL an older version stored as the URL of this node', async () => {
      await storeOldUrls(app, 'plain', 'http://127.0.0.1:8080/mcp/default/plain');
      const expected = `${PUBLIC_URL}/mcp/default/plain`;
      assert.deepEqual(urlsOf((await app.call('GET', `${TOOLSETS}/plain`)).body), [expected, expected, expected]);
      const listed = (await app.call('GET', TOOLSETS)).body.items.find((t: any) => t.name === 'plain');
      assert.deepEqual(urlsOf(listed), [expected, expected, expected]);
      const patched = await app.call('PATCH', `${TOOLSETS}/plain`, { body: { description: 'touched' } });
      assert.deepEqual(urlsOf(patched.body), [expected, expected, expected]);
    });

    it("serves a toolset imported by a CLI run without the server's settings with the server's URL", async () => {
      // No PUBLIC_URL, no PORT: the command can only guess where the server is, and that guess is not kept.
      const run = await runCli(['toolsets', 'import', PETSTORE, '--name', 'imported'], app.store.env);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /MCP URL: http:\/\/127\.0\.0\.1:8080\/mcp\/default\/imported/);
      const stored = await storedStatus(app, 'imported');
      assert.ok(!stored.includes('127.0.0.1'), `the CLI's URL is stored: ${stored}`);
      const expected = `${PUBLIC_URL}/mcp/default/imported`;
      assert.deepEqual(urlsOf((await app.call('GET', `${TOOLSETS}/imported`)).body), [expected, expected, expected]);
      const withPublicUrl = await runCli(['toolsets', 'import', PETSTORE, '--name', 'imported'], {
        ...app.store.env,
        PUBLIC_URL: 'https://cli.example.com/',
      });
      assert.equal(withPublicUrl.code, 0, withPublicUrl.stderr);
      assert.match(withPublicUrl.stdout, /MCP URL: https:\/\/cli\.example\.com\/mcp\/default\/imported\n/);
    });
  });

  describe(`toolset MCP URLs without PUBLIC_URL [${engine}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(engine, { env: { RECONCILE_INTERVAL_MS: '3600000' } });
      assert.equal((await app.call('POST', TOOLSETS, { body: { name: 'plain', spec: petstoreSpec } })).status, 201);
      await storeOldUrls(app, 'plain', 'https://stale.example.com/mcp/default/plain');
    });
    after(async () => {
      await app?.stop();
    });

    it('builds the URL on the Host the caller used', async () => {
      const read = await app.call('GET', `${TOOLSETS}/plain`, { headers: { host: 'plugboard.lan:9000' } });
      assert.equal(read.status, 200, read.text);
      const expected = 'http://plugboard.lan:9000/mcp/default/plain';
      assert.deepEqual(urlsOf(read.body), [expected, expected, expected]);
      const ipv6 = await app.call('GET', `${TOOLSETS}/plain`, { headers: { host: '[::1]:8080' } });
      assert.equal(ipv6.body.status.outputs.mcpServerConfig.url, 'http://[::1]:8080/mcp/default/plain');
    });

    it("falls back to the node's own address for a Host that is no host name", async () => {
      for (const host of ['evil.example/x?', 'a b', 'user@evil.example', 'evil.example:99999999']) {
        const read = await app.call('GET', `${TOOLSETS}/plain`, { headers: { host } });
        assert.equal(read.status, 200, read.text);
        assert.equal(read.body.status.outputs.mcpServerConfig.url, 'http://127.0.0.1:8080/mcp/default/plain', host);
      }
    });
  });
}
