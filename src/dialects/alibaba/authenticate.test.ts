// The whole check of a signed request, on the SDK-captured test vectors: key lookup, signature, body hash,
// date window, nonce replay and disabled principals, for ACS3 and the legacy RPC style.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SigningKey } from '../../services/access-key-service.js';
import { authenticateAlibaba, type AlibabaAuthDeps, type SignedRequest } from './authenticate.js';
import { AlibabaError } from './errors.js';

const principal = (status: 'active' | 'disabled') => ({ id: 'prn_1', name: 'signer', status, roles: new Map([['default', 'editor' as const]]) });

function depsFor(at: string, status: 'active' | 'disabled' = 'active'): AlibabaAuthDeps {
  const seen = new Set<string>();
  const key: SigningKey = { principal: principal(status), secret: 'testsecret', defaultWorkspaceId: 'default' };
  return {
    accessKeys: { findAccessKeyOfAnyStatus: async (id: string) => (id === 'testid' ? key : undefined) },
    nonces: {
      claim: async (scope: string, nonce: string) => {
        const fresh = !seen.has(`${scope}\n${nonce}`);
        seen.add(`${scope}\n${nonce}`);
        return fresh;
      },
    },
    now: () => Date.parse(at),
  };
}

const body = Buffer.from('ConnectorName=n%20ame*~!&Description=d');
const acs3: SignedRequest = {
  method: 'PUT',
  path: '/ws-1/datacenter/connector/conn_1',
  query: {},
  rawBody: body,
  formParameters: {},
  headers: {
    host: '127.0.0.1:46759',
    'x-acs-version': '2023-12-29',
    'x-acs-action': 'UpdateConnector',
    'user-agent': 'AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.0.1 TeaDSL/2',
    'x-acs-date': '2026-11-23T08:23:16Z',
    'x-acs-signature-nonce': 'ef2d0f7e646b7f0efec8da35ee200e01564e27b7d34609889c112f875d615c2b',
    accept: 'application/json',
    'content-type': 'application/x-www-form-urlencoded',
    'x-acs-content-sha256': '010dd36b1f254ce2c2a5960d450f92499a32f8d8d2f92fa389c4c28beee6215d',
    'x-acs-credentials-provider': 'static_ak',
    'transfer-encoding': 'chunked',
    authorization:
      'ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=content-type;host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=7f6c3983b0dab9b2c644e17ce6688f2b447174ddd1379bcaaa3f59596af7f773',
  },
};

const rpcQuery = {
  Action: 'UpdateConnection',
  Format: 'json',
  Version: '2020-05-18',
  Timestamp: '2026-11-23T08:23:23Z',
  SignatureNonce: 'ff9a4ae59a7107c104cff78dcd0ce7c6',
  ConnectionId: '123',
  Content: '{"host":"h","password":"p1"}',
  EnvType: '0',
  RegionId: 'cn-shanghai',
  Description: 'desc x',
  Status: '0',
  SignatureMethod: 'HMAC-SHA1',
  SignatureVersion: '1.0',
  AccessKeyId: 'testid',
  Signature: 'tlC+UfTrSXB5ZCDkN9epkkOnIgY=',
};
const rpc: SignedRequest = { method: 'POST', path: '/', query: rpcQuery, rawBody: Buffer.alloc(0), formParameters: {}, headers: { host: '127.0.0.1:41373' } };

async function refusal(promise: Promise<unknown>): Promise<AlibabaError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AlibabaError, String(error));
    return error;
  }
  assert.fail('the request was accepted');
}

const ROA = { acceptRpcSignature: false };
const RPC = { acceptRpcSignature: true };

