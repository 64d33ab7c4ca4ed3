/**
 * Recall of tool search on the committed search catalogues (test/fixtures/tool-search/), without the network: the
 * figures `test/tool-search-quality.test.ts` guards, printed. `--misses` lists the requests of the tuning part whose
 * answer was not first; the held-out requests' misses are never printed, so that tuning cannot look at them.
 *
 *   node --import tsx bench/toolsets/recall.ts [--misses]
 */
import { committedCatalogue, labelledSet, measureRecall, type Recall } from '../../test/support/tool-search-quality.js';

const set = labelledSet();
const report = measureRecall(set, new Map(Object.keys(set.apis).map((api) => [api, committedCatalogue(api)])));
const line = (part: string, recall: Recall) =>
  console.log(
    `${part.padEnd(12)} ${String(recall.requests).padStart(3)}  @1 ${recall.at1.toFixed(3)}  @5 ${recall.at5.toFixed(3)}`,
  );
line('all', report.all);
line('tuning part', report.tuning);
line('held out', report.heldOut);
if (process.argv.includes('--misses')) {
  for (const miss of report.misses.filter((m) => !m.heldOut))
    console.log(`  ${miss.api}: "${miss.request}" rank ${miss.rank ?? '>20'} → ${miss.top.join(', ')}`);
}
