import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LimitExceeded } from '../src/services/limit-exceeded.js';
import { listUpstreamTools, type ListingCaps } from '../src/services/mcp-upstream.js';
import { egressFetch } from '../src/egress/egress-connect.js';
import { defaultEgress } from './support/egress.js';
import { startEndlessMcp, startUpstreamMcp, type UpstreamMcp } from './support/mcp-upstream.js';

const roomy: ListingCaps = { maxPages: 100_000, maxTools: 1_000_000, maxBytes: 2 ** 40, timeoutMs: 60_000 };

describe("listing an upstream MCP server's tools", () => {
  let endless: UpstreamMcp;
  let plain: UpstreamMcp;
  before(async () => {
    endless = await startEndlessMcp(10);
    plain = await startUpstreamMcp();
  });
  after(async () => {
    await endless?.close();
    await plain?.close();
  });

  const list = (upstream: UpstreamMcp, caps: Partial<ListingCaps>) =>
    listUpstreamTools(
      { url: upstream.url, transportType: 'streamable-http' },
      5000,
      { ...roomy, ...caps },
      egressFetch(defaultEgress),
    );

  async function limitOf(promise: Promise<unknown>): Promise<LimitExceeded> {
    const error = await promise.then(
      () => assert.fail('listed in full'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof LimitExceeded, String(error));
    return error;
  }

  it('lists every page of an upstream within the caps', async () => {
    assert.deepEqual((await list(plain, { maxPages: 1, maxTools: 2 })).map((t) => t.name).sort(), ['add', 'echo']);
  });

  it('stops at the page, tool, byte and time caps, naming each', async () => {
    const pages = await limitOf(list(endless, { maxPages: 3 }));
    assert.deepEqual(
      [pages.limit, pages.message],
      ['mcpListMaxPages', 'the upstream MCP server lists its tools on more than 3 pages'],
    );
    const tools = await limitOf(list(endless, { maxTools: 25 }));
    assert.deepEqual(
      [tools.limit, tools.message],
      ['mcpListMaxTools', 'the upstream MCP server lists more than 25 tools'],
    );
    const bytes = await limitOf(list(endless, { maxBytes: 2000 }));
    assert.deepEqual(
      [bytes.limit, bytes.message],
      ['mcpListMaxBytes', "the upstream MCP server's tools are more than 2,000 bytes"],
    );
    const time = await limitOf(list(endless, { timeoutMs: 300 }));
    assert.deepEqual(
      [time.limit, time.message],
      ['mcpListTimeoutMs', "listing the upstream MCP server's tools took longer than 300 ms"],
    );
  });
});
