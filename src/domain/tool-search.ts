import { WRITE_TERM, isReadVerb, isStopword, methodVerb, normalise, relatedTerms, splitWords } from './search-terms.js';

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
const k1 = 1.6;
// A word repeated in a name or a path (`/calendars/{calendar-id}/calendar`) says no more than the word once: those
// fields count each term once, and only descriptions count repetitions.
const fields = {
  name: { weight: 3, b: 0.5, distinct: true },
  summary: { weight: 1.5, b: 0.5, distinct: true },
  path: { weight: 2, b: 0.75, distinct: true },
  verb: { weight: 1, b: 0, distinct: true },
  // The last literal segment of the path: what the operation acts on (see `resourceOf`).
  resource: { weight: 2, b: 0, distinct: true },
  tags: { weight: 1.5, b: 0.3, distinct: true },
  description: { weight: 1, b: 0.75, distinct: false },
  parameters: { weight: 0.5, b: 0.5, distinct: true },
} as const;
type Field = keyof typeof fields;
const fieldNames = Object.keys(fields) as Field[];
/** See `depthPrior`. */
const depthWeight = 0.3;
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
  const read = createTermReader();
  const postings = buildPostings(tools.map((tool) => fieldTexts(tool, read)));
  const isKnown = (term: string) => postings.has(term);
  // Scratch space for one query (search is synchronous), allocated once: every search leaves the scores zeroed.
  const scratch: Scratch = {
    scores: new Float64Array(tools.length),
    concept: new Float64Array(tools.length),
    touched: new Uint32Array(tools.length),
    conceptDocs: new Uint32Array(tools.length),
  };
  const prior = Float64Array.from(tools, (tool) => depthPrior(tool.path ?? ''));
  const byLowerName = new Map<string, number>();
  names.forEach((name, doc) => {
    if (!byLowerName.has(name.toLowerCase())) byLowerName.set(name.toLowerCase(), doc);
  });
  return {
    size: tools.length,
    search(query, limit) {
      const count = Math.min(Math.floor(limit), tools.length);
      if (!(count > 0)) return [];
      const { scores, touched } = scratch;
      let found = scoreQuery(queryTerms(query, isKnown), postings, tools.length, scratch);
      for (let i = 0; i < found; i++) {
        const doc = touched[i] as number;
        scores[doc] = (scores[doc] as number) * (prior[doc] as number);
      }
      // A query that is exactly a tool's name (an agent looking one up) puts that tool first.
      const exact = byLowerName.get(query.trim().toLowerCase());
      if (exact !== undefined) {
        if (scores[exact] === 0) touched[found++] = exact;
        let top = 0;
        for (let i = 0; i < found; i++) top = Math.max(top, scores[touched[i] as number] as number);
        scores[exact] = top + 1;
      }
      const hits = topHits(touched.subarray(0, found), scores, names, count);
      for (let i = 0; i < found; i++) scores[touched[i] as number] = 0;
      return hits;
    },
  };
}

interface FieldText {
  readonly terms: readonly string[];
  /** Words in the field, stopwords and path parameters included: `memberOf` is longer than `members`. */
  readonly length: number;
}

/** Splits a text into words and terms, remembering each word's term: tools repeat the same few words. */
function createTermReader() {
  const cache = new Map<string, string | null>();
  return (text: string): FieldText => {
    const words = splitWords(text);
    const terms: string[] = [];
    for (const word of words) {
      let term = cache.get(word);
      if (term === undefined) cache.set(word, (term = isStopword(word) ? null : normalise(word)));
      if (term !== null) terms.push(term);
    }
    return { terms, length: words.length };
  };
}

function fieldTexts(tool: SearchableTool, read: (text: string) => FieldText): Record<Field, FieldText> {
  const path = tool.path ?? '';
  const verbs = tool.method === undefined ? [] : methodVerb(tool.method, path);
  // Path parameters ({user-id}) describe what the operation needs, not what it is about: they join the parameters,
  // and only count towards the path's length.
  const pathParameters = [...path.matchAll(/\{([^}]*)\}/g)].map((match) => match[1] ?? '');
  const description = tool.description ?? '';
  const texts: Record<Field, readonly string[]> = {
    name: [tool.name],
    // The converter puts the summary first; its first sentence is what the operation does, in a few words.
    summary: [/^[^\n]*?(?:[.!?](?=\s)|\n|$)/.exec(description)?.[0] ?? ''],
    path: [path.replace(/\{[^}]*\}/g, ' ')],
    resource: [resourceOf(path)],
    verb: [],
    tags: tool.tags ?? [],
    description: [description],
    parameters: [...(tool.parameterNames ?? []), ...pathParameters],
  };
  // The verbs are terms already.
  const result = {} as Record<Field, FieldText>;
  result.verb = { terms: verbs, length: verbs.length };
  for (const field of fieldNames) {
    if (field === 'verb') continue;
    const parts = texts[field].map(read);
    const terms = parts.flatMap((text) => text.terms);
    const words = parts.reduce((sum, text) => sum + text.length, 0);
    result[field] = {
      terms: fields[field].distinct ? [...new Set(terms)] : terms,
      length: field === 'path' ? words + pathParameters.length : words,
    };
  }
  return result;
}

/** A path's literal segments: neither parameters (`{id}`) nor OData's `$ref`, `$value`, `$count`. */
function literalSegments(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '' && !segment.startsWith('{') && !segment.startsWith('$'));
}

/**
 * The last literal segment of a path: what the operation acts on (`/repos/{owner}/{repo}/issues/{n}` → `issues`,
 * `/groups/{group-id}/members/$ref` → `members`). A request names that thing; the segments before it only say
 * where it is.
 */
function resourceOf(path: string): string {
  return literalSegments(path).at(-1) ?? '';
}

