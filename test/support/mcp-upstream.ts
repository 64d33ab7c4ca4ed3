// An upstream MCP server made with the official SDK, the documented way: for toolsets of type MCP.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export interface UpstreamMcp {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves a new MCP server from `build` for each request over stateless Streamable HTTP (JSON answers), on
 * 127.0.0.1 and `port` (a free one by default).
 */
async function serveStateless(build: () => Server | McpServer, port = 0): Promise<UpstreamMcp> {
  const server: HttpServer = createServer((request, response) => {
    void (async () => {
      const mcp = build();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      response.on('close', () => void transport.close());
      await mcp.connect(transport);
      let body = '';
      for await (const chunk of request) body += chunk;
      await transport.handleRequest(request, response, body === '' ? undefined : JSON.parse(body));
    })().catch((error: unknown) => response.destroy(error as Error));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/mcp`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A stateless Streamable HTTP MCP server with two tools, on 127.0.0.1 and `port` (a free one by default). */
export function startUpstreamMcp(port = 0): Promise<UpstreamMcp> {
  return serveStateless(() => {
    const mcp = new McpServer({ name: 'upstream', version: '1.0.0' });
    mcp.registerTool(
      'echo',
      { description: 'Echoes the text back', inputSchema: { text: z.string() } },
      async ({ text }) => ({
        content: [{ type: 'text', text }],
      }),
    );
    mcp.registerTool(
      'add',
      { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() } },
      async ({ a, b }) => ({
        content: [{ type: 'text', text: String(a + b) }],
      }),
    );
    return mcp;
  }, port);
}

/**
 * An MCP server that never stops paging: every tools/list answer holds `perPage` new tools and a nextCursor.
 * Counts the pages it served, so a test can see the listing stopped.
 */
export async function startEndlessMcp(perPage = 10): Promise<UpstreamMcp & { pagesServed(): number }> {
  let pages = 0;
  const upstream = await serveStateless(() => {
    const mcp = new Server({ name: 'endless', version: '1.0.0' }, { capabilities: { tools: {} } });
    mcp.setRequestHandler(ListToolsRequestSchema, async (list) => {
      const page = Number(list.params?.cursor ?? 0);
      pages++;
      const tools = Array.from({ length: perPage }, (_, i) => ({
        name: `tool_${page}_${i}`,
        description: 'One more tool',
        inputSchema: { type: 'object' as const, properties: { text: { type: 'string' } } },
      }));
      return { tools, nextCursor: String(page + 1) };
    });
    return mcp;
  });
  return { ...upstream, pagesServed: () => pages };
}
