/**
 * The load of `bench:gateway`: raw requests over keep-alive connections with autocannon (the upstream's
 * `POST /echo`, or JSON-RPC `tools/call` where each connection first opens its own MCP session), 32 official
 * SDK clients each calling the tool in a loop, and sequential calls on one connection timed in microseconds.
 * Every call carries a value no other call carries, and every answer is checked to hold the value its own
 * request sent: an answer holding another one is a reply delivered to the wrong caller (misrouted).
 */
import { Agent, request as httpRequest } from 'node:http';
import autocannon from 'autocannon';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** What the load talks to: the upstream itself, or an MCP endpoint with its tool. */
export type Target =
  | { readonly kind: 'direct'; readonly url: string }
  | {
      readonly kind: 'mcp';
      readonly url: string;
      readonly headers: Readonly<Record<string, string>>;
      readonly tool: string;
    };

/** Outcomes of the calls of one run, by kind. */
export interface Outcomes {
  /** Calls answered with the caller's own value. */
  ok: number;
  /** Answers holding a value another call sent (or the JSON-RPC id of another request). */
  misrouted: number;
  /** HTTP answers other than 200 (202 for the initialized notification aside), by status. */
  statuses: Record<string, number>;
  /** JSON-RPC errors, `isError` results and bodies that cannot be read. */
  failed: number;
  /** The first failure seen, for the report. */
  firstFailure?: string;
}

export interface LoadResult {
  /** tools/call answers (or upstream answers for direct) of any outcome. */
  readonly calls: number;
  readonly seconds: number;
  /** Each call's latency in milliseconds (µs resolution), in no particular order. */
  readonly samples: Samples;
  readonly outcomes: Outcomes;
  /** Connection errors and timeouts (autocannon), or rejected calls (SDK clients). */
  readonly errors: number;
}

const newOutcomes = (): Outcomes => ({ ok: 0, misrouted: 0, statuses: {}, failed: 0 });

/** A growable list of latencies in milliseconds. */
export class Samples {
  private values = new Float64Array(1 << 14);
  length = 0;
  push(ms: number) {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = ms;
  }
  /** p-th percentile (nearest rank), NaN when empty. */
  percentile(p: number): number {
    const sorted = this.values.slice(0, this.length).sort();
    return sorted.length === 0
      ? NaN
      : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  }
  static concat(all: readonly Samples[]): Samples {
    const merged = new Samples();
    for (const samples of all) for (let i = 0; i < samples.length; i++) merged.push(samples.values[i]!);
    return merged;
  }
}

/** Several runs against one server as one result: calls, seconds, samples and outcomes added up. */
export function mergeResults(results: readonly LoadResult[]): LoadResult {
  const outcomes = newOutcomes();
  for (const { outcomes: o } of results) {
    outcomes.ok += o.ok;
    outcomes.misrouted += o.misrouted;
    outcomes.failed += o.failed;
    for (const [status, count] of Object.entries(o.statuses))
      outcomes.statuses[status] = (outcomes.statuses[status] ?? 0) + count;
    outcomes.firstFailure ??= o.firstFailure;
  }
  return {
    calls: results.reduce((n, r) => n + r.calls, 0),
    seconds: results.reduce((n, r) => n + r.seconds, 0),
    samples: Samples.concat(results.map((r) => r.samples)),
    outcomes,
    errors: results.reduce((n, r) => n + r.errors, 0),
  };
}

function fail(outcomes: Outcomes, what: string) {
  outcomes.failed++;
  outcomes.firstFailure ??= what.slice(0, 300);
}

/** A value no other call of this process sends: the run, the connection and the call's number. */
let sequence = 0;
const run = Date.now().toString(36);
const uniqueValue = (connection: number | string) => `${run}-${connection}-${++sequence}`;

/** The echoed value in a tools/call result: structuredContent, checked against the text content. */
function echoedValue(result: {
  structuredContent?: unknown;
  content?: unknown;
  isError?: unknown;
}): string | undefined {
  const structured = result.structuredContent as { value?: unknown } | undefined;
  const text = Array.isArray(result.content) ? (result.content[0] as { text?: unknown } | undefined)?.text : undefined;
  if (typeof structured?.value !== 'string' || typeof text !== 'string') return undefined;
  try {
    return (JSON.parse(text) as { value?: unknown }).value === structured.value ? structured.value : undefined;
  } catch {
    return undefined;
  }
}

