import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ToolsetTool } from '../domain/toolset.js';
import type { FetchLike } from '../egress/egress-connect.js';
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
  if (typeof url !== 'string' || !/^https?:\/\//i.test(url)) throw new Error('spec.schema.detail: expected the upstream MCP server\'s http(s) URL');
  if (transportType !== 'streamable-http' && transportType !== 'sse') {
    throw new Error('spec.schema.detail: transportType must be "streamable-http" or "sse"');
  }
  return { url, transportType };
}

/**
 * Connects to an upstream MCP server with the official client and lists its tools (every page). `fetch`
 * is the egress policy's (egressFetch): the transports send every request through it.
 */
export async function listUpstreamTools(target: McpTarget, timeoutMs: number, fetch: FetchLike): Promise<ToolsetTool[]> {
  const url = new URL(target.url);
  const transport = target.transportType === 'sse' ? new SSEClientTransport(url, { fetch }) : new StreamableHTTPClientTransport(url, { fetch });
  const client = new Client({ name: 'plugboard-reconciler', version: VERSION_INFO.version });
  const options = { timeout: timeoutMs };
  try {
    await client.connect(transport, options);
    const tools: ToolsetTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor }, options);
      for (const tool of page.tools) {
        tools.push({ name: tool.name, description: tool.description ?? '', inputSchema: tool.inputSchema as Record<string, unknown> });
      }
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  } finally {
    await client.close().catch(() => undefined);
  }
}
