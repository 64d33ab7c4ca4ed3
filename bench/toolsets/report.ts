/** The printed report of `bench:toolsets` (stdout). */
import type { DocumentFigures } from './convert-corpus.js';
import { DOCUMENT_LIMIT, refusedByDefaults, serverDefaults } from './convert-corpus.js';
import type { SearchFigures } from './search.js';
import type { NewUserWalk } from './new-user.js';
import type { ServingMemory, ToolsetFigures } from './server.js';

export interface Report {
  /** Null for the parts BENCH_PARTS leaves out. */
  readonly conversion: readonly DocumentFigures[] | null;
  readonly search: SearchFigures | null;
  readonly server: {
    figures: ToolsetFigures[];
    baseRssMb: number;
    serving: ServingMemory;
    restarted: ServingMemory | null;
    newUser: NewUserWalk[];
    how: string;
  } | null;
  readonly serverSettings: Readonly<Record<string, string>>;
  readonly loadStart: string;
  readonly loadEnd: string;
  readonly seconds: number;
}

const kB = 1000;
const out = (line = '') => process.stdout.write(`${line}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString('en', { maximumFractionDigits: digits });
const size = (bytes: number) =>
  bytes >= 1e6 ? `${fmt(bytes / 1e6, 1)} MB` : bytes >= kB ? `${fmt(bytes / kB, 1)} kB` : `${bytes} B`;

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ');
  out(line(header));
  out(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) out(line(row));
}

export function printReport(report: Report) {
  const targets: [string, boolean][] = [];
  if (report.conversion !== null) printConversion(report.conversion);
  if (report.search !== null) printSearch(report.search, targets);
  if (report.server !== null) {
    printServer(report.server, report.serverSettings, targets);
    printNewUser(report.server.newUser, targets);
  }
  out();
  out('targets (issue 22)');
  for (const [what, ok] of targets) out(`  ${ok ? 'pass' : 'FAIL'}  ${what}`);
  out();
  out(`load average ${report.loadStart} at start, ${report.loadEnd} at end; ${fmt(report.seconds)} s in all`);
}

function printConversion(figures: readonly DocumentFigures[]) {
  const converted = figures.filter((f) => f.error === null);
  const tools = converted.reduce((sum, f) => sum + f.tools, 0);
  const times = converted.map((f) => f.ms ?? 0);
  out(
    `conversion: ${figures.length} documents, ${converted.length} converted, ${figures.length - converted.length} failed, ${fmt(tools)} tools`,
  );
  out(
    `  time per document (worker thread, ms): p50 ${fmt(quantile(times, 0.5), 1)}  p99 ${fmt(quantile(times, 0.99), 1)}  max ${fmt(Math.max(0, ...times), 1)}`,
  );
  const listBytes = converted.map((f) => f.listBytes);
  out(
    `  static tools/list per API: p50 ${size(quantile(listBytes, 0.5))}  p99 ${size(quantile(listBytes, 0.99))}  max ${size(Math.max(0, ...listBytes))};` +
      ` over 64 kB: ${converted.filter((f) => f.listBytes > 64 * 1024).length}, over 100 kB: ${converted.filter((f) => f.listBytes > 100 * kB).length}, over 1 MB: ${converted.filter((f) => f.listBytes > 1e6).length}` +
      `; more than 40 tools: ${converted.filter((f) => f.tools > 40).length}`,
  );
  out(
    `  largest input schema of a tool: ${size(Math.max(0, ...converted.map((f) => f.largestSchemaBytes)))}; APIs with a tool schema over 16 kB: ${converted.filter((f) => f.largestSchemaBytes > 16 * 1024).length}`,
  );
  const refusals = new Map<string, number>();
  for (const f of converted) {
    const reason = refusedByDefaults(f);
    if (reason !== null) refusals.set(reason, (refusals.get(reason) ?? 0) + 1);
  }
  out(
    `  refused by the server's default limits (${fmt(serverDefaults.maxOperations)} operations, ${size(serverDefaults.maxToolSchemaBytes)} per tool schema, ${size(serverDefaults.maxToolsetSchemaBytes)} per toolset, ${size(DOCUMENT_LIMIT)} document): ` +
      ([...refusals].map(([reason, n]) => `${n} (${reason})`).join(', ') || 'none'),
  );
  for (const f of figures.filter((f) => f.error !== null)) out(`  failed: ${f.id}: ${f.error}`);
  out();
  const largest = [...converted].sort((a, b) => b.listBytes - a.listBytes).slice(0, 12);
  table(
    ['largest by static tools/list', 'document', 'tools', 'convert ms', 'schemas', 'largest schema', 'tools/list'],
    largest.map((f) => [
      f.id.replace(/^\S+ /, ''),
      size(f.documentBytes),
      fmt(f.tools),
      fmt(f.ms ?? 0),
      size(f.schemaBytes),
      size(f.largestSchemaBytes),
      size(f.listBytes),
    ]),
  );
  out();
}

