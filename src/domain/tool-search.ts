import { methodVerb, relatedTerms, searchTerms } from './search-terms.js';

/** What the search reads of a tool. */
export interface SearchableTool {
  /** The tool name as served. */
  readonly name: string;
  /** Summary and description text. */
  readonly description?: string;
  /** HTTP method, upper case. */
  readonly method?: string;
  /** Path template, e.g. /users/{id}/events. */
  readonly path?: string;
  readonly tags?: readonly string[];
  readonly parameterNames?: readonly string[];
}

export interface ToolSearchHit {
  readonly name: string;
  readonly score: number;
}

export interface ToolSearchIndex {
  readonly size: number;
  /** The best-matching tools, best first, ties broken by name; none for a query without a searchable word. */
  search(query: string, limit: number): ToolSearchHit[];
}

// BM25F (Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond", 2009): each field's term
// frequency is normalised by that field's length and weighted, the sum is saturated once per term.
const k1 = 1.2;
// A word repeated in a name or a path (`/calendars/{calendar-id}/calendar`) says no more than the word once: those
// fields count each term once, and only descriptions count repetitions.
const fields = {
  name: { weight: 3, b: 0.5, distinct: true },
  path: { weight: 2, b: 0.75, distinct: true },
  verb: { weight: 1, b: 0, distinct: true },
  tags: { weight: 1.5, b: 0.3, distinct: true },
  description: { weight: 1, b: 0.75, distinct: false },
  parameters: { weight: 0.5, b: 0.5, distinct: true },
} as const;
type Field = keyof typeof fields;
const fieldNames = Object.keys(fields) as Field[];
/** How much a related word (a synonym of a query word) counts against the word itself. */
const relatedWeight = 0.4;

interface Postings {
  /** How many tools hold the term. */
  readonly df: number;
  readonly docs: Uint32Array;
  /** Each document's field-weighted, length-normalised term frequency, computed once when the index is built. */
  readonly tf: Float64Array;
}

/**
 * An in-memory BM25F index over tool names, paths, method verbs, tags, descriptions and parameter names.
 * Pure and deterministic: the same tools and query give the same hits in the same order.
 *
 * @example
 * const index = buildToolSearchIndex([{ name: 'chat_postMessage', description: 'Sends a message to a channel.' }]);
 * index.search('send a message to a channel', 5)[0]?.name; // 'chat_postMessage'
 */
export function buildToolSearchIndex(tools: readonly SearchableTool[]): ToolSearchIndex {
  const names = tools.map((tool) => tool.name);
  const postings = buildPostings(tools.map(fieldTerms));
  // Scratch space for one query (search is synchronous); every search leaves both zeroed.
  const scores = new Float64Array(tools.length);
  const concept = new Float64Array(tools.length);
  const byLowerName = new Map<string, number>();
  names.forEach((name, doc) => {
    if (!byLowerName.has(name.toLowerCase())) byLowerName.set(name.toLowerCase(), doc);
  });
  return {
    size: tools.length,
    search(query, limit) {
      const count = Math.min(Math.floor(limit), tools.length);
      if (!(count > 0)) return [];
      const touched = scoreQuery(searchTerms(query), postings, tools.length, scores, concept);
      // A query that is exactly a tool's name (an agent looking one up) puts that tool first.
      const exact = byLowerName.get(query.trim().toLowerCase());
      if (exact !== undefined) {
        if (scores[exact] === 0) touched.push(exact);
        let top = 0;
        for (const doc of touched) top = Math.max(top, scores[doc] as number);
        scores[exact] = top + 1;
      }
      const hits = topHits(touched, scores, names, count);
      for (const doc of touched) scores[doc] = 0;
      return hits;
    },
  };
}

