import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cutText } from './cut-text.js';

describe('cutText', () => {
  it('keeps a text within the limit as it is and cuts a longer one to the limit, ellipsis included', () => {
    assert.equal(cutText('short', 5), 'short');
    assert.equal(cutText('longer text', 7), 'longer…');
    assert.equal(cutText('longer text', 7).length, 7);
  });

  it('never leaves half of a surrogate pair where it cuts', () => {
    const text = `abc\u{1F4C5}def`;
    assert.equal(cutText(text, 5), 'abc…');
    assert.equal(cutText(text, 6), `abc\u{1F4C5}…`);
    assert.equal(cutText('Lists the events 📅 of a calendar', 19), 'Lists the events …');
    const loneHalf = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    for (let max = 1; max < text.length; max++) assert.doesNotMatch(cutText(text, max), loneHalf, String(max));
  });
});