/** Sorts the outcome of one answer to a tools/call into `outcomes`. */
function checkCall(outcomes: Outcomes, status: number, body: string, sent: { id: number; value: string }) {
  if (status !== 200) {
    outcomes.statuses[status] = (outcomes.statuses[status] ?? 0) + 1;
    outcomes.firstFailure ??= `HTTP ${status}: ${body.slice(0, 200)}`;
    return;
  }
  let message: {
    id?: unknown;
    result?: { structuredContent?: unknown; content?: unknown; isError?: unknown };
    error?: { message?: unknown };
  };
  try {
    message = JSON.parse(body) as typeof message;
  } catch {
    return fail(outcomes, `not JSON: ${body.slice(0, 200)}`);
  }
  if (message.error) return fail(outcomes, `JSON-RPC error: ${JSON.stringify(message.error)}`);
  if (!message.result || message.result.isError) return fail(outcomes, `tool error: ${JSON.stringify(message.result)}`);
  const value = echoedValue(message.result);
  if (value === undefined) return fail(outcomes, `no echoed value: ${body.slice(0, 200)}`);
  if (value !== sent.value || message.id !== sent.id) outcomes.misrouted++;
  else outcomes.ok++;
}

const headerOf = (headers: Record<string, string | string[]> | undefined, name: string) => {
  const found = Object.entries(headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(found) ? found[0] : found;
};

/**
 * One connection's MCP state. autocannon clones its options for every connection and starts a fresh request
 * context after each pass over `requests`, so what must outlive one request (the session) lives in this object,
 * which each connection gets its own copy of.
 */
interface ConnectionState {
  session: string | undefined;
  /** initialize sent, waiting for its answer; or the initialized notification next; or calls. */
  phase: 'start' | 'initializing' | 'notify' | 'notifying' | 'calls';
  /** JSON-RPC ids count per connection, so they collide across connections, as they do between real clients. */
  nextId: number;
  /** The connection's number, taken on its first request. */
  name: number | undefined;
}

interface CallContext {
  state?: ConnectionState;
  sent?: { id: number; value: string };
  /** process.hrtime.bigint() when the request was built, which autocannon does right before writing it. */
  started?: bigint;
}

let connectionNames = 0;

/**
 * `connections` keep-alive connections, one request in flight on each, for `seconds`: direct POSTs of
 * `{"value": …}` to the upstream, or on an MCP target initialize + notifications/initialized once per
 * connection and then `tools/call` with a fresh value each time. Each call is timed from the moment autocannon
 * builds its request (right before writing it, once the previous answer is complete) to its answer, in µs:
 * autocannon's own histogram has 1 ms resolution.
 */
export async function drive(target: Target, seconds: number, connections: number): Promise<LoadResult> {
  const outcomes = newOutcomes();
  const samples = new Samples();
  let calls = 0;
  const timed = (context: CallContext) => {
    calls++;
    if (context.started !== undefined) samples.push(Number(process.hrtime.bigint() - context.started) / 1e6);
  };
  let request: autocannon.Request & { state?: ConnectionState };
  if (target.kind === 'direct') {
    request = {
      method: 'POST',
      path: new URL(target.url).pathname,
      setupRequest(req, context) {
        const sent = { id: 0, value: uniqueValue('d') };
        (context as CallContext).sent = sent;
        (context as CallContext).started = process.hrtime.bigint();
        return { ...req, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: sent.value }) };
      },
      onResponse(status, body, context) {
        timed(context);
        const sent = (context as CallContext).sent!;
        if (status !== 200) {
          outcomes.statuses[status] = (outcomes.statuses[status] ?? 0) + 1;
          return;
        }
        try {
          const echoed = (JSON.parse(body) as { value?: unknown }).value;
          if (echoed === sent.value) outcomes.ok++;
          else if (typeof echoed === 'string') outcomes.misrouted++;
          else fail(outcomes, `no echoed value: ${body.slice(0, 200)}`);
        } catch {
          fail(outcomes, `not JSON: ${body.slice(0, 200)}`);
        }
      },
    };
  } else {
    const path = new URL(target.url).pathname;
    const base = {
      ...target.headers,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    request = {
      method: 'POST',
      path,
      state: { session: undefined, phase: 'start', nextId: 0, name: undefined },
      setupRequest(req, context) {
        // `req` is a shallow copy of this connection's own clone of the request: `state` is the connection's.
        const state = (req as typeof request).state!;
        state.name ??= ++connectionNames;
        const ctx = context as CallContext;
        ctx.state = state;
        if (state.phase === 'start' || state.phase === 'initializing' || state.session === undefined) {
          state.phase = 'initializing';
          const body = {
            jsonrpc: '2.0',
            id: ++state.nextId,
            method: 'initialize',
            params: {
              protocolVersion: LATEST_PROTOCOL_VERSION,
              capabilities: {},
              clientInfo: { name: 'bench', version: '1' },
            },
          };
          return { ...req, headers: base, body: JSON.stringify(body) };
        }
        const headers = { ...base, 'mcp-session-id': state.session, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION };
        if (state.phase === 'notify' || state.phase === 'notifying') {
          state.phase = 'notifying';
          return { ...req, headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) };
        }
        const sent = { id: ++state.nextId, value: uniqueValue(state.name) };
        ctx.sent = sent;
        ctx.started = process.hrtime.bigint();
        const body = {
          jsonrpc: '2.0',
          id: sent.id,
          method: 'tools/call',
          params: { name: target.tool, arguments: { value: sent.value } },
        };
        return { ...req, headers, body: JSON.stringify(body) };
      },
      onResponse(status, body, context, headers) {
        const { state, sent } = context as CallContext;
        if (!state) return;
        if (state.phase === 'initializing') {
          const session = headerOf(headers as Record<string, string | string[]>, 'mcp-session-id');
          if (status === 200 && session) {
            state.session = session;
            state.phase = 'notify';
          } else fail(outcomes, `initialize answered ${status}: ${body.slice(0, 200)}`);
          return;
        }
        if (state.phase === 'notifying') {
          if (status !== 202) fail(outcomes, `notifications/initialized answered ${status}: ${body.slice(0, 200)}`);
          state.phase = 'calls';
          return;
        }
        if (!sent) return;
        timed(context);
        // A session the server no longer knows: open a new one, as an SDK client would.
        if (status === 404) state.phase = 'start';
        checkCall(outcomes, status, body, sent);
      },
    };
  }
  const result = await autocannon({
    url: target.url,
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
    requests: [request],
  });
  return { calls, seconds: result.duration, samples, outcomes, errors: result.errors + result.timeouts };
}