function fieldTerms(tool: SearchableTool): Record<Field, string[]> {
  const path = tool.path ?? '';
  const verb = tool.method === undefined ? null : methodVerb(tool.method, path);
  // Path parameters ({user-id}) describe what the operation needs, not what it is about: they join the parameters.
  const pathParameters = [...path.matchAll(/\{([^}]*)\}/g)].map((match) => match[1] ?? '');
  const terms: Record<Field, string[]> = {
    name: searchTerms(tool.name),
    path: searchTerms(path.replace(/\{[^}]*\}/g, ' ')),
    verb: verb === null ? [] : [verb],
    tags: (tool.tags ?? []).flatMap(searchTerms),
    description: searchTerms(tool.description ?? ''),
    parameters: [...(tool.parameterNames ?? []), ...pathParameters].flatMap(searchTerms),
  };
  for (const field of fieldNames) if (fields[field].distinct) terms[field] = [...new Set(terms[field])];
  return terms;
}

function buildPostings(docs: readonly Record<Field, string[]>[]): Map<string, Postings> {
  const averageLength = Object.fromEntries(
    fieldNames.map((field) => [field, docs.reduce((sum, doc) => sum + doc[field].length, 0) / (docs.length || 1)]),
  ) as Record<Field, number>;
  // term → document → weighted, length-normalised frequency summed over the fields
  const frequencies = new Map<string, Map<number, number>>();
  docs.forEach((doc, index) => {
    for (const field of fieldNames) {
      const { weight, b } = fields[field];
      const average = averageLength[field];
      const norm = average === 0 ? 1 : 1 - b + (b * doc[field].length) / average;
      for (const term of doc[field]) {
        let byDoc = frequencies.get(term);
        if (byDoc === undefined) frequencies.set(term, (byDoc = new Map<number, number>()));
        byDoc.set(index, (byDoc.get(index) ?? 0) + weight / norm);
      }
    }
  });
  const postings = new Map<string, Postings>();
  for (const [term, byDoc] of frequencies) {
    postings.set(term, { df: byDoc.size, docs: Uint32Array.from(byDoc.keys()), tf: Float64Array.from(byDoc.values()) });
  }
  return postings;
}

/**
 * Adds each query term's BM25 score to `scores` and returns the documents it touched. A term and its related words
 * are one concept, scored as one term (as Lucene's SynonymQuery does): the related words' frequencies count at a
 * discount, and the concept's idf is that of its most frequent word, so a rare synonym cannot outweigh the word
 * the request used.
 */
function scoreQuery(
  terms: readonly string[],
  postings: ReadonlyMap<string, Postings>,
  documents: number,
  scores: Float64Array,
  concept: Float64Array,
): number[] {
  const touched: number[] = [];
  for (const term of new Set(terms)) {
    const conceptDocs: number[] = [];
    let df = 0;
    const add = (list: Postings | undefined, weight: number) => {
      if (list === undefined) return;
      df = Math.max(df, list.df);
      for (let i = 0; i < list.docs.length; i++) {
        const doc = list.docs[i] as number;
        if (concept[doc] === 0) conceptDocs.push(doc);
        concept[doc] = (concept[doc] as number) + weight * (list.tf[i] as number);
      }
    };
    add(postings.get(term), 1);
    for (const other of relatedTerms(term)) add(postings.get(other), relatedWeight);
    const idf = Math.log(1 + (documents - df + 0.5) / (df + 0.5));
    for (const doc of conceptDocs) {
      const tf = concept[doc] as number;
      if (scores[doc] === 0) touched.push(doc);
      scores[doc] = (scores[doc] as number) + (idf * tf * (k1 + 1)) / (k1 + tf);
      concept[doc] = 0;
    }
  }
  return touched;
}

function topHits(touched: readonly number[], scores: Float64Array, names: readonly string[], limit: number) {
  const better = (a: number, b: number) =>
    (scores[b] as number) - (scores[a] as number) || ((names[a] as string) < (names[b] as string) ? -1 : 1);
  // A bounded insertion list: the limit is small next to the number of matching tools.
  const best: number[] = [];
  for (const doc of touched) {
    if (best.length === limit) {
      if (better(doc, best[limit - 1] as number) >= 0) continue;
      best.pop();
    }
    let at = best.length;
    while (at > 0 && better(doc, best[at - 1] as number) < 0) at--;
    best.splice(at, 0, doc);
  }
  return best.map((doc) => ({ name: names[doc] as string, score: scores[doc] as number }));
}
