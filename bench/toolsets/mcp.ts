/**
 * Just enough of an MCP client over Streamable HTTP to count what plugboard's gateway sends: initialize, then
 * requests whose answers are returned as raw text (JSON, or one SSE event) with their size and time.
 */
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';

export interface McpAnswer {
  readonly bytes: number;
  readonly ms: number;
  readonly result: Record<string, unknown>;
}

export interface McpSession {
  request(method: string, params: Record<string, unknown>): Promise<McpAnswer>;
}

export async function openMcpSession(url: string, token: string): Promise<McpSession> {
  const base = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  let id = 0;
  let headers: Record<string, string> = base;
  const post = async (body: unknown) => {
    const started = performance.now();
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await response.text();
    return { response, text, ms: performance.now() - started };
  };
  const init = await post({
    jsonrpc: '2.0',
    id: ++id,
    method: 'initialize',
    params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
  });
  if (init.response.status !== 200) throw new Error(`initialize answered ${init.response.status}: ${init.text}`);
  const session = init.response.headers.get('mcp-session-id');
  headers = {
    ...base,
    'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
    ...(session === null ? {} : { 'mcp-session-id': session }),
  };
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return {
    async request(method, params) {
      const { response, text, ms } = await post({ jsonrpc: '2.0', id: ++id, method, params });
      if (response.status !== 200) throw new Error(`${method} answered ${response.status}: ${text.slice(0, 300)}`);
      // An SSE answer carries the JSON-RPC message in its data lines.
      const json = (response.headers.get('content-type') ?? '').startsWith('text/event-stream')
        ? text
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trim())
            .join('')
        : text;
      const message = JSON.parse(json) as { result?: Record<string, unknown>; error?: unknown };
      if (message.result === undefined) throw new Error(`${method} failed: ${JSON.stringify(message.error)}`);
      return { bytes: Buffer.byteLength(json), ms, result: message.result };
    },
  };
}