/** Official SDK clients (`Client` + `StreamableHTTPClientTransport`), connected once and driven in runs. */
export interface SdkClientPool {
  /**
   * Every client awaits callTool in a loop for `seconds`; calls answered in that window count. `window.start` and
   * `window.end` run at its edges (to read CPU counters); calls still in flight at the end are awaited, not counted.
   */
  run(seconds: number, window?: { start(): void; end(): void }): Promise<LoadResult>;
  close(): Promise<void>;
}

export async function sdkClientPool(target: Extract<Target, { kind: 'mcp' }>, clients: number): Promise<SdkClientPool> {
  const connected = await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = new Client({ name: 'bench-sdk-client', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(target.url), { requestInit: { headers: { ...target.headers } } }),
      );
      return client;
    }),
  );
  return {
    async run(seconds, window) {
      const outcomes = newOutcomes();
      const samples = new Samples();
      let errors = 0;
      let open = true;
      const loop = async (client: Client, index: number) => {
        while (open) {
          const value = uniqueValue(`s${index}`);
          const started = process.hrtime.bigint();
          try {
            const result = (await client.callTool({ name: target.tool, arguments: { value } })) as CallToolResult;
            if (!open) break;
            samples.push(Number(process.hrtime.bigint() - started) / 1e6);
            if (result.isError) fail(outcomes, `tool error: ${JSON.stringify(result.content)}`);
            else {
              const echoed = echoedValue(result);
              if (echoed === undefined) fail(outcomes, `no echoed value: ${JSON.stringify(result).slice(0, 200)}`);
              else if (echoed === value) outcomes.ok++;
              else outcomes.misrouted++;
            }
          } catch (error) {
            if (!open) break;
            errors++;
            outcomes.firstFailure ??= (error as Error).message.slice(0, 300);
          }
        }
      };
      window?.start();
      const started = performance.now();
      const loops = connected.map((client, i) => loop(client, i));
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      open = false;
      const elapsed = (performance.now() - started) / 1000;
      window?.end();
      await Promise.all(loops);
      return { calls: samples.length, seconds: elapsed, samples, outcomes, errors };
    },
    async close() {
      await Promise.all(connected.map((client) => client.close().catch(() => undefined)));
    },
  };
}

