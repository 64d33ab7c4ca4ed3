import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../../domain/permissions.js';
import { unauthenticated } from '../../domain/errors.js';
import {
  authenticate,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  parseAuthorization,
  parseSdkDate,
  signatureOf,
  stringToSign,
  verifySignature,
  type AuthDeps,
  type SignedRequest,
} from './auth.js';

// The vectors of wire/huawei-sdk-hmac.md, captured from @huaweicloud/huaweicloud-sdk-core 3.1.211.
const AK = 'testid';
const SK = 'testsecret';
const DATE = '20261123T082425Z';
const BODY = Buffer.from('{"name":"x"}');
const FIRST_SIGNATURE = '3d9ad8fd78fcd00b35ac8541c3e17de9aaa4adb805625eca3e063ccb8efb7de1';
const SECOND_SIGNATURE = 'd5e9e65becee8d71c4fa2efd2d1cca837f189a9776d1a698675b83c0f039ff55';
const FIRST_CANONICAL = [
  'PUT',
  '/v1/access-clients/ac-123/',
  '',
  'content-type:application/json',
  'host:127.0.0.1:35117',
  'x-sdk-date:20261123T082425Z',
  '',
  'content-type;host;x-sdk-date',
  '0229d37e33daae149bf40543a5ce1db4459d10f830d5139279aa2bfd5f6485a1',
].join('\n');

const principal: Principal = {
  id: 'prn_signer',
  name: 'signer',
  status: 'active',
  roles: new Map([['default', 'editor']]),
};
const signedAt = parseSdkDate(DATE);

function request(
  overrides: { url?: string; headers?: IncomingHttpHeaders; body?: Buffer; method?: string } = {},
): SignedRequest {
  return {
    method: overrides.method ?? 'PUT',
    url: overrides.url ?? '/v1/access-clients/ac-123',
    headers: { 'content-type': 'application/json', host: '127.0.0.1:35117', 'x-sdk-date': DATE, ...overrides.headers },
    body: overrides.body ?? BODY,
  };
}

const authorization = (signature: string, signed = 'content-type;host;x-sdk-date', ak = AK) =>
  `SDK-HMAC-SHA256 Access=${ak}, SignedHeaders=${signed}, Signature=${signature}`;

function deps(overrides: Partial<AuthDeps> = {}): AuthDeps {
  return {
    authenticateToken: async () => {
      throw unauthenticated('The token is not valid (unknown, expired or revoked).');
    },
    findAkSk: async (ak) =>
      ak === AK ? { principal, isActive: true, secret: SK, defaultWorkspaceId: 'default' } : undefined,
    claimSignature: (() => {
      const seen = new Set<string>();
      return async (ak: string, signature: string) =>
        !seen.has(`${ak}:${signature}`) && Boolean(seen.add(`${ak}:${signature}`));
    })(),
    now: () => signedAt,
    ...overrides,
  };
}

