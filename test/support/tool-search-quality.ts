/**
 * The labelled search requests (test/fixtures/tool-search/requests.json) and the recall of tool search on them.
 * The catalogues the test reads are extracted from the real documents by bench/toolsets/write-search-fixtures.ts;
 * `bench:toolsets` measures the same recall on catalogues it converts from the documents itself.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { buildToolSearchIndex, type SearchableTool } from '../../src/domain/tool-search.js';

export const FIXTURES = new URL('../fixtures/tool-search/', import.meta.url);

export interface LabelledRequest {
  readonly api: string;
  readonly request: string;
  /** `METHOD /path` as the document writes it; any of them answers the request. */
  readonly answers: readonly string[];
  /** Kept out of sight while the ranker was tuned. */
  readonly heldOut: boolean;
}

export interface LabelledSet {
  readonly apis: Readonly<Record<string, { readonly package: string; readonly file: string; readonly title: string }>>;
  readonly requests: readonly LabelledRequest[];
}

export interface Recall {
  readonly requests: number;
  readonly at1: number;
  readonly at5: number;
}

export interface Miss {
  readonly api: string;
  readonly request: string;
  readonly heldOut: boolean;
  readonly expected: readonly string[];
  /** 1-based rank of the first right answer in the top 20, or null. */
  readonly rank: number | null;
  readonly top: readonly string[];
}

export interface RecallReport {
  readonly all: Recall;
  readonly tuning: Recall;
  readonly heldOut: Recall;
  /** Requests whose answer was not first. */
  readonly misses: readonly Miss[];
}

export function labelledSet(): LabelledSet {
  return JSON.parse(readFileSync(new URL('requests.json', FIXTURES), 'utf8')) as LabelledSet;
}

/** The committed search catalogue of one API of the labelled set. */
export function committedCatalogue(api: string): SearchableTool[] {
  const file = new URL(`${api}.json.gz`, FIXTURES);
  return (JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as { tools: SearchableTool[] }).tools;
}

/** Recall@1 and @5 of tool search over the labelled requests, with one index per API. */
export function measureRecall(set: LabelledSet, catalogues: ReadonlyMap<string, readonly SearchableTool[]>) {
  const outcomes = Object.keys(set.apis).flatMap((api) => {
    const tools = catalogues.get(api);
    if (tools === undefined) throw new Error(`no catalogue for ${api}`);
    const index = buildToolSearchIndex(tools);
    return set.requests
      .filter((request) => request.api === api)
      .map((request) => {
        const right = answerNames(tools, request);
        const top = index.search(request.request, 20).map((hit) => hit.name);
        const at = top.findIndex((name) => right.has(name));
        return { request, rank: at < 0 ? null : at + 1, top: top.slice(0, 5) };
      });
  });
  const recall = (part: typeof outcomes): Recall => ({
    requests: part.length,
    at1: part.filter((o) => o.rank === 1).length / (part.length || 1),
    at5: part.filter((o) => o.rank !== null && o.rank <= 5).length / (part.length || 1),
  });
  const report: RecallReport = {
    all: recall(outcomes),
    tuning: recall(outcomes.filter((o) => !o.request.heldOut)),
    heldOut: recall(outcomes.filter((o) => o.request.heldOut)),
    misses: outcomes
      .filter((o) => o.rank !== 1)
      .map((o) => ({
        api: o.request.api,
        request: o.request.request,
        heldOut: o.request.heldOut,
        expected: o.request.answers,
        rank: o.rank,
        top: o.top,
      })),
  };
  return report;
}

/** The tool names of a request's answers; a label that names no operation of the document is an error. */
function answerNames(tools: readonly SearchableTool[], request: LabelledRequest): Set<string> {
  const names = new Set<string>();
  for (const answer of request.answers) {
    const [method, path] = answer.split(' ');
    const tool = tools.find((t) => t.method === method && t.path === path);
    if (tool === undefined)
      throw new Error(`${request.api}: "${request.request}" names ${answer}, not in the document`);
    names.add(tool.name);
  }
  return names;
}
