// Helpers for driving the Alibaba dialects with the official SDKs against a listening plugboard.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as core from '@alicloud/openapi-core';
import { acs3Signature, canonicalQuery, sha256Hex } from '../../src/dialects/alibaba/acs3-signature.js';
import { OWNER_KEY, type TestApp } from './stores.js';

export interface AccessKeyPair {
  readonly id: string;
  readonly secret: string;
  readonly principalId: string;
}

/** Listens on 127.0.0.1 and returns the `host:port` the SDKs take as their endpoint. */
export async function listenForSdk(app: TestApp): Promise<string> {
  await app.server.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.server.address();
  assert.ok(address && typeof address === 'object');
  return `127.0.0.1:${address.port}`;
}

/** A new Alibaba AccessKey pair for a new service principal with `role` in `workspaceId`, through the native API. */
export async function createAlibabaKey(
  app: TestApp,
  role: string,
  workspaceId = 'default',
  key = OWNER_KEY,
): Promise<AccessKeyPair> {
  const reply = await app.call('POST', `/api/v1/workspaces/${workspaceId}/access-keys`, {
    body: { name: `alibaba ${role}`, kind: 'alibaba', role },
    key,
  });
  assert.equal(reply.status, 201, reply.text);
  return { id: reply.body.id, secret: reply.body.secret, principalId: reply.body.principalId };
}

/** The openapi-core Config the product SDKs take, pointed at plugboard over plain HTTP. */
export function sdkConfig(endpoint: string, pair: { id: string; secret: string }) {
  return new core.$OpenApiUtil.Config({
    accessKeyId: pair.id,
    accessKeySecret: pair.secret,
    endpoint,
    protocol: 'http',
  });
}

/** What the SDK threw, with the fields scripts read. */
export interface SdkError {
  name: string;
  statusCode: number;
  code: string;
  message: string;
  requestId?: string;
  retryAfter?: number;
  data: Record<string, unknown>;
}

/** Runs a call that must fail and returns the SDK's error; fails the test when the call succeeds. */
export async function sdkError(call: () => Promise<unknown>): Promise<SdkError> {
  try {
    await call();
  } catch (error) {
    return error as SdkError;
  }
  assert.fail('the call succeeded but was expected to fail');
}

/** Checks the fields of an SDK error the way a script would read them. */
export function assertSdkError(error: SdkError, status: number, code: string, name?: string): void {
  assert.equal(error.statusCode, status, `${error.name}: ${error.message}`);
  assert.equal(error.code, code, error.message);
  if (name) assert.equal(error.name, name);
  const requestId = error.requestId ?? (error.data?.RequestId as string | undefined);
  assert.ok(requestId && requestId !== 'undefined', 'the error carries the request id');
}

/** Audit events of one resource, newest first, through the native API. */
export async function auditOf(
  app: TestApp,
  resourceType: string,
  resourceId: string,
  workspaceId = 'default',
): Promise<any[]> {
  const reply = await app.call(
    'GET',
    `/api/v1/workspaces/${workspaceId}/audit?resourceType=${resourceType}&resourceId=${encodeURIComponent(resourceId)}`,
  );
  assert.equal(reply.status, 200, reply.text);
  return reply.body.items;
}

export interface SignedInjection {
  readonly method: string;
  readonly path: string;
  readonly query?: Record<string, string>;
  readonly body?: string;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
}

/**
 * A request signed with ACS3 by hand and sent in process (no listener), for inputs the SDKs never send: odd
 * characters in a path, a query or a form, JSON nested too deep. Answers with the status and the parsed body.
 */
export async function injectAcs3(
  app: TestApp,
  pair: { id: string; secret: string },
  request: SignedInjection,
): Promise<{ status: number; body: any; text: string }> {
  const { method, path, query = {}, body = '' } = request;
  const headers: Record<string, string> = {
    host: 'plugboard.test',
    'x-acs-date': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'x-acs-signature-nonce': randomBytes(16).toString('hex'),
    'x-acs-content-sha256': sha256Hex(body),
    ...(request.contentType ? { 'content-type': request.contentType } : {}),
    ...request.headers,
  };
  const signature = acs3Signature({ method, path, query, headers }, pair.secret);
  headers.authorization = `ACS3-HMAC-SHA256 Credential=${pair.id},SignedHeaders=${Object.keys(headers).sort().join(';')},Signature=${signature}`;
  const search = canonicalQuery(query);
  const reply = await app.server.inject({
    method: method as 'GET',
    url: search === '' ? path : `${path}?${search}`,
    headers,
    payload: body,
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply.body);
  } catch {
    parsed = undefined;
  }
  return { status: reply.statusCode, body: parsed, text: reply.body };
}
