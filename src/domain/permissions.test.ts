import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIONS, can, canGrant, type Principal, type Role } from './permissions.js';

const principal = (role: Role | undefined, status: Principal['status'] = 'active'): Principal => ({
  id: 'p',
  name: 'p',
  status,
  roles: new Map(role ? [['ws', role]] : []),
});

describe('can', () => {
  it('tells a non-member apart from a forbidden member', () => {
    assert.equal(can(principal(undefined), 'connector:read', 'ws'), 'not-member');
    assert.equal(can(principal('viewer'), 'connector:read', 'other'), 'not-member');
    assert.equal(can(principal('viewer'), 'connector:update', 'ws'), 'forbidden');
  });

  it('lets viewers read, editors write resources, admins manage members, owners delete the workspace', () => {
    assert.equal(can(principal('viewer'), 'connection:read', 'ws'), 'allowed');
    assert.equal(can(principal('editor'), 'connection:update', 'ws'), 'allowed');
    assert.equal(can(principal('editor'), 'member:manage', 'ws'), 'forbidden');
    assert.equal(can(principal('admin'), 'member:manage', 'ws'), 'allowed');
    assert.equal(can(principal('admin'), 'workspace:delete', 'ws'), 'forbidden');
    assert.equal(can(principal('owner'), 'workspace:delete', 'ws'), 'allowed');
  });

  it('gives a stronger role every action of a weaker one', () => {
    const order: Role[] = ['viewer', 'editor', 'admin', 'owner'];
    for (const action of ACTIONS) {
      const allowed = order.map((role) => can(principal(role), action, 'ws') === 'allowed');
      assert.deepEqual(
        allowed,
        [...allowed].sort((a, b) => Number(a) - Number(b)),
        action,
      );
    }
  });

  it('refuses everything to a disabled principal', () => {
    assert.equal(can(principal('owner', 'disabled'), 'connector:read', 'ws'), 'forbidden');
  });

  it("grants roles up to one's own only", () => {
    assert.ok(canGrant('admin', 'editor'));
    assert.ok(canGrant('admin', 'admin'));
    assert.ok(!canGrant('admin', 'owner'));
  });
});