function printSearch(search: SearchFigures, targets: [string, boolean][]) {
  const { recall } = search;
  out(
    `tool search on Microsoft Graph v1.0 (${fmt(search.graphTools)} tools): index built in ${fmt(search.buildMs)} ms; ` +
      `${fmt(search.queries)} searches: p50 ${search.p50Ms.toFixed(3)} ms  p99 ${search.p99Ms.toFixed(3)} ms  max ${search.maxMs.toFixed(2)} ms;` +
      ` each query's best: p50 ${search.bestP50Ms.toFixed(3)} ms  max ${search.bestMaxMs.toFixed(3)} ms`,
  );
  const pct = (n: number) => `${(n * 100).toFixed(1)} %`;
  table(
    ['recall', 'requests', '@1', '@5'],
    (
      [
        ['all', recall.all],
        ['tuning part', recall.tuning],
        ['held out', recall.heldOut],
      ] as const
    ).map(([part, r]) => [part, String(r.requests), pct(r.at1), pct(r.at5)]),
  );
  for (const miss of recall.misses) {
    out(
      `  ${miss.rank === null ? 'not in top 20' : `rank ${miss.rank}`.padEnd(13)}  ${miss.api}: "${miss.request}"${miss.heldOut ? ' (held out)' : ''} → ${miss.top.slice(0, 3).join(', ')}`,
    );
  }
  out();
  targets.push([
    `every search under 5 ms on Graph (slowest query's best time ${search.bestMaxMs.toFixed(2)} ms; wall-clock p99 ${search.p99Ms.toFixed(2)} ms)`,
    search.bestMaxMs < 5,
  ]);
  targets.push([`recall@5 ≥ 0.9 (${recall.all.at5.toFixed(3)})`, recall.all.at5 >= 0.9]);
  targets.push([`recall@1 ≥ 0.6 (${recall.all.at1.toFixed(3)})`, recall.all.at1 >= 0.6]);
}