/**
 * How much a tool's score keeps for the depth of its path: 1 / (1 + 0.3 · ln(1 + literal segments)). Large APIs
 * reach one resource along many paths (Graph's `/me/messages` is also `/me/mailFolders/{id}/messages`, and members
 * of a group's team sit under `/groups/{id}/team/members`); the shallow path is the resource's own, the deep ones
 * are views of it through others. The prior is mild (a tool 8 segments deep keeps 0.80 of the score it would have 2 deep) so
 * that it orders near-ties and never outweighs a term the request used.
 */
function depthPrior(path: string): number {
  return 1 / (1 + depthWeight * Math.log(1 + literalSegments(path).length));
}

function buildPostings(docs: readonly Record<Field, FieldText>[]): Map<string, Postings> {
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
      for (const term of doc[field].terms) {
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

/** A query term and how much it counts. */
interface QueryTerm {
  readonly term: string;
  readonly weight: number;
}

/** Words that start a request's modifier: "list the nodes *of the cluster*", "open an issue *in a repository*". */
const prepositions = new Set(['in', 'of', 'for', 'to', 'on', 'from', 'at', 'into', 'with', 'by', 'within', 'inside']);
/** How much a word of a modifier counts: it says where the thing is, not what the request is about. */
const modifierWeight = 0.5;
/** Words that, right after a request's first word, show that word to be a verb with its object: "star *a* repo". */
const objectStarts = new Set(['a', 'an', 'the', 'my', 'our', 'your', 'this', 'that', 'these', 'those', 'some', 'all']);
/** How much an action's request (its first word a verb that is not a read) favours operations that write. */
const writeWeight = 1;

/**
 * The terms of a query, matched against the words the tools use: two words the tools write as one are joined
 * ("to do" finds `todo`, "pay out" finds `payouts`), and a word no tool uses is split into two that they do
 * ("onedrive" finds `drive`). Words after the first preposition count less (see `modifierWeight`).
 */
function queryTerms(query: string, isKnown: (term: string) => boolean): QueryTerm[] {
  const words = splitWords(query);
  const terms: QueryTerm[] = [];
  let weight = 1;
  // "comment on an issue", "star a repository", "scale a deployment": an action asks for a write.
  const [first, second] = query
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
  if (first !== undefined && second !== undefined && !isStopword(first) && !isReadVerb(normalise(first))) {
    if (objectStarts.has(second) || prepositions.has(second)) terms.push({ term: WRITE_TERM, weight: writeWeight });
  }
  words.forEach((word, i) => {
    if (prepositions.has(word) && i > 0) weight = modifierWeight;
    const next = words[i + 1];
    const joined = next === undefined ? '' : normalise(word + next);
    if (joined !== '' && isKnown(joined)) terms.push({ term: joined, weight });
    if (isStopword(word)) return;
    const term = normalise(word);
    for (const part of isKnown(term) ? [term] : (splitCompound(word, isKnown) ?? [term])) {
      terms.push({ term: part, weight });
    }
  });
  return terms;
}

/** The split of a word into two known terms whose shorter part is longest, or null. */
function splitCompound(word: string, isKnown: (term: string) => boolean): string[] | null {
  let best: string[] | null = null;
  let bestShorter = 0;
  for (let at = 2; at <= word.length - 2; at++) {
    const [head, tail] = [word.slice(0, at), word.slice(at)];
    if (isStopword(head) || isStopword(tail)) continue;
    const parts = [normalise(head), normalise(tail)];
    const shorter = Math.min(head.length, tail.length);
    if (shorter > bestShorter && parts.every(isKnown)) [best, bestShorter] = [parts, shorter];
  }
  return best;
}

interface Scratch {
  readonly scores: Float64Array;
  readonly concept: Float64Array;
  readonly touched: Uint32Array;
  readonly conceptDocs: Uint32Array;
}

/**
 * Adds each query term's BM25 score to `scores`, writes the documents it touched to the start of `touched` and
 * returns how many. A term and its related words are one concept, scored as one term (as Lucene's SynonymQuery
 * does): the related words' frequencies count at a discount, and the concept's idf is that of its most frequent
 * word, so a rare synonym cannot outweigh the word the request used.
 */
function scoreQuery(
  terms: readonly QueryTerm[],
  postings: ReadonlyMap<string, Postings>,
  documents: number,
  { scores, concept, touched, conceptDocs }: Scratch,
): number {
  let found = 0;
  // A term written twice counts once, at its higher weight.
  const weights = new Map<string, number>();
  for (const { term, weight } of terms) weights.set(term, Math.max(weight, weights.get(term) ?? 0));
  for (const [term, weight] of weights) {
    let inConcept = 0;
    let df = 0;
    const add = (list: Postings | undefined, share: number) => {
      if (list === undefined) return;
      df = Math.max(df, list.df);
      for (let i = 0; i < list.docs.length; i++) {
        const doc = list.docs[i] as number;
        if (concept[doc] === 0) conceptDocs[inConcept++] = doc;
        concept[doc] = (concept[doc] as number) + share * (list.tf[i] as number);
      }
    };
    add(postings.get(term), 1);
    for (const other of relatedTerms(term)) add(postings.get(other), relatedWeight);
    const idf = Math.log(1 + (documents - df + 0.5) / (df + 0.5));
    for (let i = 0; i < inConcept; i++) {
      const doc = conceptDocs[i] as number;
      const tf = concept[doc] as number;
      if (scores[doc] === 0) touched[found++] = doc;
      scores[doc] = (scores[doc] as number) + (weight * idf * tf * (k1 + 1)) / (k1 + tf);
      concept[doc] = 0;
    }
  }
  return found;
}

function topHits(touched: Uint32Array, scores: Float64Array, names: readonly string[], limit: number) {
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
