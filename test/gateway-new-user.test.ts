// The "tried as a new user would": import an OpenAPI file with the CLI, create an access client, paste
// the printed MCP URL and token into an MCP client, list and call a tool.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { runCli } from './support/cli-process.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';
import { startUpstreamApi, type UpstreamApi } from './support/upstream-api.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

for (const engine of ENGINES) {
  describe(`a new user wires an agent to an API [${engine}]`, () => {
    let app: TestApp;
    let upstream: UpstreamApi;
    let publicUrl: string;
    before(async () => {
      upstream = await startUpstreamApi();
      const port = await freePort();
      publicUrl = `http://127.0.0.1:${port}`;
      app = await startTestApp(engine, { env: { PUBLIC_URL: publicUrl } });
      await app.server.listen({ port, host: '127.0.0.1' });
    });
    after(async () => {
      await app?.stop();
      await upstream?.close();
    });

    it('imports with the CLI, then lists and calls a tool with the printed MCP URL and an access-client token', async () => {
      const file = join(app.store.env.DATA_DIR!, 'shop.json');
      writeFileSync(file, upstream.document());
      const imported = await runCli(['toolsets', 'import', file, '--name', 'shop'], {
        ...app.store.env,
        PUBLIC_URL: publicUrl,
      });
      assert.equal(imported.code, 0, imported.stderr);
      const mcpUrl = /MCP URL: (\S+)/.exec(imported.stdout)?.[1];
      assert.equal(mcpUrl, `${publicUrl}/mcp/default/shop`);

      const created = await fetch(`${publicUrl}/api/v1/workspaces/default/access-clients`, {
        method: 'POST',
        headers: { authorization: `Bearer ${app.config.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'My agent', toolsets: ['shop'] }),
      });
      assert.equal(created.status, 201);
      const { secret } = (await created.json()) as { secret: string };

      const client = new Client({ name: 'new-user-agent', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(mcpUrl), {
          requestInit: { headers: { Authorization: `Bearer ${secret}` } },
        }),
      );
      try {
        const { tools } = await client.listTools();
        assert.ok(tools.some((t) => t.name === 'getItem'));
        const result = await client.callTool({ name: 'getItem', arguments: { id: 'first' } });
        assert.equal(result.isError, undefined, JSON.stringify(result));
        assert.equal((result.structuredContent as { id: string }).id, 'first');
      } finally {
        await client.close();
      }
    });
  });
}
