/** The printed table of `bench:write`: one row per store, scenario and server, plugboard beside its baseline. */
import type { ReadFigures } from './reads.js';
import type { LoadResult, Scenario } from './load.js';
import { RESOURCES, type ResourceName } from './resources.js';

export interface Row {
  readonly store: 'sqlite' | 'postgres';
  /** Which write: a connector PUT, an access-client PATCH (bench/write/resources.ts). */
  readonly resource: ResourceName;
  readonly scenario: Scenario;
  readonly server: string;
  readonly result: LoadResult;
  readonly serverCpuMsPerRequest: number;
  /** All `postgres` processes on the machine, per request; PostgreSQL rows only. */
  readonly postgresCpuMsPerRequest: number | undefined;
  /** Size of the SQLite -wal file after the row's run. */
  readonly walFileBytes: number | undefined;
  /** PostgreSQL WAL generated during the run, per successful request. */
  readonly walBytesPerRequest: number | undefined;
  /** The rounds this row sums, in the order they ran. */
  readonly rounds?: readonly Row[];
}

const rate = (r: LoadResult) => r.requests / r.seconds;

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * One row from the rounds of one server: requests, seconds, statuses and CPU summed (so req/s and CPU per request
 * are over all of them), the median p50 and the worst p99, the WAL file as the last round left it.
 */
