// The legacy RPC HMAC-SHA1 test vectors captured from @alicloud/openapi-client with signatureAlgorithm "v2".
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rpcSignature, rpcStringToSign } from './rpc-signature.js';

const common = {
  Action: 'UpdateConnection',
  Format: 'json',
  Version: '2020-05-18',
  Timestamp: '2026-11-23T08:23:23Z',
  SignatureMethod: 'HMAC-SHA1',
  SignatureVersion: '1.0',
  AccessKeyId: 'testid',
};
const callerParameters = {
  ConnectionId: '123',
  Content: '{"host":"h","password":"p1"}',
  EnvType: '0',
  RegionId: 'cn-shanghai',
  Description: 'desc x',
  Status: '0',
};

describe('legacy RPC HMAC-SHA1 signatures', () => {
  it('builds the string to sign of the query-only vector', () => {
    const parameters = { ...common, SignatureNonce: 'ff9a4ae59a7107c104cff78dcd0ce7c6', ...callerParameters, Signature: 'ignored' };
    assert.equal(
      rpcStringToSign('POST', parameters),
      'POST&%2F&AccessKeyId%3Dtestid%26Action%3DUpdateConnection%26ConnectionId%3D123%26Content%3D%257B%2522host%2522%253A%2522h%2522%252C%2522password%2522%253A%2522p1%2522%257D%26Description%3Ddesc%2520x%26EnvType%3D0%26Format%3Djson%26RegionId%3Dcn-shanghai%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3Dff9a4ae59a7107c104cff78dcd0ce7c6%26SignatureVersion%3D1.0%26Status%3D0%26Timestamp%3D2026-11-23T08%253A23%253A23Z%26Version%3D2020-05-18',
    );
    assert.equal(rpcSignature('POST', parameters, 'testsecret'), 'tlC+UfTrSXB5ZCDkN9epkkOnIgY=');
  });

  it('covers form-body parameters the same way as query ones', () => {
    const parameters = { ...common, SignatureNonce: 'd28c02b2f62a5483c4e8ba4e0d60fe32', ...callerParameters };
    assert.equal(rpcSignature('POST', parameters, 'testsecret'), 'CU3Tz5MKfkFKlOTKjZ20k8Lgfqc=');
  });

  it('does not match with another secret', () => {
    const parameters = { ...common, SignatureNonce: 'd28c02b2f62a5483c4e8ba4e0d60fe32', ...callerParameters };
    assert.notEqual(rpcSignature('POST', parameters, 'other'), 'CU3Tz5MKfkFKlOTKjZ20k8Lgfqc=');
  });
});
