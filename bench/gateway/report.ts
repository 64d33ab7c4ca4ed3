/** The printed report of `bench:gateway`: the rows, the ratios, and the targets with pass/fail. */
import type { ConvertTiming } from './convert.js';
import type { LoadResult, Outcomes, Samples } from './load.js';

/** `sdk` is the SDK gateway as its documentation builds it (issue 7's baseline); `sdkLean` the same on bare node:http. */
export type ServerName = 'direct' | 'sdk' | 'sdkLean' | 'plugboard' | 'baseline';

export const SERVER_LABEL: Record<ServerName, string> = {
  direct: 'upstream direct',
  sdk: 'minimal SDK gateway',
  sdkLean: 'lean SDK gateway',
  plugboard: 'plugboard',
  baseline: 'plugboard, baseline build',
};

export interface LoadRow {
  readonly load: 'raw' | 'sdk-clients';
  readonly server: ServerName;
  readonly result: LoadResult;
  /** CPU of the process that answers the load (the upstream itself for direct), per call. */
  readonly serverCpuMs: number;
  /** CPU of the upstream behind a gateway, per call (undefined for direct). */
  readonly upstreamCpuMs: number | undefined;
  /** CPU of this benchmark process (the load generator), per call. */
  readonly clientCpuMs: number;
}

export interface LatencyRow {
  readonly server: ServerName;
  readonly samples: Samples;
  readonly outcomes: Outcomes;
}

export interface Report {
  readonly machine: string;
  readonly plugboard: string;
  readonly settings: string;
  readonly loadAverage: readonly [number, number];
  readonly elapsedSeconds: number;
  readonly loadRows: readonly LoadRow[];
  readonly latency: readonly LatencyRow[];
  readonly convert: readonly ConvertTiming[];
  readonly problems: readonly string[];
}

const rate = (r: LoadResult) => r.calls / r.seconds;
const isPlugboard = (server: ServerName) => server === 'plugboard' || server === 'baseline';
const ms = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

function failures(o: Outcomes, errors: number): string {
  const statuses = Object.entries(o.statuses).map(([status, count]) => `${status}×${count}`);
  const parts = [...statuses, o.failed > 0 ? `${o.failed} failed` : '', errors > 0 ? `${errors} errors` : ''].filter(
    Boolean,
  );
  return parts.length === 0 ? '0' : parts.join(' ');
}

