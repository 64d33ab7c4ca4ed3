// The ACS3-HMAC-SHA256 test vectors captured from the official SDKs (wire/alibaba-acs3.md, wire/alibaba-rpc.md).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BAILIAN_ACS3, DATAWORKS_RPC } from '../../../test/support/alibaba-vectors.js';
import {
  acs3Signature,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  parseAcs3Authorization,
  sha256Hex,
  stringToSign,
} from './acs3-signature.js';

const bailianHeaders = BAILIAN_ACS3.headers;
const bailianRequest = { method: BAILIAN_ACS3.method, path: BAILIAN_ACS3.path, query: {}, headers: bailianHeaders };

describe('ACS3-HMAC-SHA256 signatures', () => {
  it('hashes the form body exactly as the SDK sent it', () => {
    assert.equal(sha256Hex(Buffer.from(BAILIAN_ACS3.body)), bailianHeaders['x-acs-content-sha256']);
  });

  it('builds the canonical request of the Bailian UpdateConnector vector', () => {
    const expected = [
      'PUT',
      '/ws-1/datacenter/connector/conn_1',
      '',
      'content-type:application/x-www-form-urlencoded',
      'host:127.0.0.1:46759',
      'x-acs-action:UpdateConnector',
      'x-acs-content-sha256:010dd36b1f254ce2c2a5960d450f92499a32f8d8d2f92fa389c4c28beee6215d',
      'x-acs-credentials-provider:static_ak',
      'x-acs-date:2026-11-23T08:23:16Z',
      'x-acs-signature-nonce:ef2d0f7e646b7f0efec8da35ee200e01564e27b7d34609889c112f875d615c2b',
      'x-acs-version:2023-12-29',
      '',
      'content-type;host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version',
      '010dd36b1f254ce2c2a5960d450f92499a32f8d8d2f92fa389c4c28beee6215d',
    ].join('\n');
    assert.equal(canonicalRequest(bailianRequest), expected);
    assert.equal(
      stringToSign(bailianRequest),
      'ACS3-HMAC-SHA256\n53dcdfa169c33c06a436b9cd968e1d1bdaef2d5cf968554ca9fca24b3fc297f6',
    );
  });

  it('reproduces the Bailian UpdateConnector signature', () => {
    assert.equal(
      acs3Signature(bailianRequest, 'testsecret'),
      '7f6c3983b0dab9b2c644e17ce6688f2b447174ddd1379bcaaa3f59596af7f773',
    );
  });

  it('does not match with another secret', () => {
    assert.notEqual(
      acs3Signature(bailianRequest, 'testsecreT'),
      '7f6c3983b0dab9b2c644e17ce6688f2b447174ddd1379bcaaa3f59596af7f773',
    );
  });

  it('reproduces the DataWorks RPC signature with the parameters in the query', () => {
    const query = DATAWORKS_RPC.parameters;
    assert.equal(
      canonicalQuery(query),
      'ConnectionId=123&Content=%7B%22host%22%3A%22h%22%2C%22password%22%3A%22p1%22%7D&Description=desc%20x&EnvType=0&RegionId=cn-shanghai&Status=0',
    );
    const request = {
      method: 'POST',
      path: '/',
      query,
      headers: {
        host: '127.0.0.1:41373',
        'x-acs-version': '2020-05-18',
        'x-acs-action': 'UpdateConnection',
        'x-acs-date': '2026-11-23T08:23:23Z',
        'x-acs-signature-nonce': 'ea4eac5cacf7cf1a73d9b1c934c9cfc4',
        'x-acs-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        'x-acs-credentials-provider': 'static_ak',
        'content-length': '0',
      },
    };
    assert.equal(
      stringToSign(request),
      'ACS3-HMAC-SHA256\n944421a4579e45b9017f7c8a889cb8865304317a24be55a6f9d70930d8c7d160',
    );
    assert.equal(
      acs3Signature(request, 'testsecret'),
      '21bd91afd203b81c513c40b0cb5c6e996fd1d93ed5b923fd07aaa0c1df1c59a1',
    );
  });

  it('re-encodes a query value with a space as %20', () => {
    assert.equal(
      canonicalQuery({ ConnectorName: 'a b', ConnectorId: 'conn_1' }),
      'ConnectorId=conn_1&ConnectorName=a%20b',
    );
  });

  it('applies the SDK replacements to the raw path', () => {
    assert.equal(canonicalUri('/a+b/c*d/e%7Ef'), '/a%20b/c%2Ad/e~f');
    assert.equal(canonicalUri(''), '/');
  });

  it('reads the three parts of the Authorization header', () => {
    const header =
      'ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=content-type;host;x-acs-action,Signature=7f6c3983b0dab9b2c644e17ce6688f2b447174ddd1379bcaaa3f59596af7f773';
    assert.deepEqual(parseAcs3Authorization(header), {
      accessKeyId: 'testid',
      signedHeaders: 'content-type;host;x-acs-action',
      signature: '7f6c3983b0dab9b2c644e17ce6688f2b447174ddd1379bcaaa3f59596af7f773',
    });
    assert.equal(parseAcs3Authorization('ACS3-HMAC-SHA256 Credential=testid'), undefined);
    assert.equal(parseAcs3Authorization('acs testid:abc='), undefined);
  });
});