describe('authenticating Alibaba-signed requests', () => {
  it('accepts the ACS3 vector within the window and gives its key', async () => {
    const key = await authenticateAlibaba(acs3, depsFor('2026-11-23T08:30:00Z'), ROA);
    assert.equal(key.principal.id, 'prn_1');
    assert.equal(key.defaultWorkspaceId, 'default');
  });

  it('refuses the same nonce twice', async () => {
    const deps = depsFor('2026-11-23T08:23:20Z');
    await authenticateAlibaba(acs3, deps, ROA);
    assert.equal((await refusal(authenticateAlibaba(acs3, deps, ROA))).code, 'SignatureNonceUsed');
  });

  it('refuses a date more than 15 minutes away', async () => {
    const error = await refusal(authenticateAlibaba(acs3, depsFor('2026-11-23T08:38:17Z'), ROA));
    assert.equal(error.code, 'InvalidTimeStamp.Expired');
    assert.equal((await refusal(authenticateAlibaba(acs3, depsFor('2026-11-23T08:08:15Z'), ROA))).code, 'InvalidTimeStamp.Expired');
  });

  it('refuses a body other than the one hashed, a changed header and an unknown key', async () => {
    const deps = () => depsFor('2026-11-23T08:23:16Z');
    const tampered = { ...acs3, rawBody: Buffer.from('ConnectorName=evil&Description=d') };
    assert.equal((await refusal(authenticateAlibaba(tampered, deps(), ROA))).code, 'SignatureDoesNotMatch');
    const moved = { ...acs3, headers: { ...acs3.headers, 'x-acs-action': 'DeleteConnector' } };
    const error = await refusal(authenticateAlibaba(moved, deps(), ROA));
    assert.equal(error.code, 'SignatureDoesNotMatch');
    assert.ok(!error.message.includes('testsecret') && !error.message.includes('7f6c3983'), 'no secret or signature in the message');
    const stranger = { ...acs3, headers: { ...acs3.headers, authorization: String(acs3.headers.authorization).replace('testid', 'other') } };
    const unknown = await refusal(authenticateAlibaba(stranger, deps(), ROA));
    assert.equal(unknown.code, 'InvalidAccessKeyId.NotFound');
    assert.equal(unknown.status, 404);
  });

  it('refuses a correctly signed request of a disabled principal', async () => {
    assert.equal((await refusal(authenticateAlibaba(acs3, depsFor('2026-11-23T08:23:16Z', 'disabled'), ROA))).code, 'InvalidAccessKeyId.Inactive');
  });

  it('refuses an unsigned request and a ROA v2 signature', async () => {
    const deps = depsFor('2026-11-23T08:23:16Z');
    const { authorization: _a, ...unsigned } = acs3.headers;
    assert.equal((await refusal(authenticateAlibaba({ ...acs3, headers: unsigned }, deps, ROA))).code, 'MissingAccessKeyId');
    const v2 = { ...acs3, headers: { ...unsigned, authorization: 'acs testid:abc=' } };
    assert.equal((await refusal(authenticateAlibaba(v2, deps, ROA))).code, 'InvalidSignatureMethod');
  });

  it('accepts the legacy RPC vector where RPC signatures are allowed, and only there', async () => {
    const key = await authenticateAlibaba(rpc, depsFor('2026-11-23T08:25:00Z'), RPC);
    assert.equal(key.principal.id, 'prn_1');
    assert.equal((await refusal(authenticateAlibaba(rpc, depsFor('2026-11-23T08:25:00Z'), ROA))).code, 'MissingAccessKeyId');
  });

  it('accepts the legacy RPC vector with its parameters in the form body', async () => {
    const { ConnectionId, Content, EnvType, RegionId, Description, Status, ...common } = rpcQuery;
    const formParameters = { ConnectionId, Content, EnvType, RegionId, Description, Status };
    const query = { ...common, SignatureNonce: 'd28c02b2f62a5483c4e8ba4e0d60fe32', Signature: 'CU3Tz5MKfkFKlOTKjZ20k8Lgfqc=' };
    const key = await authenticateAlibaba({ ...rpc, query, formParameters }, depsFor('2026-11-23T08:25:00Z'), RPC);
    assert.equal(key.principal.id, 'prn_1');
  });

  it('refuses a legacy RPC request with a wrong signature, a replayed nonce or an old Timestamp', async () => {
    const deps = depsFor('2026-11-23T08:25:00Z');
    const wrong = { ...rpc, query: { ...rpcQuery, Description: 'changed' } };
    assert.equal((await refusal(authenticateAlibaba(wrong, deps, RPC))).code, 'SignatureDoesNotMatch');
    await authenticateAlibaba(rpc, deps, RPC);
    assert.equal((await refusal(authenticateAlibaba(rpc, deps, RPC))).code, 'SignatureNonceUsed');
    assert.equal((await refusal(authenticateAlibaba(rpc, depsFor('2026-11-23T09:00:00Z'), RPC))).code, 'InvalidTimeStamp.Expired');
    const unsigned = { ...rpc, query: { ...rpcQuery, SignatureNonce: '' } };
    assert.equal((await refusal(authenticateAlibaba(unsigned, deps, RPC))).code, 'MissingSignatureNonce');
  });
});