function table(header: readonly string[], rows: readonly (readonly string[])[], left: ReadonlySet<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (left.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** Prints the report on stdout and returns whether every target was met. */
export function printReport(report: Report): boolean {
  const find = (load: LoadRow['load'], server: ServerName) =>
    report.loadRows.find((r) => r.load === load && r.server === server);
  const out: string[] = [
    '',
    'bench:gateway: one MCP tools/call (POST /echo upstream, ~30 bytes of JSON) through plugboard vs a minimal official-SDK gateway vs the upstream itself',
    `machine:   ${report.machine}; 1-min load average ${report.loadAverage.map((l) => l.toFixed(1)).join(' at start, ')} at the end`,
    `plugboard: ${report.plugboard}; fresh DATA_DIR (SQLite), RATE_LIMIT_GATEWAY_PER_SECOND=0, LOG_LEVEL=warn`,
    `settings:  ${report.settings}`,
    '',
  ];

  const loadTable = report.loadRows.map((row) => {
    const direct = find('raw', 'direct');
    const sdk = find(row.load, 'sdk');
    const lean = find(row.load, 'sdkLean');
    return [
      row.load === 'raw' ? 'raw JSON-RPC' : 'SDK clients',
      SERVER_LABEL[row.server],
      rate(row.result).toFixed(0),
      row.server !== 'direct' && direct ? (rate(row.result) / rate(direct.result)).toFixed(2) : '',
      isPlugboard(row.server) && sdk ? (rate(row.result) / rate(sdk.result)).toFixed(2) : '',
      isPlugboard(row.server) && lean ? (rate(row.result) / rate(lean.result)).toFixed(2) : '',
      ms(row.result.samples.percentile(50), 2),
      ms(row.result.samples.percentile(99), 2),
      row.serverCpuMs.toFixed(3),
      row.upstreamCpuMs === undefined ? '-' : row.upstreamCpuMs.toFixed(3),
      row.clientCpuMs.toFixed(3),
      String(row.result.outcomes.misrouted),
      failures(row.result.outcomes, row.result.errors),
    ];
  });
  out.push(
    ...table(
      [
        'load',
        'server',
        'calls/s',
        '×direct',
        '×SDK gw',
        '×lean',
        'p50 ms',
        'p99 ms',
        'server CPU ms/call',
        'upstream CPU ms/call',
        'load-gen CPU ms/call',
        'misrouted',
        'failed',
      ],
      loadTable,
      new Set([0, 1, 12]),
    ),
  );

  const latency = report.latency.map((row) => ({
    ...row,
    calls: row.samples.length,
    p50: row.samples.percentile(50),
    p99: row.samples.percentile(99),
  }));
  const direct = latency.find((r) => r.server === 'direct');
  const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(3)}`;
  out.push(
    '',
    'one connection, sequential calls, µs timer (process.hrtime): latency, and latency added to the direct call',
  );
  out.push(
    ...table(
      ['server', 'calls', 'p50 ms', 'p99 ms', 'added p50 ms', 'added p99 ms', 'misrouted', 'failed'],
      latency.map((row) => [
        SERVER_LABEL[row.server],
        String(row.calls),
        row.p50.toFixed(3),
        row.p99.toFixed(3),
        row.server === 'direct' || !direct ? '' : signed(row.p50 - direct.p50),
        row.server === 'direct' || !direct ? '' : signed(row.p99 - direct.p99),
        String(row.outcomes.misrouted),
        failures(row.outcomes, 0),
      ]),
      new Set([0, 7]),
    ),
  );

  out.push(
    '',
    'convertOpenApi on a generated 2,000-operation document (one cold process per format; the first run includes compiling the code paths)',
  );
  out.push(
    ...table(
      ['format', 'operations', 'size KiB', 'tools', 'first ms', 'again ms'],
      report.convert.map((c) => [
        c.format,
        String(c.operations),
        String(c.kib),
        String(c.tools),
        c.firstMs.toFixed(0),
        c.secondMs.toFixed(0),
      ]),
      new Set([0]),
    ),
  );

  // Targets of issue 7, item 7.
  const checks: { what: string; target: string; figure: string; pass: boolean | undefined }[] = [];
  const pb = find('raw', 'plugboard');
  const sdk = find('raw', 'sdk');
  const lean = find('raw', 'sdkLean');
  const dr = find('raw', 'direct');
  if (pb && sdk)
    checks.push({
      what: 'calls/s, plugboard ÷ minimal SDK gateway, as documented (raw JSON-RPC)',
      target: '≥ 3.00',
      figure: (rate(pb.result) / rate(sdk.result)).toFixed(2),
      pass: rate(pb.result) / rate(sdk.result) >= 3,
    });
  if (pb && lean)
    checks.push({
      what: 'calls/s, plugboard ÷ lean SDK gateway (not a target: a harder baseline)',
      target: '-',
      figure: (rate(pb.result) / rate(lean.result)).toFixed(2),
      pass: undefined,
    });
  if (pb && dr)
    checks.push({
      what: 'calls/s, plugboard ÷ upstream direct (raw JSON-RPC; issue: about 0.2×)',
      target: '≥ 0.20',
      figure: (rate(pb.result) / rate(dr.result)).toFixed(2),
      pass: rate(pb.result) / rate(dr.result) >= 0.2,
    });
  const pbLatency = latency.find((r) => r.server === 'plugboard');
  if (pbLatency && direct) {
    const p50 = pbLatency.p50 - direct.p50;
    const p99 = pbLatency.p99 - direct.p99;
    checks.push({
      what: 'added latency on one connection, p50 (plugboard − direct)',
      target: '< 0.300 ms',
      figure: `${p50.toFixed(3)} ms`,
      pass: p50 < 0.3,
    });
    checks.push({
      what: 'added latency on one connection, p99 (plugboard − direct)',
      target: '< 1.500 ms',
      figure: `${p99.toFixed(3)} ms`,
      pass: p99 < 1.5,
    });
  }
  // BENCH_BASELINE_CLI: another build of plugboard measured in the same rounds, to see what a change costs.
  const base = find('raw', 'baseline');
  if (pb && base)
    checks.push({
      what: 'calls/s, plugboard ÷ baseline build (raw JSON-RPC)',
      target: '-',
      figure: (rate(pb.result) / rate(base.result)).toFixed(2),
      pass: undefined,
    });
  const baseLatency = latency.find((r) => r.server === 'baseline');
  if (pbLatency && baseLatency)
    checks.push({
      what: 'latency on one connection, p50, plugboard − baseline build',
      target: '-',
      figure: `${signed(pbLatency.p50 - baseLatency.p50)} ms`,
      pass: undefined,
    });
  const misrouted =
    report.loadRows.reduce((n, r) => n + r.result.outcomes.misrouted, 0) +
    report.latency.reduce((n, r) => n + r.outcomes.misrouted, 0);
  const answered = report.loadRows.reduce((n, r) => n + r.result.outcomes.ok + r.result.outcomes.misrouted, 0);
  checks.push({
    what: `misrouted replies, all rows (${answered} checked under load)`,
    target: '0',
    figure: String(misrouted),
    pass: misrouted === 0 && answered > 0,
  });
  for (const c of report.convert) {
    checks.push({
      what: `convertOpenApi, 2,000 operations, ${c.format}, first run`,
      target: '< 1000 ms',
      figure: `${c.firstMs.toFixed(0)} ms`,
      pass: c.firstMs < 1000 && c.tools === c.operations,
    });
  }
  out.push('', 'targets (issue 7, item 7)');
  out.push(
    ...table(
      ['check', 'target', 'figure', 'result'],
      checks.map((c) => [c.what, c.target, c.figure, c.pass === undefined ? 'info' : c.pass ? 'pass' : 'FAIL']),
      new Set([0, 3]),
    ),
  );

  out.push(
    '',
    'How to read it:',
    '- calls/s counts tools/call answers (direct: upstream answers) over the measured seconds; ×direct, ×SDK gw and ×lean divide by the raw',
    '  JSON-RPC direct row and by the two SDK gateways under the same load. Absolute figures move ±15 % between runs on a shared machine.',
    "- minimal SDK gateway: McpServer + StreamableHTTPServerTransport (stateful, JSON answers) as the SDK's example server is built:",
    '  createMcpExpressApp() (Express, JSON body parser, localhost Host check) and fetch to the upstream. lean SDK gateway: the same SDK',
    '  objects on bare node:http with a keep-alive http.Agent to the upstream, i.e. less than the documentation does around the SDK.',
    '- raw JSON-RPC: autocannon, one request in flight per keep-alive connection; each connection opens its own MCP session',
    '  (initialize, notifications/initialized) and then calls the tool. Each row is the sum of short slices that alternate',
    '  between the servers (rotating who goes first), so that a noisy neighbour hits all rows alike.',
    '  SDK clients: official `Client` + `StreamableHTTPClientTransport` objects in this process, each awaiting callTool in a loop;',
    '  they cost about as much CPU as the server (load-gen column), so they measure the clients as much as the gateway.',
    '- p50/p99: per call, µs timer, from writing the request (autocannon builds each one right before writing it) to the answer.',
    '- CPU ms/call: utime+stime from /proc/<pid>/stat over the measured run, per call; load-gen is this process (process.cpuUsage).',
    '- misrouted: answers holding a value (or JSON-RPC id) that another call sent. failed: non-200 answers by status, JSON-RPC',
    '  errors and isError results, and connection errors.',
    '- added latency: p50/p99 of the gateway minus p50/p99 of the direct call, from rounds that alternate the four targets.',
    ...report.problems.map((p) => `problem: ${p}`),
    `total time ${report.elapsedSeconds.toFixed(0)} s`,
    '',
  );
  process.stdout.write(out.join('\n'));
  return checks.every((c) => c.pass !== false) && report.problems.length === 0;
}