/** One keep-alive connection to `url`: POSTs a body and resolves with the answer's status, headers and text. */
function connection(url: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const target = new URL(url);
  return {
    post(
      headers: Record<string, string>,
      body: string,
    ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
      const payload = Buffer.from(body);
      return new Promise((resolve, reject) => {
        const req = httpRequest(
          target,
          { method: 'POST', agent, headers: { ...headers, 'content-length': String(payload.length) } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                text: Buffer.concat(chunks).toString('utf8'),
              }),
            );
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}

/** Sequential calls on one connection, each timed with process.hrtime from writing the request to its answer's end. */
export interface LatencyProbe {
  /** Makes `count` calls and keeps their times (when `keep`), checking each answer like the loaded runs. */
  calls(count: number, keep: boolean): Promise<void>;
  result(): { samples: Samples; outcomes: Outcomes };
  close(): void;
}

export async function latencyProbe(target: Target): Promise<LatencyProbe> {
  const http = connection(target.url);
  const outcomes = newOutcomes();
  const samples = new Samples();
  let headers: Record<string, string> = { 'content-type': 'application/json' };
  let nextId = 0;
  if (target.kind === 'mcp') {
    headers = { ...target.headers, ...headers, accept: 'application/json, text/event-stream' };
    const init = await http.post(
      headers,
      JSON.stringify({
        jsonrpc: '2.0',
        id: ++nextId,
        method: 'initialize',
        params: {
          protocolVersion: LATEST_PROTOCOL_VERSION,
          capabilities: {},
          clientInfo: { name: 'bench-latency', version: '1' },
        },
      }),
    );
    const session = init.headers['mcp-session-id'];
    if (init.status !== 200 || typeof session !== 'string')
      throw new Error(`initialize on ${target.url} answered ${init.status}: ${init.text.slice(0, 300)}`);
    headers = { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION };
    const notified = await http.post(headers, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    if (notified.status !== 202)
      throw new Error(
        `notifications/initialized on ${target.url} answered ${notified.status}: ${notified.text.slice(0, 300)}`,
      );
  }
  return {
    async calls(count, keep) {
      for (let i = 0; i < count; i++) {
        const sent = { id: ++nextId, value: uniqueValue('latency') };
        const body =
          target.kind === 'direct'
            ? JSON.stringify({ value: sent.value })
            : JSON.stringify({
                jsonrpc: '2.0',
                id: sent.id,
                method: 'tools/call',
                params: { name: target.tool, arguments: { value: sent.value } },
              });
        const started = process.hrtime.bigint();
        const answer = await http.post(headers, body);
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        if (keep) samples.push(ms);
        if (target.kind === 'direct') {
          let echoed: unknown;
          try {
            echoed = (JSON.parse(answer.text) as { value?: unknown }).value;
          } catch {
            echoed = undefined;
          }
          if (answer.status !== 200 || typeof echoed !== 'string')
            fail(outcomes, `HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
          else if (echoed === sent.value) outcomes.ok++;
          else outcomes.misrouted++;
        } else checkCall(outcomes, answer.status, answer.text, sent);
      }
    },
    result: () => ({ samples, outcomes }),
    close: () => http.close(),
  };
}
