import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { deepSchemaBomb, fanOutBomb, sharedSchemaBomb, yamlAliasBomb } from './support/bomb-documents.js';
import { startLoopProbe } from './support/loop-probe.js';
import { startEndlessMcp } from './support/mcp-upstream.js';
import { ENGINES, OWNER_KEY, startTestApp, type TestApp } from './support/stores.js';

const TOOLSETS = '/api/v1/workspaces/default/toolsets';
const BODY_LIMIT = 1024 * 1024;
// Well above the ~100 ms the node promises, so that two busy shared cores do not make the test flaky.
const MAX_STALL_MS = 250;
const MAX_RSS_GROWTH_MB = 300;

for (const engine of ENGINES) {
  describe(`bounded work [${engine}]`, () => {
    let app: TestApp;
    let base: string;
    before(async () => {
      app = await startTestApp(engine, { env: { RECONCILE_INTERVAL_MS: '3600000', BODY_LIMIT: String(BODY_LIMIT) } });
      await app.server.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(app.server.server.address() as AddressInfo).port}`;
    });
    after(async () => {
      await app?.stop();
    });

    /** A native API call over the socket, as a client on the network makes it. */
    async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
      const text = body === undefined ? undefined : JSON.stringify(body);
      if (text !== undefined) assert.ok(Buffer.byteLength(text) < BODY_LIMIT, `the request body is ${Buffer.byteLength(text)} bytes, over the body limit`);
      const reply = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${OWNER_KEY}`, ...(text === undefined ? {} : { 'content-type': 'application/json' }) },
        body: text,
      });
      return { status: reply.status, body: await reply.json() };
    }

    /** Waits until the toolset's current generation has a status, and returns the toolset. */
    async function settled(name: string, timeoutMs = 60_000): Promise<any> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const reply = await call('GET', `${TOOLSETS}/${name}`);
        assert.equal(reply.status, 200);
        if (reply.body.status.observedGeneration === reply.body.generation) return reply.body;
        if (Date.now() > deadline) throw new Error(`toolset ${name} was not reconciled in ${timeoutMs} ms`);
        // Not faster: each answer carries the whole document, and this client shares the node's event loop.
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }

    it('keeps answering /healthz while bomb documents fail against the conversion limits, memory bounded', async (t) => {
      const bombs = [
        { name: 'shared', detail: sharedSchemaBomb(), message: /262,144 bytes per tool \(TOOLSET_MAX_TOOL_SCHEMA_BYTES\)/ },
        { name: 'fan-out', detail: fanOutBomb(), message: /8,388,608 bytes per toolset \(TOOLSET_MAX_SCHEMA_BYTES\)/ },
        { name: 'deep', detail: deepSchemaBomb(), message: /nested too deeply/ },
        { name: 'laughs', detail: yamlAliasBomb(), message: /YAML aliases/ },
      ];
      const probe = startLoopProbe(base);
      const started = performance.now();
      const results = [];
      try {
        for (const bomb of bombs) {
          const created = await call('POST', TOOLSETS, { name: bomb.name, spec: { schema: { type: 'OpenAPI', detail: bomb.detail } } });
          assert.equal(created.status, 201, JSON.stringify(created.body));
        }
        for (const bomb of bombs) results.push(await settled(bomb.name));
      } finally {
        await probe.stop();
      }
      const report = await probe.stop();
      t.diagnostic(`${report.probes} probes in ${Math.round(performance.now() - started)} ms: /healthz at most ${report.maxHealthzMs.toFixed(1)} ms, loop stalled at most ${report.maxLoopDelayMs.toFixed(1)} ms, RSS +${report.rssGrowthMb.toFixed(0)} MB`);
      for (const [i, bomb] of bombs.entries()) {
        assert.equal(results[i].status.phase, 'Failed', `${bomb.name}: ${results[i].status.message}`);
        assert.match(results[i].status.message, bomb.message, bomb.name);
      }
      assert.ok(report.probes > 5, `only ${report.probes} probes`);
      assert.ok(report.maxHealthzMs < MAX_STALL_MS, `/healthz took ${report.maxHealthzMs} ms`);
      assert.ok(report.maxLoopDelayMs < MAX_STALL_MS, `the event loop stalled for ${report.maxLoopDelayMs} ms`);
      assert.ok(report.rssGrowthMb < MAX_RSS_GROWTH_MB, `RSS grew by ${report.rssGrowthMb} MB`);
    });

    it('stops listing an upstream MCP server that pages forever at the cap, and keeps answering /healthz', async (t) => {
      const endless = await startEndlessMcp();
      try {
        const probe = startLoopProbe(base);
        let toolset;
        try {
          const created = await call('POST', TOOLSETS, { name: 'endless', spec: { schema: { type: 'MCP', detail: endless.url } } });
          assert.equal(created.status, 201, JSON.stringify(created.body));
          toolset = await settled('endless');
        } finally {
          await probe.stop();
        }
        const report = await probe.stop();
        t.diagnostic(`${endless.pagesServed()} pages listed; /healthz at most ${report.maxHealthzMs.toFixed(1)} ms, RSS +${report.rssGrowthMb.toFixed(0)} MB`);
        assert.equal(toolset.status.phase, 'Failed');
        assert.match(toolset.status.message, /more than 100 pages \(MCP_LIST_MAX_PAGES\)/);
        const served = endless.pagesServed();
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.equal(endless.pagesServed(), served, 'the listing goes on after the toolset failed');
        assert.ok(report.maxHealthzMs < MAX_STALL_MS, `/healthz took ${report.maxHealthzMs} ms`);
        assert.ok(report.rssGrowthMb < MAX_RSS_GROWTH_MB, `RSS grew by ${report.rssGrowthMb} MB`);
      } finally {
        await endless.close();
      }
    });
  });
}
