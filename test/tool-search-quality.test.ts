import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { committedCatalogue, labelledSet, measureRecall } from './support/tool-search-quality.js';

// The floors sit below the targets (recall@5 ≥ 0.9, recall@1 ≥ 0.6), which `npm run bench:toolsets` reports: a
// change to the ranker that costs more than a few requests fails here.
const floorAt5 = 0.8;
const floorAt1 = 0.5;

describe('tool search quality on real APIs', () => {
  const set = labelledSet();
  const catalogues = new Map(Object.keys(set.apis).map((api) => [api, committedCatalogue(api)]));

  it('has at least 60 labelled requests over at least six real APIs, each answered by an operation they have', () => {
    assert.ok(set.requests.length >= 60, `${set.requests.length} requests`);
    assert.ok(Object.keys(set.apis).length >= 6);
    for (const api of Object.keys(set.apis)) {
      assert.ok(set.requests.filter((r) => r.api === api).length >= 10, `${api} has at least 10 requests`);
    }
    assert.equal(catalogues.get('graph')?.length, 11_422, 'Microsoft Graph v1.0 as published');
  });

  it(`finds the right operation in the top 5 for at least ${floorAt5 * 100} % of requests, first for ${floorAt1 * 100} %`, () => {
    // measureRecall throws when a label names an operation the catalogue does not have.
    const report = measureRecall(set, catalogues);
    const misses = report.misses.map((m) => `${m.api}: "${m.request}" rank ${m.rank ?? '>20'}`).join('\n');
    for (const [part, recall] of [
      ['all', report.all],
      ['held out', report.heldOut],
    ] as const) {
      assert.ok(recall.at5 >= floorAt5, `${part}: recall@5 ${recall.at5.toFixed(2)}\n${misses}`);
      assert.ok(recall.at1 >= floorAt1, `${part}: recall@1 ${recall.at1.toFixed(2)}\n${misses}`);
    }
  });
});