describe('Huawei SDK-HMAC-SHA256 signatures', () => {
  it('builds the canonical request of the first vector, trailing slash and empty query line included', () => {
    assert.equal(
      canonicalRequest(request(), ['content-type', 'host', 'x-sdk-date'], FIRST_CANONICAL.split('\n').at(-1)!),
      FIRST_CANONICAL,
    );
  });

  it('hashes the canonical request into the documented string to sign', () => {
    assert.equal(
      stringToSign(DATE, FIRST_CANONICAL),
      `SDK-HMAC-SHA256\n${DATE}\n38a12e96941be562c834856c7fe455257208ee5dc6d18f9f4de5db0924bd136a`,
    );
  });

  it('computes the signature of the first vector', () => {
    assert.equal(signatureOf(SK, stringToSign(DATE, FIRST_CANONICAL)), FIRST_SIGNATURE);
  });

  it('sorts and expands the query of the second vector', () => {
    assert.equal(canonicalQuery('b=x%20y&a=1&a=2'), 'a=1&a=2&b=x%20y');
    assert.equal(canonicalQuery('b=x+y&a=2&a=1'), 'a=1&a=2&b=x%20y');
    assert.equal(canonicalQuery(''), '');
    assert.equal(canonicalQuery('flag'), 'flag=');
  });

  it('re-encodes each path segment and appends the trailing slash only when missing', () => {
    assert.equal(canonicalUri('/v1/access-clients'), '/v1/access-clients/');
    assert.equal(canonicalUri('/v1/access-clients/'), '/v1/access-clients/');
    assert.equal(canonicalUri('/v1/a%20b/%E4%B8%AD(x)'), '/v1/a%20b/%E4%B8%AD%28x%29/');
  });

  it('accepts the first vector as the SDK sent it', async () => {
    const result = await verifySignature(request(), authorization(FIRST_SIGNATURE), deps());
    assert.deepEqual(result, { ok: true, caller: { principal, workspaceId: 'default' } });
  });

  it('accepts the second vector, with a signed project id and a query string', async () => {
    // The project id of the capture is not in the document; "proj-1" is the value that reproduces its signature.
    const second = request({ url: '/v1/access-clients/ac-123?b=x%20y&a=1&a=2', headers: { 'x-project-id': 'proj-1' } });
    const signed = 'content-type;host;x-project-id;x-sdk-date';
    const canonical = canonicalRequest(second, signed.split(';'), FIRST_CANONICAL.split('\n').at(-1)!)!;
    assert.match(canonical, /\na=1&a=2&b=x%20y\n/);
    assert.equal(signatureOf(SK, stringToSign(DATE, canonical)), SECOND_SIGNATURE);
    assert.equal((await verifySignature(second, authorization(SECOND_SIGNATURE, signed), deps())).ok, true);
    const otherProject = { ...second, headers: { ...second.headers, 'x-project-id': 'proj-2' } };
    assert.equal((await verifySignature(otherProject, authorization(SECOND_SIGNATURE, signed), deps())).ok, false);
  });

  it('refuses a changed body, path, query, method or signed header', async () => {
    const variants: SignedRequest[] = [
      request({ body: Buffer.from('{"name":"y"}') }),
      request({ body: Buffer.from('{"name": "x"}') }),
      request({ url: '/v1/access-clients/ac-124' }),
      request({ url: '/v1/access-clients/ac-123?x=1' }),
      request({ method: 'POST' }),
      request({ headers: { host: 'example.com' } }),
    ];
    for (const variant of variants) {
      const result = await verifySignature(variant, authorization(FIRST_SIGNATURE), deps());
      assert.deepEqual(result, { ok: false, reason: 'the signature does not match' });
    }
  });

  it('refuses a signed write seen before, but not a repeated read', async () => {
    const once = deps();
    assert.equal((await verifySignature(request(), authorization(FIRST_SIGNATURE), once)).ok, true);
    const replay = await verifySignature(request(), authorization(FIRST_SIGNATURE), once);
    assert.deepEqual(replay, {
      ok: false,
      reason: 'this signed request was received before (a replay); sign every write anew',
    });
    const read = request({ method: 'GET', body: Buffer.alloc(0) });
    const canonical = canonicalRequest(
      read,
      ['content-type', 'host', 'x-sdk-date'],
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    )!;
    const signature = signatureOf(SK, stringToSign(DATE, canonical));
    for (let i = 0; i < 2; i++) assert.equal((await verifySignature(read, authorization(signature), once)).ok, true);
  });

  it('refuses an X-Sdk-Date more than 15 minutes away, either way, and accepts one within', async () => {
    for (const skew of [15 * 60 * 1000 + 1000, -(15 * 60 * 1000 + 1000)]) {
      const result = await verifySignature(
        request(),
        authorization(FIRST_SIGNATURE),
        deps({ now: () => signedAt + skew }),
      );
      assert.equal(result.ok, false);
      assert.match((result as { reason: string }).reason, /15 minutes/);
    }
    const within = await verifySignature(
      request(),
      authorization(FIRST_SIGNATURE),
      deps({ now: () => signedAt - 14 * 60 * 1000 }),
    );
    assert.equal(within.ok, true);
  });

  it('refuses malformed dates, headers and unknown AKs without naming the secret or the signature', async () => {
    const cases: [SignedRequest, string][] = [
      [request({ headers: { 'x-sdk-date': '2026-11-23T08:24:25Z' } }), authorization(FIRST_SIGNATURE)],
      [request({ headers: { 'x-sdk-date': '20261332T082425Z' } }), authorization(FIRST_SIGNATURE)],
      [request(), authorization(FIRST_SIGNATURE, 'content-type;x-sdk-date')],
      [request(), authorization(FIRST_SIGNATURE, 'content-type;host;x-sdk-date;x-missing')],
      [request(), authorization(FIRST_SIGNATURE, undefined, 'UNKNOWNAK')],
      [request(), `SDK-HMAC-SHA256 Access=${AK},SignedHeaders=content-type;host;x-sdk-date,Signature=zz`],
      [request(), `Bearer ${FIRST_SIGNATURE}`],
      [request({ url: '/v1/access-clients/%E4' }), authorization(FIRST_SIGNATURE)],
    ];
    for (const [req, auth] of cases) {
      const result = await verifySignature(req, auth, deps());
      assert.equal(result.ok, false, auth);
      const reason = (result as { reason: string }).reason;
      assert.ok(!reason.includes(SK) && !reason.includes(FIRST_SIGNATURE), reason);
    }
  });

  it('takes the payload hash from a signed X-Sdk-Content-Sha256 only when it is true to the body', async () => {
    const signed = 'content-type;host;x-sdk-content-sha256;x-sdk-date';
    const unsigned = request({ headers: { 'x-sdk-content-sha256': 'UNSIGNED-PAYLOAD' }, body: Buffer.alloc(0) });
    const canonical = canonicalRequest(unsigned, signed.split(';'), 'UNSIGNED-PAYLOAD')!;
    const good = signatureOf(SK, stringToSign(DATE, canonical));
    assert.equal((await verifySignature(unsigned, authorization(good, signed), deps())).ok, true);
    const withBody = { ...unsigned, body: BODY };
    assert.equal((await verifySignature(withBody, authorization(good, signed), deps())).ok, false);
    const notSigned = await verifySignature(unsigned, authorization(good), deps());
    assert.equal(notSigned.ok, false);
  });

  it('parses the Authorization header with its comma-space separators', () => {
    assert.deepEqual(parseAuthorization(authorization(FIRST_SIGNATURE.toUpperCase())), {
      accessKey: AK,
      signedHeaders: ['content-type', 'host', 'x-sdk-date'],
      signature: FIRST_SIGNATURE,
    });
    assert.equal(
      parseAuthorization(`ACS3-HMAC-SHA256 Credential=${AK},SignedHeaders=host,Signature=${FIRST_SIGNATURE}`),
      undefined,
    );
  });
});

