import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from '../../../domain/connection.js';
import { AlibabaError } from '../errors.js';
import {
  connectionItem,
  contentOf,
  dataworksFieldName,
  envTypeOf,
  filterOf,
  longOf,
  matches,
  pageParameterOf,
  required,
  statusOf,
} from './wire.js';

const codeOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof AlibabaError);
    assert.equal(error.status, 400);
    return error.code;
  }
  assert.fail('expected a refusal');
};

const connection: Connection = {
  id: 7,
  uid: 'cnu_0123456789abcdef',
  workspaceId: 'default',
  connectorId: null,
  name: 'Warehouse',
  type: 'mysql',
  envType: 1,
  description: null,
  status: 'active',
  content: { host: 'db', password: '******' },
  variables: [],
  credentials: [],
  health: { state: 'failing', checkedAt: null, message: 'refused' },
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-02T00:00:00.000Z',
  revision: 3,
  ownerUserId: null,
};

describe('DataWorks parameters', () => {
  it('reads a Long id and refuses anything but positive digits', () => {
    assert.equal(longOf('123', 'ConnectionId'), 123);
    for (const bad of ['abc', '-1', '0', '1.5', '1e3', ' 1', '12345678901234567890'])
      assert.equal(
        codeOf(() => longOf(bad, 'ConnectionId')),
        'InvalidParameter',
      );
  });

  it('names a missing parameter in its code', () => {
    assert.equal(
      codeOf(() => required({}, 'RegionId')),
      'MissingRegionId',
    );
    assert.equal(
      codeOf(() => required({ RegionId: ' ' }, 'RegionId')),
      'MissingRegionId',
    );
    assert.equal(required({ RegionId: 'cn-shanghai' }, 'RegionId'), 'cn-shanghai');
  });

  it('takes EnvType 0 or 1 and Status as ENABLED/DISABLED or their numbers', () => {
    assert.equal(envTypeOf('1'), 1);
    assert.equal(
      codeOf(() => envTypeOf('2')),
      'InvalidParameter',
    );
    assert.equal(statusOf('enabled'), 'active');
    assert.equal(statusOf('0'), 'active');
    assert.equal(statusOf('DISABLED'), 'disabled');
    assert.equal(statusOf('2'), 'disabled');
    assert.equal(
      codeOf(() => statusOf('paused')),
      'InvalidParameter',
    );
  });

  it('takes Content only as a JSON object', () => {
    assert.deepEqual(contentOf('{"host":"h","port":1}'), { host: 'h', port: 1 });
    for (const bad of ['{', '[]', '"text"', 'null', '3'])
      assert.equal(
        codeOf(() => contentOf(bad)),
        'InvalidParameter',
      );
  });

  it('bounds page numbers and sizes', () => {
    assert.equal(pageParameterOf(undefined, 'PageSize', 10, 100), 10);
    assert.equal(pageParameterOf('100', 'PageSize', 10, 100), 100);
    for (const bad of ['0', '101', 'x', '-1'])
      assert.equal(
        codeOf(() => pageParameterOf(bad, 'PageSize', 10, 100)),
        'InvalidParameter',
      );
  });

  it("names core fields by DataWorks' parameter names", () => {
    assert.equal(dataworksFieldName('/type'), 'ConnectionType');
    assert.equal(dataworksFieldName('/content/password'), 'Content.password');
    assert.equal(dataworksFieldName(''), 'request');
  });
});

describe('DataWorks connection listing', () => {
  it('filters by part of the name, type, environment and status; a subtype matches nothing', () => {
    assert.ok(
      matches(connection, filterOf({ Name: 'house', ConnectionType: 'MySQL', EnvType: '1', Status: 'ENABLED' })),
    );
    assert.ok(!matches(connection, filterOf({ EnvType: '0' })));
    assert.ok(!matches(connection, filterOf({ Status: 'DISABLED' })));
    assert.ok(!matches(connection, filterOf({ SubType: 'mysql' })));
  });

  it('renders a connection with its Content as a JSON string and numeric statuses', () => {
    const item = connectionItem(connection, 42);
    assert.equal(item.Content, '{"host":"db","password":"******"}');
    assert.equal(item.Status, 1);
    assert.equal(item.ConnectStatus, 2);
    assert.equal(item.ProjectId, 42);
    assert.equal(item.Description, '');
  });
});
