// The whole check of a signed request, on the SDK-captured test vectors: key lookup, signature, body hash,
// date window, nonce replay and disabled principals, for ACS3 and the legacy RPC style.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SigningKey } from '../../services/access-key-service.js';
import { authenticateAlibaba, type AlibabaAuthDeps, type SignedRequest } from './authenticate.js';
import { AlibabaError } from './errors.js';
import { BAILIAN_ACS3, DATAWORKS_RPC } from '../../../test/support/alibaba-vectors.js';

const principal = (status: 'active' | 'disabled') => ({
  id: 'prn_1',
  name: 'signer',
  status,
  roles: new Map([['default', 'editor' as const]]),
});

function depsFor(at: string, status: 'active' | 'disabled' = 'active'): AlibabaAuthDeps {
  const seen = new Set<string>();
  const key: SigningKey = {
    principal: principal(status),
    isActive: status === 'active',
    secret: 'testsecret',
    defaultWorkspaceId: 'default',
  };
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

const body = Buffer.from(BAILIAN_ACS3.body);
const acs3: SignedRequest = {
  method: BAILIAN_ACS3.method,
  path: BAILIAN_ACS3.path,
  query: {},
  rawBody: body,
  formParameters: {},
  headers: { ...BAILIAN_ACS3.headers, authorization: BAILIAN_ACS3.authorization },
};

const rpcQuery = {
  ...DATAWORKS_RPC.common,
  SignatureNonce: DATAWORKS_RPC.inQuery.nonce,
  ...DATAWORKS_RPC.parameters,
  Signature: DATAWORKS_RPC.inQuery.signature,
};
const rpc: SignedRequest = {
  method: 'POST',
  path: '/',
  query: rpcQuery,
  rawBody: Buffer.alloc(0),
  formParameters: {},
  headers: { host: '127.0.0.1:41373' },
};

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
    assert.equal(
      (await refusal(authenticateAlibaba(acs3, depsFor('2026-11-23T08:08:15Z'), ROA))).code,
      'InvalidTimeStamp.Expired',
    );
  });

  it('refuses a body other than the one hashed, a changed header and an unknown key', async () => {
    const deps = () => depsFor('2026-11-23T08:23:16Z');
    const tampered = { ...acs3, rawBody: Buffer.from('ConnectorName=evil&Description=d') };
    assert.equal((await refusal(authenticateAlibaba(tampered, deps(), ROA))).code, 'SignatureDoesNotMatch');
    const moved = { ...acs3, headers: { ...acs3.headers, 'x-acs-action': 'DeleteConnector' } };
    const error = await refusal(authenticateAlibaba(moved, deps(), ROA));
    assert.equal(error.code, 'SignatureDoesNotMatch');
    assert.ok(
      !error.message.includes('testsecret') && !error.message.includes('7f6c3983'),
      'no secret or signature in the message',
    );
    const stranger = {
      ...acs3,
      headers: { ...acs3.headers, authorization: String(acs3.headers.authorization).replace('testid', 'other') },
    };
    const unknown = await refusal(authenticateAlibaba(stranger, deps(), ROA));
    assert.equal(unknown.code, 'InvalidAccessKeyId.NotFound');
    assert.equal(unknown.status, 404);
  });

  it('refuses a correctly signed request of a disabled principal', async () => {
    assert.equal(
      (await refusal(authenticateAlibaba(acs3, depsFor('2026-11-23T08:23:16Z', 'disabled'), ROA))).code,
      'InvalidAccessKeyId.Inactive',
    );
  });

  it('refuses an unsigned request and a ROA v2 signature', async () => {
    const deps = depsFor('2026-11-23T08:23:16Z');
    const { authorization: _a, ...unsigned } = acs3.headers;
    assert.equal(
      (await refusal(authenticateAlibaba({ ...acs3, headers: unsigned }, deps, ROA))).code,
      'MissingAccessKeyId',
    );
    const v2 = { ...acs3, headers: { ...unsigned, authorization: 'acs testid:abc=' } };
    assert.equal((await refusal(authenticateAlibaba(v2, deps, ROA))).code, 'InvalidSignatureMethod');
  });

  it('accepts the legacy RPC vector where RPC signatures are allowed, and only there', async () => {
    const key = await authenticateAlibaba(rpc, depsFor('2026-11-23T08:25:00Z'), RPC);
    assert.equal(key.principal.id, 'prn_1');
    assert.equal(
      (await refusal(authenticateAlibaba(rpc, depsFor('2026-11-23T08:25:00Z'), ROA))).code,
      'MissingAccessKeyId',
    );
  });

  it('accepts the legacy RPC vector with its parameters in the form body', async () => {
    const formParameters = DATAWORKS_RPC.parameters;
    const query = {
      ...DATAWORKS_RPC.common,
      SignatureNonce: DATAWORKS_RPC.inForm.nonce,
      Signature: DATAWORKS_RPC.inForm.signature,
    };
    const key = await authenticateAlibaba({ ...rpc, query, formParameters }, depsFor('2026-11-23T08:25:00Z'), RPC);
    assert.equal(key.principal.id, 'prn_1');
  });

  it('refuses a legacy RPC request with a wrong signature, a replayed nonce or an old Timestamp', async () => {
    const deps = depsFor('2026-11-23T08:25:00Z');
    const wrong = { ...rpc, query: { ...rpcQuery, Description: 'changed' } };
    assert.equal((await refusal(authenticateAlibaba(wrong, deps, RPC))).code, 'SignatureDoesNotMatch');
    await authenticateAlibaba(rpc, deps, RPC);
    assert.equal((await refusal(authenticateAlibaba(rpc, deps, RPC))).code, 'SignatureNonceUsed');
    assert.equal(
      (await refusal(authenticateAlibaba(rpc, depsFor('2026-11-23T09:00:00Z'), RPC))).code,
      'InvalidTimeStamp.Expired',
    );
    const unsigned = { ...rpc, query: { ...rpcQuery, SignatureNonce: '' } };
    assert.equal((await refusal(authenticateAlibaba(unsigned, deps, RPC))).code, 'MissingSignatureNonce');
  });
});
