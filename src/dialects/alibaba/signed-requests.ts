import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessKeyService, SigningKey } from '../../services/access-key-service.js';
import type { NonceService } from '../../services/nonce-service.js';
import { authenticateAlibaba, authenticateBeforeBody, type AuthOptions } from './authenticate.js';
import { nulCharacterFound } from '../../domain/nul-character.js';
import { nulCharacterInRequest } from '../../http/input-checks.js';
import { requestOriginOf } from '../../http/request-origin.js';
import { bodyLimitOf } from '../../http/body-limit.js';
import { AlibabaError } from './errors.js';
import { mediaTypeOf } from '../../http/media-type.js';

/** What checking a signed request needs: the AccessKeys it was signed with and the nonces already used. */
export interface SigningDeps {
  readonly accessKeys: AccessKeyService;
  readonly nonces: NonceService;
}

const signers = new WeakMap<FastifyRequest, SigningKey>();
const rawBodies = new WeakMap<FastifyRequest, Buffer>();

/** The body bytes as received; empty for a request without a body. */
export const rawBodyOf = (request: FastifyRequest): Buffer => rawBodies.get(request) ?? Buffer.alloc(0);

/** The AccessKey that signed the request; only set once the signature checked out. */
export function signerOf(request: FastifyRequest): SigningKey {
  const signer = signers.get(request);
  if (!signer) throw new Error('signerOf called on a request that was not authenticated');
  return signer;
}

const isForm = (request: FastifyRequest) => mediaTypeOf(request.headers) === 'application/x-www-form-urlencoded';

/** Decoded `name=value` pairs; a repeated name keeps its last value, as the SDKs never repeat one. */
export function parametersOf(text: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(text));
}

// A request's query and form are decoded once: the NUL check, the signature and the route all read them (and a
// DataWorks request carries the whole connection, URL-encoded, in one of them).
const queries = new WeakMap<FastifyRequest, Readonly<Record<string, string>>>();
const forms = new WeakMap<FastifyRequest, Readonly<Record<string, string>>>();

/** The form body's parameters; empty when the body is not a form (or not read yet). */
export function formOf(request: FastifyRequest): Readonly<Record<string, string>> {
  const known = forms.get(request);
  if (known) return known;
  const raw = rawBodies.get(request);
  if (raw === undefined || !isForm(request)) return {};
  const form = parametersOf(raw.toString('utf8'));
  forms.set(request, form);
  return form;
}

/** The query as the signature saw it: decoded from the raw URL. */
export function queryOf(request: FastifyRequest): Readonly<Record<string, string>> {
  const known = queries.get(request);
  if (known) return known;
  const at = request.url.indexOf('?');
  const query = at < 0 ? {} : parametersOf(request.url.slice(at + 1));
  queries.set(request, query);
  return query;
}

/**
 * Refuses U+0000 in the path, the query and a form body before anything reads them (the signature check looks
 * up the AccessKey and records the nonce): PostgreSQL text cannot hold it. A parameter is named as the product
 * names it (`/ConnectorName`); JSON inside one is checked where it is parsed (parseJsonInput).
 */
function refuseNulCharacter(request: FastifyRequest): void {
  const path = nulCharacterInRequest(
    { params: request.params, query: queryOf(request), body: formOf(request) },
    { atRoot: true },
  );
  if (path !== undefined) throw nulCharacterFound(path);
}

/**
 * Makes every route of this (encapsulated) plugin take its body as raw bytes, so that the body hash is
 * computed over exactly what arrived (chunked or not), and authenticates each request by its Alibaba
 * signature before any route runs. The request's actor is the AccessKey's principal.
 */
export function registerAlibabaAuth(app: FastifyInstance, deps: SigningDeps, options: AuthOptions): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    rawBodies.set(request, body as Buffer);
    done(null, body);
  });
  // A route with a body limit of its own (a toolset's document, up to TOOLSET_MAX_DOCUMENT_BYTES) reads its body
  // only for a request an enabled AccessKey signed: the signature covers the headers, the body's hash among them.
  app.addHook('preParsing', async (request, _reply, payload) => {
    if (bodyLimitOf(request).setting === 'BODY_LIMIT') return payload;
    const at = request.url.indexOf('?');
    await authenticateBeforeBody(
      {
        method: request.method,
        path: at < 0 ? request.url : request.url.slice(0, at),
        query: queryOf(request),
        headers: request.headers,
      },
      { accessKeys: deps.accessKeys, nonces: deps.nonces, now: Date.now },
    );
    return payload;
  });
  app.addHook('preValidation', async (request) => {
    refuseNulCharacter(request);
    const at = request.url.indexOf('?');
    const signer = await authenticateAlibaba(
      {
        method: request.method,
        path: at < 0 ? request.url : request.url.slice(0, at),
        query: queryOf(request),
        headers: request.headers,
        rawBody: rawBodyOf(request),
        formParameters: formOf(request),
      },
      { accessKeys: deps.accessKeys, nonces: deps.nonces, now: Date.now },
      options,
    );
    signers.set(request, signer);
    request.actor = { principal: signer.principal, requestId: request.id, requestOrigin: requestOriginOf(request) };
  });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-acs-request-id', request.id);
    return payload;
  });
}

/** The signer's default workspace, where products without a workspace in the request act. */
export function defaultWorkspaceOf(request: FastifyRequest): string {
  const workspaceId = signerOf(request).defaultWorkspaceId;
  if (!workspaceId) throw new AlibabaError(403, 'NoPermission', 'This AccessKey has no default workspace to act in.');
  return workspaceId;
}
