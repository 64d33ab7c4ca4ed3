import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkPrecondition, etagOf, ifMatchPasses, ifNoneMatchHits, parseEtagList } from './etag.js';

const state = { revision: 3, createdAt: '2026-01-02T03:04:05.678Z' };

describe('ETags', () => {
  it('is a strong, quoted tag that changes with the revision', () => {
    assert.match(etagOf(state), /^"[^"]+"$/);
    assert.notEqual(etagOf(state), etagOf({ ...state, revision: 4 }));
  });

  it('differs for a resource created again under the same id', () => {
    assert.notEqual(etagOf(state), etagOf({ ...state, createdAt: '2026-01-02T03:04:06.000Z' }));
  });

  it('changes with the shown server-managed state, which If-Match ignores and If-None-Match does not', () => {
    const plain = etagOf(state);
    const before = etagOf({ ...state, shownState: 'aaaa' });
    const after = etagOf({ ...state, shownState: 'bbbb' });
    assert.notEqual(before, after);
    assert.notEqual(before, plain);
    assert.ok(ifMatchPasses(after, [before]) && ifMatchPasses(after, [plain]) && ifMatchPasses(plain, [after]));
    assert.ok(!ifMatchPasses(after, [etagOf({ ...state, revision: 2, shownState: 'bbbb' })]));
    assert.ok(!ifMatchPasses(after, [`W/${after}`]));
    assert.ok(!ifNoneMatchHits(after, [before]));
    assert.ok(ifNoneMatchHits(after, [after]));
  });

  it('parses lists of tags, weak tags and the star', () => {
    assert.deepEqual(parseEtagList('"a", W/"b" ,"c"'), ['"a"', 'W/"b"', '"c"']);
    assert.deepEqual(parseEtagList('*'), ['*']);
    assert.equal(parseEtagList(undefined), undefined);
    assert.deepEqual(parseEtagList('garbage'), []);
  });

  it('compares strongly for If-Match: a weak tag never matches', () => {
    const tag = etagOf(state);
    assert.ok(ifMatchPasses(tag, [tag]));
    assert.ok(ifMatchPasses(tag, ['"x"', '*']));
    assert.ok(!ifMatchPasses(tag, [`W/${tag}`]));
    assert.ok(!ifMatchPasses(tag, []));
  });

  it('compares weakly for If-None-Match', () => {
    const tag = etagOf(state);
    assert.ok(ifNoneMatchHits(tag, [`W/${tag}`]));
    assert.ok(ifNoneMatchHits(tag, ['*']));
    assert.ok(!ifNoneMatchHits(tag, ['"other"']));
  });

  it('passes a write without If-Match and refuses a stale one', () => {
    assert.ok(checkPrecondition(state, undefined));
    assert.ok(checkPrecondition(state, {}));
    assert.ok(!checkPrecondition(state, { ifMatch: [etagOf({ ...state, revision: 2 })] }));
    assert.ok(!checkPrecondition(state, { ifMatch: [] }));
  });
});