function printServer(
  server: NonNullable<Report['server']>,
  extra: Readonly<Record<string, string>>,
  targets: [string, boolean][],
) {
  const settings = Object.entries(extra).map(([k, v]) => `${k}=${v}`);
  const malloc =
    process.env.BENCH_MALLOC === 'glibc'
      ? "glibc's default allocator settings"
      : 'MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 (as deploy/Dockerfile)';
  out(
    `server: plugboard from ${server.how}${settings.length > 0 ? ` with ${settings.join(' ')}` : ''}, ${malloc}; ${fmt(server.baseRssMb)} MB RSS before the imports`,
  );
  table(
    [
      'toolset',
      'document',
      'import',
      'import s',
      'CPU s',
      'store +',
      'RSS peak',
      'RSS settled',
      'RSS +',
      'heap used',
      'tools/list tools',
      'pages',
      'bytes',
      'ms',
      'largest schema',
      'search p50',
    ],
    server.figures.map((f) => [
      f.title,
      size(f.documentBytes),
      f.outcome,
      fmt(f.importMs / 1000, 1),
      fmt(f.importCpuMs / 1000, 1),
      size(f.storeGrowthBytes),
      `${fmt(f.rssPeakMb)} MB`,
      `${fmt(f.rssSettledMb)} MB`,
      `${fmt(f.rssGrowthMb)} MB`,
      `${fmt(f.heapUsedMb)} MB`,
      f.listed === null ? '-' : `${fmt(f.listed.tools)}${f.listed.dynamic ? ' (dynamic)' : ''}`,
      f.listed === null ? '-' : String(f.listed.pages),
      f.listed === null ? '-' : size(f.listed.bytes),
      f.listed === null ? '-' : fmt(f.listed.ms),
      f.listed === null ? '-' : size(f.listed.largestSchemaBytes),
      f.listed?.searchP50Ms == null ? '-' : `${f.listed.searchP50Ms.toFixed(1)} ms`,
    ]),
  );
  for (const f of server.figures.filter((f) => f.message !== null)) out(`  ${f.title}: ${f.message}`);
  out(
    `  RSS peak: the most from the create until half a second after the toolset settled, the conversion worker included; RSS settled: once that worker has exited (it does after a second idle)`,
  );
  const { serving, restarted } = server;
  const memory = (m: ServingMemory) =>
    `${fmt(m.rssMb)} MB RSS, main-thread heap ${fmt(m.heapUsedMb)} MB used, ${fmt(m.externalMb)} MB external`;
  out(`serving every toolset, on the node that imported them (after the MCP sessions): ${memory(serving)}`);
  if (restarted !== null)
    out(
      `serving every toolset, on a node started on the same store (after the same MCP sessions): ${memory(restarted)}`,
    );
  const byApi = new Map(server.figures.map((f) => [f.api, f]));
  const listed = server.figures.filter((f) => f.outcome === 'Installed');
  targets.push([
    `every toolset installed and its tools/list within 64 kB (${server.figures.filter((f) => f.listed === null || f.listed.bytes > 64 * 1024).length} not)`,
    server.figures.every((f) => f.listed !== null && f.listed.bytes <= 64 * 1024),
  ]);
  const docusign = byApi.get('docusign');
  if (docusign !== undefined) {
    targets.push([
      `DocuSign installed, stored in under 10 MB (${size(docusign.storeGrowthBytes)}), under 10 MB more RSS (${fmt(docusign.rssGrowthMb)} MB)`,
      docusign.outcome === 'Installed' && docusign.storeGrowthBytes < 10e6 && docusign.rssGrowthMb < 10,
    ]);
  }
  const graph = byApi.get('graph');
  if (graph !== undefined) {
    targets.push([
      `Microsoft Graph installed in under 30 s (${graph.outcome}, ${fmt(graph.importMs / 1000, 1)} s; ${fmt(graph.importCpuMs / 1000, 1)} s of CPU)`,
      graph.outcome === 'Installed' && graph.importMs < 30_000,
    ]);
  }
  if (server.figures.length > 0) {
    const peak = Math.max(...server.figures.map((f) => f.rssPeakMb));
    targets.push([
      `node under 600 MB RSS serving every toolset imported (${fmt(serving.rssMb)} MB on the node that imported them, ${restarted === null ? '-' : fmt(restarted.rssMb)} MB on a node started on the store; ${fmt(peak)} MB at the peak of an import; ${listed.length} of ${server.figures.length} installed)`,
      serving.rssMb < 600 && (restarted === null || restarted.rssMb < 600) && listed.length === server.figures.length,
    ]);
  }
  out();
}

function printNewUser(walks: readonly NewUserWalk[], targets: [string, boolean][]) {
  if (walks.length === 0) return;
  out('a new user: the official MCP SDK client lists, searches, describes and calls (the upstream is local)');
  for (const walk of walks) {
    out(`  ${walk.api}: "${walk.request}" (${fmt(walk.ms)} ms)`);
    for (const step of walk.steps) out(`    ${step.ok ? 'pass' : 'FAIL'}  ${step.step}: ${step.detail}`);
    const called = walk.steps.some((s) => s.step === 'call_tool' && s.ok);
    const fine = walk.steps.every((s) => s.ok) && called;
    targets.push([
      `new user on ${walk.api}: three tools listed (${size(walk.listBytes)}), "${walk.request}" found (${walk.rank === null ? 'not found' : `rank ${walk.rank}`}), described (${size(walk.describeBytes)}), called through to the upstream with the credential and answered`,
      fine,
    ]);
    targets.push([
      `new user on ${walk.api}: "${walk.request}" ranked within the top 5`,
      walk.rank !== null && walk.rank <= 5,
    ]);
  }
  out();
}
