/**
 * Writes the search catalogues the tool-search quality test reads (test/fixtures/tool-search/<api>.json.gz), one
 * per API of the labelled set, from the real documents (fetched from the npm registry, see corpus.ts) through the
 * real converter. Only what the index reads is kept. Run: `node --import tsx bench/toolsets/write-search-fixtures.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { FIXTURES, labelledSet } from '../../test/support/tool-search-quality.js';
import { say } from '../common/plugboard.js';
import { packageFile } from './corpus.js';
import { searchCatalogue } from './search-catalogue.js';

const set = labelledSet();
for (const [api, source] of Object.entries(set.apis)) {
  const tools = searchCatalogue(readFileSync(packageFile(source.package, source.file), 'utf8'));
  const json = JSON.stringify({ api, source: `${source.package} ${source.file}`, tools });
  const gzipped = gzipSync(json, { level: 9 });
  writeFileSync(new URL(`${api}.json.gz`, FIXTURES), gzipped);
  say(`${api}: ${tools.length} tools, ${json.length} bytes of JSON, ${gzipped.length} gzipped`);
}
