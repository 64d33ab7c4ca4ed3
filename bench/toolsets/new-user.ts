/**
 * The issue's "tried as a new user would", on the published documents: once Microsoft Graph (or DocuSign) is
 * imported, an MCP client (the official SDK's `Client` over Streamable HTTP) lists the tools, asks `search_tools`
 * for what a person would ask ("list my calendar events"), reads the operation with `describe_tool` and calls it with
 * `call_tool`. The toolset's baseUrl points at a local upstream this module runs, which records what it receives,
 * so the bench can check the method, the path and the stored credential the call carried, and the answer.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** One request a new user makes of one API, and what should answer it. */
export interface NewUserScenario {
  readonly request: string;
  /** `METHOD /path` of the operations that answer it, as the document writes them. */
  readonly answers: readonly string[];
  /** The path the document's server URL has, kept under the local upstream (Graph's `/v1.0`). */
  readonly basePath: string;
  /** What the agent passes: the tool's required arguments and one optional one. */
  readonly arguments: Readonly<Record<string, unknown>>;
  /** The query the upstream must see, as its parameters. */
  readonly query: Readonly<Record<string, string>>;
  /** The path the upstream must see, under `basePath`, for each answer (its parameters filled in). */
  readonly paths: Readonly<Record<string, string>>;
}

export const NEW_USER_SCENARIOS: Readonly<Record<string, NewUserScenario>> = {
  graph: {
    request: 'list my calendar events',
    answers: ['GET /me/events', 'GET /me/calendar/events'],
    basePath: '/v1.0',
    arguments: { $top: 3 },
    query: { $top: '3' },
    paths: { 'GET /me/events': '/me/events', 'GET /me/calendar/events': '/me/calendar/events' },
  },
  docusign: {
    request: 'list envelopes',
    answers: ['GET /v2.1/accounts/{accountId}/envelopes'],
    basePath: '/restapi',
    arguments: { accountId: 'acct-7', from_date: '2026-11-30' },
    query: { from_date: '2026-11-30' },
    paths: { 'GET /v2.1/accounts/{accountId}/envelopes': '/v2.1/accounts/acct-7/envelopes' },
  },
};

/** What the upstream answers every request with, so that the bench can see it come back through the gateway. */
export const UPSTREAM_ANSWER = { value: [{ id: 'bench-1', subject: 'answered by the bench upstream' }] };

export interface SeenCall {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export interface RecordingUpstream {
  readonly url: string;
  readonly seen: SeenCall[];
  close(): Promise<void>;
}

/** A local HTTP server standing for the API: records each request and answers `UPSTREAM_ANSWER`. */
export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const seen: SeenCall[] = [];
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(UPSTREAM_ANSWER));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The toolset spec fields that send its calls to the recording upstream with a stored bearer credential. */
export function upstreamSpec(upstream: RecordingUpstream, scenario: NewUserScenario | undefined, credential: string) {
  return {
    baseUrl: `${upstream.url}${scenario?.basePath ?? ''}`,
    authConfig: {
      type: 'APIKey',
      parameters: { apiKeyParameter: { in: 'header', key: 'Authorization', value: `Bearer ${credential}` } },
    },
  };
}

