// How tool search turns text into terms: words split the way API names are written, lower-cased, lightly stemmed,
// with a few abbreviations spelled out. The same function reads tools and queries, so both meet on the same terms.
// docs/mcp-gateway.md ("Tool search") explains the choices.

/** Words too common in requests to say anything about which operation is meant. */
const stopwords = new Set(
  (
    'a an the of to for in on at by with from into onto and or is are was be been being do does can could would ' +
    'should will shall please i we you it its this that these those there here some any via using how what which ' +
    'who whom whose want need like just also then than so as if about all'
  ).split(' '),
);

const vowel = /[aeiouy]/;
const doubledConsonant = /([^aeiouylsz])\1$/;

/** Abbreviations and spellings APIs mix freely, mapped onto one form (after stemming). */
const canonical = new Map<string, string>(
  [
    ['repo', 'repository'],
    ['org', 'organization'],
    ['organisation', 'organization'],
    ['msg', 'message'],
    ['info', 'information'],
    ['config', 'configuration'],
    ['param', 'parameter'],
    ['env', 'environment'],
    ['my', 'me'],
    ['mine', 'me'],
  ].map(([word, spelled]) => [word as string, stemWord(spelled as string)]),
);

/**
 * Splits text into words the way identifiers are written: camelCase and PascalCase humps (an acronym ends before
 * the next capitalised word: `HTTPResponse` is `http response`), digits stay with the letters before them (`v1`),
 * and anything that is neither letter nor digit (`_`, `-`, `.`, `/`, `{`, spaces) separates words.
 */
export function splitWords(text: string): string[] {
  return text
    .replace(/(\p{Ll}|\p{N})(\p{Lu})/gu, '$1 $2')
    .replace(/(\p{Lu}+)(\p{Lu}\p{Ll})/gu, '$1 $2')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 1 || /\d/.test(word));
}

/** The search terms of a text: its words without stopwords, stemmed and canonicalised. */
export function searchTerms(text: string): string[] {
  return splitWords(text)
    .filter((word) => !stopwords.has(word))
    .map(normalise);
}

/** One word's term: a light stemmer (plurals, `-ed`, `-ing`, a final `e`) and then the canonical spelling. */
export function normalise(word: string): string {
  const stem = stemWord(word);
  return canonical.get(stem) ?? stem;
}

/**
 * Removes the endings that make the same API word look different in a name and in a request: `events`/`event`,
 * `policies`/`policy`, `branches`/`branch`, `created`/`create`, `listing`/`list`, `stopped`/`stop`. It is much
 * lighter than Porter's algorithm on purpose: identifiers are short, and a stem must still look like its word.
 */
function stemWord(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  let stem = word;
  if (stem.endsWith('ies') && stem.length > 4) stem = `${stem.slice(0, -3)}y`;
  else if (/(?:ss|x|z|ch|sh)es$/.test(stem)) stem = stem.slice(0, -2);
  else if (stem.endsWith('s') && !/(?:ss|us|is)$/.test(stem)) stem = stem.slice(0, -1);
  if (stem.endsWith('ing') && stem.length > 5 && vowel.test(stem.slice(0, -3))) stem = undouble(stem.slice(0, -3));
  else if (stem.endsWith('ed') && !stem.endsWith('eed') && stem.length > 4 && vowel.test(stem.slice(0, -2))) {
    stem = undouble(stem.slice(0, -2));
  }
  // `create`, `created` and `creating` all end as `creat`; `message` and `messages` as `messag`.
  if (stem.endsWith('e') && stem.length > 3) stem = stem.slice(0, -1);
  return stem;
}

function undouble(stem: string): string {
  return doubledConsonant.test(stem) ? stem.slice(0, -1) : stem;
}

/**
 * Verbs that requests and API documents use for the same action. A query term also looks for the other words of
 * its groups, at a lower weight (see tool-search.ts): "remove a member" still finds `deleteMember`.
 */
const relatedGroups = [
  'get list fetch retrieve read show view',
  'create add new make insert post open',
  'update modify change edit patch set replace',
  'delete remove destroy erase drop purge',
  'search find query lookup filter',
  'send post deliver publish',
  'start run launch trigger execute begin',
  'stop cancel halt terminate abort',
].map((group) => group.split(' ').map(normalise));

const related = new Map<string, readonly string[]>();
for (const group of relatedGroups) {
  for (const term of group) {
    const others = new Set([...(related.get(term) ?? []), ...group.filter((other) => other !== term)]);
    related.set(term, [...others]);
  }
}

/** The terms related to a term (its synonyms in API language), without the term itself. */
export function relatedTerms(term: string): readonly string[] {
  return related.get(term) ?? [];
}

/**
 * The verb an HTTP method stands for, as a term: in a REST API the method is the operation's verb. GET on a path
 * that ends in a parameter reads one thing (`get`), on any other path it lists (`list`).
 */
export function methodVerb(method: string, path: string): string | null {
  switch (method.toUpperCase()) {
    case 'GET':
      return /\}\/?$/.test(path) ? 'get' : 'list';
    case 'POST':
      return normalise('create');
    case 'PUT':
    case 'PATCH':
      return normalise('update');
    case 'DELETE':
      return normalise('delete');
    default:
      return null;
  }
}