export function combineRounds(rounds: readonly Row[]): Row {
  const last = rounds[rounds.length - 1]!;
  const sum = (of: (r: Row) => number) => rounds.reduce((total, r) => total + of(r), 0);
  const requests = sum((r) => r.result.requests);
  const ok = sum((r) => r.result.requests - r.result.non2xx);
  const statuses: Record<string, number> = {};
  for (const r of rounds)
    for (const [status, n] of Object.entries(r.result.statuses)) statuses[status] = (statuses[status] ?? 0) + n;
  const perRequest = (of: (r: Row) => number | undefined) =>
    rounds.some((r) => of(r) === undefined)
      ? undefined
      : sum((r) => of(r)! * r.result.requests) / Math.max(1, requests);
  return {
    ...last,
    result: {
      requests,
      seconds: sum((r) => r.result.seconds),
      p50: median(rounds.map((r) => r.result.p50)),
      p99: Math.max(...rounds.map((r) => r.result.p99)),
      non2xx: sum((r) => r.result.non2xx),
      statuses,
      errors: sum((r) => r.result.errors),
      timeouts: sum((r) => r.result.timeouts),
    },
    serverCpuMsPerRequest: perRequest((r) => r.serverCpuMsPerRequest)!,
    postgresCpuMsPerRequest: perRequest((r) => r.postgresCpuMsPerRequest),
    walBytesPerRequest: rounds.some((r) => r.walBytesPerRequest === undefined)
      ? undefined
      : sum((r) => r.walBytesPerRequest! * (r.result.requests - r.result.non2xx)) / Math.max(1, ok),
    rounds,
  };
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function non2xx(r: LoadResult): string {
  const other = Object.entries(r.statuses).filter(([status]) => !status.startsWith('2'));
  const failures = [r.errors > 0 ? `${r.errors} errors` : '', r.timeouts > 0 ? `${r.timeouts} timeouts` : ''].filter(
    Boolean,
  );
  const detail = [...other.map(([status, count]) => `${status}×${count}`), ...failures].join(' ');
  return detail ? `${r.non2xx} (${detail})` : String(r.non2xx);
}

/** The reads section (issue 10, item 4), when the reads ran, and the targets of every row. */
function readsSection(rows: readonly Row[], reads: readonly ReadFigures[]): string[] {
  const header = [
    'store',
    'connections',
    'page 1 ms',
    'page after 500,000 ms',
    '×page 1',
    'GET ms',
    '304 ms',
    'GET lookup',
    'variables → connections',
    'ms',
  ];
  const table = reads.map((r) => [
    r.store,
    String(r.connections),
    r.firstPageMs.toFixed(2),
    r.deepPageMs.toFixed(2),
    (r.deepPageMs / r.firstPageMs).toFixed(2),
    r.getMs.toFixed(2),
    r.notModifiedMs.toFixed(2),
    r.lookupUsesIndexOnly ? 'index only' : 'NOT index only',
    String(r.propagated),
    r.propagationMs.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 || i === 7 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const check = (what: string, target: string, figure: string, ok: boolean) =>
    `${what.padEnd(66)} ${target.padStart(9)}  ${figure.padStart(9)}  ${ok ? 'pass' : 'FAIL'}`;
  const targets: string[] = [];
  for (const resource of Object.values(RESOURCES))
    for (const store of ['sqlite', 'postgres'] as const) {
      const of = (server: string, scenario: string) =>
        rows.find(
          (r) => r.resource === resource.name && r.store === store && r.server === server && r.scenario === scenario,
        );
      for (const scenario of ['hot', 'uniform'] as const) {
        const bare = of('bare', scenario);
        const plugboard = of('plugboard', scenario);
        if (!bare || !plugboard) continue;
        const ratio = rate(plugboard.result) / rate(bare.result);
        targets.push(
          check(
            `${resource.label}, ${store}, ${scenario === 'hot' ? 'hot id' : 'uniform'}: req/s ÷ bare`,
            '≥ 1.00',
            ratio.toFixed(2),
            ratio >= 1,
          ),
        );
        if (bare.rounds && plugboard.rounds && bare.rounds.length > 1) {
          const each = plugboard.rounds.map((r, i) => (rate(r.result) / rate(bare.rounds![i]!.result)).toFixed(2));
          targets.push(`  (round by round: ${each.join(', ')})`);
        }
      }
    }
  for (const r of reads) {
    const ratio = r.deepPageMs / r.firstPageMs;
    targets.push(
      check(
        `${r.store}: page after 500,000 rows ÷ page 1 (1,000,000 connections)`,
        '< 1.50',
        ratio.toFixed(2),
        ratio < 1.5,
      ),
    );
    targets.push(
      check(
        `${r.store}: a page is a range of an index (no scan, no sort)`,
        'range',
        r.listIsRange ? 'range' : 'scan',
        r.listIsRange,
      ),
    );
    targets.push(
      check(
        `${r.store}: GET by id and its 304 use the row's index only`,
        'index',
        r.lookupUsesIndexOnly ? 'index' : 'scan',
        r.lookupUsesIndexOnly,
      ),
    );
    targets.push(
      check(
        `${r.store}: connectionVariables propagated to 10,000 connections`,
        '< 1000 ms',
        `${r.propagationMs.toFixed(0)} ms`,
        r.propagationMs < 1000,
      ),
      `  (median of ${r.propagationRuns.length}, in the order they ran: ${r.propagationRuns.map((ms) => ms.toFixed(0)).join(', ')} ms)`,
    );
  }
  // The targets of the write rows are printed with or without the reads (BENCH_READS=0).
  if (reads.length === 0) return ['', ...targets];
  return [
    '',
    'reads as data grows: plugboard with 1,000,000 connections in the workspace, 10,000 of them on one connector;',
    `median of ${200} sequential requests on one keep-alive connection (µs timer), after 20 unmeasured ones`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...table.map(line),
    ...reads.flatMap((r) => [
      `${r.store} plan of the GET lookup (the repository's own query): ${r.lookupPlan.join(' | ')}`,
      `${r.store} plan of a page after 500,000 rows: ${r.listPlan.join(' | ')}`,
    ]),
    '',
    'targets (issue 10)',
    ...targets,
  ];
}

export function printReport(
  rows: readonly Row[],
  reads: readonly ReadFigures[],
  info: {
    machine: string;
    plugboard: string;
    load: string;
    elapsedSeconds: number;
    loadAverage: readonly number[];
    skipped: readonly string[];
  },
): void {
  const baseline = (row: Row) =>
    rows.find(
      (b) => b.server === 'bare' && b.resource === row.resource && b.store === row.store && b.scenario === row.scenario,
    );
  const header = [
    'write',
    'store',
    'scenario',
    'server',
    'req/s',
    '×bare',
    'p50 ms',
    'p99 ms',
    'non-2xx',
    'CPU ms/req',
    '×bare',
    'pg CPU ms/req',
    'WAL',
  ];
  const table = rows.map((row) => {
    const base = baseline(row);
    return [
      RESOURCES[row.resource].label,
      row.store,
      row.scenario === 'hot' ? 'hot id' : 'uniform',
      row.server,
      rate(row.result).toFixed(0),
      base ? (rate(row.result) / rate(base.result)).toFixed(2) : '',
      String(row.result.p50),
      String(row.result.p99),
      non2xx(row.result),
      row.serverCpuMsPerRequest.toFixed(3),
      base ? (row.serverCpuMsPerRequest / base.serverCpuMsPerRequest).toFixed(2) : '',
      row.postgresCpuMsPerRequest === undefined ? '-' : row.postgresCpuMsPerRequest.toFixed(3),
      row.walFileBytes !== undefined
        ? `file ${bytes(row.walFileBytes)}`
        : row.walBytesPerRequest !== undefined
          ? `${bytes(Math.round(row.walBytesPerRequest))}/req`
          : '-',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const left = new Set([0, 1, 2, 3, 8, 12]);
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (left.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();

  const out = [
    '',
    'bench:write: connector PUT (full body) and access-client PATCH (merge patch of one field), plugboard vs a bare Fastify server doing the same durable UPDATE',
    `machine:   ${info.machine}; 1-min load average ${info.loadAverage.map((l) => l.toFixed(1)).join(' at start, ')} at the end`,
    `plugboard: ${info.plugboard}; API key, If-Match, rate limits off, LOG_LEVEL=warn`,
    `load:      ${info.load}`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...table.map(line),
    ...readsSection(rows, reads),
    '',
    'How to read it:',
    '- req/s counts every answer (any status) over the measured seconds; ×bare divides by the bare server of the same write, store and scenario.',
    '- p50/p99 come from autocannon, whose latency histogram has 1 ms resolution.',
    "- CPU ms/req is the server process's utime+stime (/proc/<pid>/stat) over the run, per answer. pg CPU ms/req does the same for",
    "  the PostgreSQL backends of that server's connections plus the WAL writer, checkpointer and background writer.",
    '- hot id: all connections write one row with `If-Match: *` (a tracked ETag would go stale for 31 of 32 writers at once).',
    '  uniform: random ids over the others, each sent with the ETag of its last answer. No two connections write one id at once',
    "  and ids whose answer a run's end cut off are not written again, so every If-Match is current: a 412 there is a server bug.",
    '- WAL: SQLite, the size of the -wal file after the row (it stays near 4 MiB while checkpoints run); PostgreSQL, WAL bytes',
    '  generated per successful request.',
    '- reads: run on the plugboard server of the rows above, after them. The page after 500,000 rows is asked for with the',
    '  cursor a client walking the list would hold there; the plan is EXPLAIN of the exact query the GET runs, captured from',
    "  the repository; propagation is a PATCH of the connector's connectionVariables, timed on the client and counted in the store,",
    '  three times: the median is the figure.',
    ...info.skipped.map((s) => `skipped: ${s}`),
    `total time ${info.elapsedSeconds.toFixed(0)} s`,
    '',
  ];
  process.stdout.write(out.join('\n'));
}
