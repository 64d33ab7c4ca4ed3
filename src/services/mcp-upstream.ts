import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ToolsetTool } from '../domain/toolset.js';

/** A tool an upstream MCP server lists. */
export interface UpstreamTool extends ToolsetTool {
  readonly inputSchema: Readonly<Record<string, unknown>>;
}
import type { FetchLike } from '../egress/egress-connect.js';
import { formatCount } from '../openapi/conversion-limits.js';
import { LimitExceeded } from './limit-exceeded.js';
import { VERSION_INFO } from './version-info.js';

/** An upstream MCP server as a toolset of type MCP names it. */
export interface McpTarget {
  readonly url: string;
  readonly transportType: 'streamable-http' | 'sse';
}

/** Reads `spec.schema.detail` of an MCP toolset: a URL, or JSON `{"url", "transportType"}`. */
export function parseMcpTarget(detail: string): McpTarget {
  const text = detail.trim();
  let url: unknown = text;
  let transportType: unknown = 'streamable-http';
  if (text.startsWith('{')) {
    const parsed = JSON.parse(text) as { url?: unknown; transportType?: unknown };
    url = parsed.url;
    transportType = parsed.transportType ?? 'streamable-http';
  }
  if (typeof url !== 'string' || !/^https?:\/\//i.test(url))
    throw new Error("spec.schema.detail: expected the upstream MCP server's http(s) URL");
  if (transportType !== 'streamable-http' && transportType !== 'sse') {
    throw new Error('spec.schema.detail: transportType must be "streamable-http" or "sse"');
  }
  return { url, transportType };
}

/** How far a listing goes: an upstream may page forever, or send ever larger pages. */
export interface ListingCaps {
  readonly maxPages: number;
  readonly maxTools: number;
  /** JSON bytes of all the tools listed. */
  readonly maxBytes: number;
  /** The whole listing, connecting included. */
  readonly timeoutMs: number;
}

/**
 * Connects to an upstream MCP server with the official client and lists its tools, page after page up to `caps`
 * (past one: {@link LimitExceeded}); `timeoutMs` bounds each request. `fetch` is the egress policy's
 * (egressFetch): the transports send every request through it.
 */
export async function listUpstreamTools(
  target: McpTarget,
  timeoutMs: number,
  caps: ListingCaps,
  fetch: FetchLike,
): Promise<UpstreamTool[]> {
  const url = new URL(target.url);
  const transport =
    target.transportType === 'sse'
      ? new SSEClientTransport(url, { fetch })
      : new StreamableHTTPClientTransport(url, { fetch });
  const client = new Client({ name: 'plugboard-reconciler', version: VERSION_INFO.version });
  const deadline = Date.now() + caps.timeoutMs;
  // Each request may take what is left of the listing's time, and at most `timeoutMs`.
  const options = () => ({ timeout: Math.max(1, Math.min(timeoutMs, deadline - Date.now())) });
  try {
    await client.connect(transport, options());
    return await listPages(client, options, caps);
  } catch (error) {
    if (Date.now() >= deadline)
      throw new LimitExceeded(
        'mcpListTimeoutMs',
        `listing the upstream MCP server's tools took longer than ${formatCount(caps.timeoutMs)} ms`,
      );
    throw error;
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function listPages(
  client: Client,
  options: () => { timeout: number },
  caps: ListingCaps,
): Promise<UpstreamTool[]> {
  const tools: UpstreamTool[] = [];
  let bytes = 0;
  let cursor: string | undefined;
  for (let pages = 0; pages === 0 || cursor; pages++) {
    if (pages === caps.maxPages)
      throw new LimitExceeded(
        'mcpListMaxPages',
        `the upstream MCP server lists its tools on more than ${formatCount(caps.maxPages)} pages`,
      );
    const page = await client.listTools(cursor === undefined ? {} : { cursor }, options());
    for (const tool of page.tools) {
      if (tools.length === caps.maxTools)
        throw new LimitExceeded(
          'mcpListMaxTools',
          `the upstream MCP server lists more than ${formatCount(caps.maxTools)} tools`,
        );
      bytes += Buffer.byteLength(JSON.stringify(tool));
      if (bytes > caps.maxBytes)
        throw new LimitExceeded(
          'mcpListMaxBytes',
          `the upstream MCP server's tools are more than ${formatCount(caps.maxBytes)} bytes`,
        );
      tools.push({
        name: tool.name,
        description: tool.description ?? '',
        inputSchema: tool.inputSchema,
      });
    }
    cursor = page.nextCursor;
  }
  return tools;
}
