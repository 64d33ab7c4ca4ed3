import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { versoriFieldOf } from './wire.js';

describe('versoriFieldOf', () => {
  it("writes JSON Pointers in Versori's field form with Versori's names", () => {
    assert.equal(versoriFieldOf('/connectionVariables/1/name'), 'connectionVariables[1].name');
    assert.equal(versoriFieldOf('/documentationUrl'), 'documentationURL');
    assert.equal(versoriFieldOf('/iconUrl'), 'imageURL');
    assert.equal(versoriFieldOf('/isPublic'), 'public');
    assert.equal(versoriFieldOf('query/after'), 'after');
    assert.equal(versoriFieldOf(''), 'body');
    assert.equal(versoriFieldOf('/a~1b/0'), 'a/b[0]');
  });
});
