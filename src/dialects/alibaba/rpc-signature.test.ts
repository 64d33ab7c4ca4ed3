// The legacy RPC HMAC-SHA1 test vectors captured from @alicloud/openapi-client with signatureAlgorithm "v2".
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rpcSignature, rpcStringToSign } from './rpc-signature.js';
import { DATAWORKS_RPC } from '../../../test/support/alibaba-vectors.js';

const { common, parameters: callerParameters } = DATAWORKS_RPC;

describe('legacy RPC HMAC-SHA1 signatures', () => {
  it('builds the string to sign of the query-only vector', () => {
    const parameters = {
      ...common,
      SignatureNonce: DATAWORKS_RPC.inQuery.nonce,
      ...callerParameters,
      Signature: 'ignored',
    };
    assert.equal(
      rpcStringToSign('POST', parameters),
      'POST&%2F&AccessKeyId%3Dtestid%26Action%3DUpdateConnection%26ConnectionId%3D123%26Content%3D%257B%2522host%2522%253A%2522h%2522%252C%2522password%2522%253A%2522p1%2522%257D%26Description%3Ddesc%2520x%26EnvType%3D0%26Format%3Djson%26RegionId%3Dcn-shanghai%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3Dff9a4ae59a7107c104cff78dcd0ce7c6%26SignatureVersion%3D1.0%26Status%3D0%26Timestamp%3D2026-11-23T08%253A23%253A23Z%26Version%3D2020-05-18',
    );
    assert.equal(rpcSignature('POST', parameters, 'testsecret'), DATAWORKS_RPC.inQuery.signature);
  });

  it('covers form-body parameters the same way as query ones', () => {
    const parameters = { ...common, SignatureNonce: DATAWORKS_RPC.inForm.nonce, ...callerParameters };
    assert.equal(rpcSignature('POST', parameters, 'testsecret'), DATAWORKS_RPC.inForm.signature);
  });

  it('does not match with another secret', () => {
    const parameters = { ...common, SignatureNonce: DATAWORKS_RPC.inForm.nonce, ...callerParameters };
    assert.notEqual(rpcSignature('POST', parameters, 'other'), DATAWORKS_RPC.inForm.signature);
  });
});
