// mcp-remote (the stdio bridge Claude Desktop and others start) completes its OAuth flow against plugboard: it
// registers itself, prints the authorization URL (its browser is `true`, so nothing opens), a person in headless
// Chromium signs in and approves, mcp-remote's own callback server takes the code, and tools are listed and
// called through the bridge.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { freePort } from './support/oauth-flow.js';
import { inviteAndJoin } from './support/people.js';
import { ENGINES, startTestApp, type TestApp } from './support/stores.js';
import { settledToolset } from './support/toolsets.js';
import { startUpstreamApi, type UpstreamApi } from './support/upstream-api.js';

const PERSON = { email: 'remote@example.com', password: 'a long enough password', role: 'editor' };
const MCP_REMOTE = join(createRequire(import.meta.url).resolve('mcp-remote/package.json'), '..', 'dist', 'proxy.js');

for (const engine of ENGINES) {
  describe(`mcp-remote connects with OAuth [${engine}]`, () => {
    let app: TestApp;
    let upstream: UpstreamApi;
    let chromium: Browser;
    let base: string;
    let bridge: ChildProcessWithoutNullStreams | undefined;
    const configDir = mkdtempSync(join(tmpdir(), 'mcp-remote-'));

    before(async () => {
      upstream = await startUpstreamApi();
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      app = await startTestApp(engine, { env: { PUBLIC_URL: base } });
      await app.server.listen({ port, host: '127.0.0.1' });
      const created = await app.call('POST', '/api/v1/workspaces/default/toolsets', {
        body: { name: 'shop', spec: { schema: { type: 'OpenAPI', detail: upstream.document() } } },
      });
      assert.equal(created.status, 201, created.text);
      await settledToolset(app, 'shop');
      await inviteAndJoin(app, { ...PERSON, origin: base });
      chromium = await launchChromium();
    });

    after(async () => {
      bridge?.kill('SIGTERM');
      await chromium?.close();
      await app?.stop();
      await upstream?.close();
      rmSync(configDir, { recursive: true, force: true });
    });

    it('completes the authorization with a person in Chromium, then lists and calls tools', async () => {
      const callbackPort = await freePort();
      bridge = spawn(process.execPath, [MCP_REMOTE, `${base}/mcp/default/shop`, String(callbackPort)], {
        env: { PATH: process.env.PATH ?? '', HOME: configDir, MCP_REMOTE_CONFIG_DIR: configDir, BROWSER: 'true' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      const authorizationUrl = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no authorization URL from mcp-remote:\n${stderr}`)), 30_000);
        bridge!.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          const match = /Please authorize this client by visiting:\s*(\S+)/.exec(stderr);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        bridge!.once('exit', (code) => reject(new Error(`mcp-remote exited (${code}):\n${stderr}`)));
      });
      const url = new URL(authorizationUrl);
      assert.equal(url.origin + url.pathname, `${base}/oauth/authorize`);
      assert.equal(url.searchParams.get('code_challenge_method'), 'S256');

      const context = await chromium.newContext();
      const page = await context.newPage();
      await page.goto(authorizationUrl);
      await page.fill('#email', PERSON.email);
      await page.fill('#password', PERSON.password);
      await Promise.all([page.waitForURL(/\/oauth\/interaction\//), page.click('button[type=submit]')]);
      await Promise.all([
        page.waitForURL(new RegExp(`^http://(localhost|127\\.0\\.0\\.1):${callbackPort}/`)),
        page.click('#approve'),
      ]);
      await context.close();

      const lines = createInterface({ input: bridge.stdout });
      const answers = new Map<number, Record<string, unknown>>();
      const waiting = new Map<number, (answer: Record<string, unknown>) => void>();
      lines.on('line', (line) => {
        const message = JSON.parse(line) as { id?: number };
        if (typeof message.id !== 'number') return;
        const waiter = waiting.get(message.id);
        if (waiter) waiter(message);
        else answers.set(message.id, message);
      });
      const request = (id: number, method: string, params: unknown) => {
        bridge!.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
        return new Promise<Record<string, unknown>>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no answer to ${method}:\n${stderr}`)), 30_000);
          const done = (answer: Record<string, unknown>) => {
            clearTimeout(timer);
            resolve(answer);
          };
          const already = answers.get(id);
          if (already) done(already);
          else waiting.set(id, done);
        });
      };
      const initialized = await request(1, 'initialize', {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'stdio-host', version: '1' },
      });
      assert.ok(initialized.result, JSON.stringify(initialized));
      bridge.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
      const listed = (await request(2, 'tools/list', {})) as { result?: { tools: { name: string }[] } };
      assert.ok(
        listed.result?.tools.some((t) => t.name === 'getItem'),
        JSON.stringify(listed),
      );
      const called = (await request(3, 'tools/call', { name: 'getItem', arguments: { id: 'first' } })) as {
        result?: { structuredContent?: { id?: string } };
      };
      assert.equal(called.result?.structuredContent?.id, 'first', JSON.stringify(called));

      const grants = await app.call('GET', '/api/v1/workspaces/default/oauth-grants');
      assert.equal(grants.body.items.length, 1, 'one grant, for the bridge');
    });
  });
}