describe('Huawei Fabric authentication', () => {
  it('takes an X-Auth-Token to the core and its default workspace along', async () => {
    const result = await authenticate(
      request({ headers: { 'x-auth-token': ' pbt_abc ' } }),
      deps({
        authenticateToken: async (token) => {
          assert.equal(token, 'pbt_abc');
          return { principal, credential: { kind: 'token', id: 'tok_1', defaultWorkspaceId: 'ws' } };
        },
      }),
    );
    assert.deepEqual(result, { ok: true, caller: { principal, workspaceId: 'ws' } });
  });

  it('refuses a bad token, two credentials at once, and no credential', async () => {
    const bad = await authenticate(request({ headers: { 'x-auth-token': 'pbt_nope' } }), deps());
    assert.equal(bad.ok, false);
    const both = await authenticate(
      request({ headers: { 'x-auth-token': 'pbt_x', authorization: authorization(FIRST_SIGNATURE) } }),
      deps(),
    );
    assert.equal(both.ok, false);
    const none = await authenticate(request(), deps());
    assert.equal(none.ok, false);
  });

  it('signs with an AK/SK when there is no token', async () => {
    const result = await authenticate(request({ headers: { authorization: authorization(FIRST_SIGNATURE) } }), deps());
    assert.equal(result.ok, true);
  });
});
