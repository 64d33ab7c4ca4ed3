import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allows, checkToolsets, isExpired } from './access-client.js';

describe('allows', () => {
  it('lets an active client call the toolsets it names, and every toolset with "*"', () => {
    assert.equal(allows({ status: 'active', toolsets: ['weather', 'crm'] }, 'crm'), true);
    assert.equal(allows({ status: 'active', toolsets: ['weather'] }, 'crm'), false);
    assert.equal(allows({ status: 'active', toolsets: ['*'] }, 'anything'), true);
    assert.equal(allows({ status: 'active', toolsets: [] }, 'weather'), false);
  });

  it('lets a disabled client call nothing', () => {
    assert.equal(allows({ status: 'disabled', toolsets: ['*'] }, 'weather'), false);
  });
});

describe('checkToolsets', () => {
  it('accepts names or "*" alone, and points at duplicates and at "*" among names', () => {
    assert.deepEqual(checkToolsets(['a', 'b']), []);
    assert.deepEqual(checkToolsets(['*']), []);
    assert.deepEqual(
      checkToolsets(['a', 'b', 'a']).map((e) => e.path),
      ['/toolsets/2'],
    );
    assert.deepEqual(
      checkToolsets(['*', 'a']).map((e) => e.path),
      ['/toolsets'],
    );
  });
});

describe('isExpired', () => {
  it('treats a token without an expiry as live and one at or past its expiry as expired', () => {
    const now = '2025-01-01T00:00:00.000Z';
    assert.equal(isExpired({ expiresAt: null }, now), false);
    assert.equal(isExpired({ expiresAt: '2025-01-01T00:00:00.001Z' }, now), false);
    assert.equal(isExpired({ expiresAt: now }, now), true);
  });
});