export interface WalkStep {
  readonly step: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface NewUserWalk {
  readonly api: string;
  readonly request: string;
  readonly steps: readonly WalkStep[];
  /** 1-based rank of the first right answer among search_tools' results (default limit), or null. */
  readonly rank: number | null;
  readonly listBytes: number;
  readonly describeBytes: number;
  readonly ms: number;
}

const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/**
 * The walk: connect, tools/list, search_tools, describe_tool, call_tool; each step checked. Stops at the first
 * step it cannot go past (no tool found, an error), saying why.
 */
export async function walkNewUser(options: {
  readonly api: string;
  readonly scenario: NewUserScenario;
  readonly mcpUrl: string;
  readonly secret: string;
  readonly credential: string;
  readonly upstream: RecordingUpstream;
  /** The server's TOOL_SCHEMA_BUDGET_BYTES: the described schema must be within it. */
  readonly schemaBudget: number;
}): Promise<NewUserWalk> {
  const { api, scenario, upstream } = options;
  const started = performance.now();
  const steps: WalkStep[] = [];
  const step = (name: string, ok: boolean, detail: string) => steps.push({ step: name, ok, detail });
  let rank: number | null = null;
  let listBytes = 0;
  let describeBytes = 0;
  const client = new Client({ name: 'bench-new-user', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(options.mcpUrl), {
    requestInit: { headers: { authorization: `Bearer ${options.secret}` } },
  });
  try {
    await client.connect(transport);
    const { tools, nextCursor } = await client.listTools();
    listBytes = bytesOf({ tools, ...(nextCursor === undefined ? {} : { nextCursor }) });
    const listed = tools.map((t) => t.name);
    const dynamic = listed.join() === 'search_tools,describe_tool,call_tool' && nextCursor === undefined;
    step('tools/list', dynamic, `${listed.length} tools (${listed.join(', ')}), ${listBytes} bytes`);
    if (!dynamic) return done();

    const search = (await client.callTool({
      name: 'search_tools',
      arguments: { query: scenario.request },
    })) as CallToolResult;
    const found = ((search.structuredContent as { tools?: { name: string; method?: string; path?: string }[] })
      ?.tools ?? []) as { name: string; method?: string; path?: string }[];
    const at = found.findIndex((t) => scenario.answers.includes(`${t.method} ${t.path}`));
    rank = at < 0 ? null : at + 1;
    const hit = at < 0 ? undefined : found[at];
    step(
      'search_tools',
      hit !== undefined,
      `"${scenario.request}": ${found.length} results, ${hit === undefined ? 'none of them the expected operation' : `${hit.name} (${hit.method} ${hit.path}) at rank ${rank}`}; first: ${found
        .slice(0, 3)
        .map((t) => `${t.name} (${t.method} ${t.path})`)
        .join(', ')}`,
    );
    if (hit === undefined) return done();

    const described = (await client.callTool({
      name: 'describe_tool',
      arguments: { name: hit.name },
    })) as CallToolResult;
    const schema = (described.structuredContent as { inputSchema?: { required?: string[] } } | undefined)?.inputSchema;
    describeBytes = bytesOf(described);
    const required = schema?.required ?? [];
    const fits = required.every((name) => Object.hasOwn(scenario.arguments, name));
    const schemaBytes = bytesOf(schema ?? {});
    const valid = schema !== undefined && isValidSchema(schema);
    step(
      'describe_tool',
      valid && described.isError !== true && fits && schemaBytes <= options.schemaBudget,
      `${hit.name}: ${describeBytes} bytes (input schema ${schemaBytes} bytes, budget ${options.schemaBudget}, ${valid ? 'valid' : 'NOT valid'} JSON Schema 2020-12), required: ${required.join(', ') || 'none'}`,
    );
    if (!fits) return done();

    const before = upstream.seen.length;
    const called = (await client.callTool({
      name: 'call_tool',
      arguments: { name: hit.name, arguments: scenario.arguments },
    })) as CallToolResult;
    const seen = upstream.seen.slice(before);
    const request = seen[0];
    const url = new URL(request?.url ?? '/', 'http://upstream');
    const answer = `${hit.method} ${hit.path}`;
    const expectedPath = `${scenario.basePath}${scenario.paths[answer] ?? ''}`;
    const query = Object.fromEntries(url.searchParams);
    const checks: [string, boolean][] = [
      ['one upstream request', seen.length === 1],
      [`method ${hit.method}`, request?.method === hit.method],
      [`path ${expectedPath}`, url.pathname === expectedPath],
      [`query ${JSON.stringify(scenario.query)}`, JSON.stringify(query) === JSON.stringify(scenario.query)],
      ['the stored credential as a bearer header', request?.headers.authorization === `Bearer ${options.credential}`],
      ['the upstream answer back', JSON.stringify(called.structuredContent) === JSON.stringify(UPSTREAM_ANSWER)],
      ['no error', called.isError !== true],
    ];
    const failed = checks.filter(([, ok]) => !ok).map(([what]) => what);
    step(
      'call_tool',
      failed.length === 0,
      `${request === undefined ? 'nothing reached the upstream' : `upstream saw ${request.method} ${request.url}`}, answer ${bytesOf(called)} bytes${failed.length === 0 ? '' : `; wrong: ${failed.join(', ')}`}`,
    );
    return done();
  } catch (error) {
    step('error', false, error instanceof Error ? error.message.slice(0, 300) : String(error));
    return done();
  } finally {
    await client.close().catch(() => undefined);
  }

  function done(): NewUserWalk {
    return {
      api,
      request: scenario.request,
      steps,
      rank,
      listBytes,
      describeBytes,
      ms: performance.now() - started,
    };
  }
}

/** Whether a strict JSON Schema 2020-12 validator compiles the schema (formats aside: Ajv knows few of them). */
function isValidSchema(schema: object): boolean {
  try {
    new Ajv2020({ strict: true, validateFormats: false }).compile(schema);
    return true;
  } catch {
    return false;
  }
}
