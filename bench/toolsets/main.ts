/**
 * `npm run bench:toolsets`: what plugboard makes of real API descriptions, from a 3-operation API to Microsoft
 * Graph: conversion time and sizes over the APIs.guru directory and GitHub's description, the labelled APIs
 * imported into a running server (store, memory, tools/list), and tool search (latency on Graph, recall on the
 * labelled requests). See bench/README.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelledSet } from '../../test/support/tool-search-quality.js';
import { intEnv, plugboardCommand, say } from '../common/plugboard.js';
import { convertCorpus } from './convert-corpus.js';
import { corpusDocuments, packageFile, type CorpusDocument } from './corpus.js';
import { printReport } from './report.js';
import { measureSearch } from './search.js';
import { measureServer } from './server.js';

const settings = {
  documents: process.env.BENCH_DOCUMENTS === undefined ? null : intEnv('BENCH_DOCUMENTS', 1),
  serverApis: process.env.BENCH_SERVER_APIS ?? 'all',
  searchRounds: intEnv('BENCH_SEARCH_ROUNDS', 50),
  plugboard: process.env.BENCH_PLUGBOARD ?? 'dist',
  serverSettings: Object.fromEntries(
    (process.env.BENCH_SERVER_SETTINGS ?? '')
      .split(/\s+/)
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  ) as Record<string, string>,
  keep: process.env.BENCH_KEEP === '1',
  parts: new Set((process.env.BENCH_PARTS ?? 'conversion,search,server').split(',').filter(Boolean)),
};
for (const part of settings.parts)
  if (!['conversion', 'search', 'server'].includes(part))
    throw new Error(`BENCH_PARTS: no part "${part}" (conversion, search, server)`);

/** The corpus, or an evenly spaced sample of it; the labelled set's documents are always part of it. */
function chosenDocuments(): CorpusDocument[] {
  const all = corpusDocuments();
  const set = labelledSet();
  const labelled = new Set(Object.values(set.apis).map((source) => `${source.package} ${source.file}`));
  if (settings.documents === null || settings.documents >= all.length) return all;
  const step = all.length / settings.documents;
  const sample = new Set(Array.from({ length: settings.documents }, (_, i) => all[Math.floor(i * step)]!));
  return all.filter((document) => sample.has(document) || labelled.has(document.id));
}

async function main() {
  const started = performance.now();
  const load = loadavg()[0]!.toFixed(2);
  say(`bench:toolsets on ${cpus().length} CPUs, load average ${load}`);
  const conversion = settings.parts.has('conversion') ? await convertCorpus(chosenDocuments()) : null;
  const search = settings.parts.has('search') ? measureSearch(settings.searchRounds) : null;

  const set = labelledSet();
  const apis = settings.serverApis === 'all' ? Object.keys(set.apis) : settings.serverApis.split(',').filter(Boolean);
  let server = null;
  if (settings.parts.has('server') && apis.length > 0 && settings.serverApis !== 'none') {
    const plugboard = plugboardCommand(settings.plugboard);
    say(`plugboard: ${plugboard.how}`);
    const dir = mkdtempSync(join(tmpdir(), 'bench-toolsets-'));
    try {
      const sources = apis.map((api) => {
        const source = set.apis[api];
        if (source === undefined) throw new Error(`BENCH_SERVER_APIS: no API "${api}" in the labelled set`);
        return {
          api,
          title: source.title,
          file: packageFile(source.package, source.file),
          requests: set.requests.filter((request) => request.api === api).map((request) => request.request),
        };
      });
      server = { ...(await measureServer(dir, plugboard.args, sources, settings.serverSettings)), how: plugboard.how };
    } finally {
      if (settings.keep) say(`kept ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    }
  }
  printReport({
    conversion,
    search,
    server,
    serverSettings: settings.serverSettings,
    loadStart: load,
    loadEnd: loadavg()[0]!.toFixed(2),
    seconds: (performance.now() - started) / 1000,
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
