import type { Dialect } from '../dialect.js';
import type { Services } from '../../services/services.js';
import { parseJsonInput } from '../../domain/json-input.js';
import { nulCharacterInRequest } from '../../http/input-checks.js';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { DomainError, forbidden, unauthenticated, validationFailed } from '../../domain/errors.js';
import { problemOverBudget, takePrincipalBudget, type RateLimits } from '../../http/rate-limit.js';
import type { RateLimiter } from '../../rate-limit/rate-limiter.js';
import type { AccessKeyService } from '../../services/access-key-service.js';
import type { NonceService } from '../../services/nonce-service.js';
import type { TokenService } from '../../services/token-service.js';
import { authenticate } from './auth.js';
import { RequestTimedOut, sendFabricError } from './errors.js';
import { fabricRoutes, type FabricContext, type FabricRouteOptions } from './routes.js';
import { JSON_ONLY, unacceptedMediaType } from '../../http/media-type.js';

export interface HuaweiFabricOptions {
  readonly accessClients: FabricRouteOptions['accessClients'];
  readonly accessKeys: Pick<AccessKeyService, 'findAkSk'>;
  readonly tokens: Pick<TokenService, 'authenticateToken'>;
  readonly nonces: Pick<NonceService, 'claim'>;
  readonly rateLimiter: RateLimiter;
  readonly rateLimits: RateLimits;
  /** A request still unanswered after this long gets 408 `common.00000408`. */
  readonly timeoutMs: number;
}

const PREFIX = '/v1/access-clients';
const WITH_BODY = new Set(['POST', 'PUT']);

/** The JSON object of a POST or PUT, read from the bytes the signature was checked over. */
function parseBody(request: FastifyRequest, raw: Buffer | undefined): unknown {
  if (unacceptedMediaType(request.headers, JSON_ONLY, { required: true }) !== undefined)
    throw new DomainError('unsupported-media-type', 'Send the body as JSON with Content-Type: application/json.');
  if (raw === undefined || raw.length === 0)
    throw validationFailed([], 'The request body is empty; send a JSON object.');
  let body: unknown;
  try {
    body = parseJsonInput(raw.toString('utf8'));
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw validationFailed(
      [],
      'failed to read http request, please check your input, code: 400, reason: the body is not valid JSON.',
    );
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw validationFailed([], 'The request body must be a JSON object.');
  return body;
}

/** The Fabric routes in their own encapsulated context: their body parser, hooks and error envelope stay here. */
async function fabricContext(app: FastifyInstance, options: HuaweiFabricOptions): Promise<void> {
  const contexts = new WeakMap<FastifyRequest, FabricContext>();
  const timers = new WeakMap<FastifyRequest, NodeJS.Timeout>();
  const stopTimer = (request: FastifyRequest) => clearTimeout(timers.get(request));

  // Bodies stay raw bytes until the signature over them is checked; the JSON is parsed after that.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.setErrorHandler((error, request, reply) => sendFabricError(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendFabricError(
      new DomainError(
        'not-found',
        `response status exception, code: 404, no route ${request.method} ${request.url.split('?')[0]}`,
      ),
      request,
      reply,
    ),
  );

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const timer = setTimeout(() => {
      if (!reply.sent) sendFabricError(new RequestTimedOut(options.timeoutMs), request, reply);
    }, options.timeoutMs);
    timers.set(request, timer);
    reply.raw.once('close', () => clearTimeout(timer));
  });
  app.addHook('onResponse', async (request) => stopTimer(request));
  app.addHook('onRequestAbort', async (request) => stopTimer(request));

  app.addHook('preValidation', async (request, reply) => {
    try {
      const raw = Buffer.isBuffer(request.body) ? request.body : undefined;
      const result = await authenticate(
        {
          method: request.method,
          url: request.raw.url ?? request.url,
          headers: request.headers,
          body: raw ?? Buffer.alloc(0),
        },
        {
          authenticateToken: (token) => options.tokens.authenticateToken(token),
          findAkSk: (ak) => options.accessKeys.findAkSk(ak),
          claimSignature: (ak, signature, ttlMs) =>
            claimOnce(request, options.nonces, `huawei:${ak}`, signature, ttlMs),
          now: Date.now,
        },
      );
      if (!result.ok) {
        request.log.info({ reason: result.reason }, 'huawei fabric credential refused');
        throw unauthenticated(
          `Incorrect token or signature (IAM authentication failed): ${result.reason.replace(/\.$/, '')}.`,
        );
      }
      const { principal, workspaceId } = result.caller;
      if (workspaceId === null)
        throw forbidden('This credential has no default workspace; issue the token or access key for a workspace.');
      contexts.set(request, { actor: { principal, requestId: request.id }, workspaceId });
      // The core's per-principal limit for the request's class, shared with the native API.
      const { refuse, remaining } = problemOverBudget(reply.header.bind(reply));
      await takePrincipalBudget(request, principal.id, options.rateLimiter, options.rateLimits, refuse, { remaining });
      request.body = WITH_BODY.has(request.method) ? parseBody(request, raw) : undefined;
      if (nulCharacterInRequest(request) !== undefined)
        throw validationFailed([], 'The request must not contain the NUL character (U+0000).');
    } catch (error) {
      // Answered already by the timeout: nothing more to say to this caller.
      if (reply.sent) return;
      throw error;
    }
  });

  const contextOf = (request: FastifyRequest): FabricContext => {
    const context = contexts.get(request);
    if (!context) throw unauthenticated('The request was not authenticated.');
    return context;
  };
  await app.register(fabricRoutes, { accessClients: options.accessClients, contextOf });
}

/** A signature as a nonce; when the nonce store cannot answer, the request is refused with 503, not let through. */
async function claimOnce(
  request: FastifyRequest,
  nonces: Pick<NonceService, 'claim'>,
  scope: string,
  nonce: string,
  ttlMs: number,
): Promise<boolean> {
  try {
    return await nonces.claim(scope, nonce, ttlMs);
  } catch (error) {
    request.log.error({ err: error }, 'nonce store unavailable');
    throw new DomainError('service-unavailable', 'Replay protection is unavailable; retry shortly.');
  }
}

/**
 * Huawei DataArts Fabric's access-client API at its own paths (`/v1/access-clients`), on plugboard's access
 * clients, with X-Auth-Token or AK/SK authentication and Fabric's error bodies.
 */
export const huaweiFabricDialect: FastifyPluginAsync<HuaweiFabricOptions> = async (app, options) => {
  await app.register(fabricContext, { ...options, prefix: PREFIX });
};

/** What the Fabric dialect takes from the composition root. */
export interface HuaweiFabricDeps {
  readonly services: Pick<Services, 'accessClients' | 'accessKeys' | 'tokens' | 'nonces'>;
  readonly rateLimiter: RateLimiter;
  readonly rateLimits: RateLimits;
  readonly huaweiFabricTimeoutMs: number;
}

export const huaweiFabric: Dialect<HuaweiFabricDeps> = {
  name: 'huawei-fabric',
  register: async (app, { services, rateLimiter, rateLimits, huaweiFabricTimeoutMs }) => {
    await app.register(huaweiFabricDialect, { ...services, rateLimiter, rateLimits, timeoutMs: huaweiFabricTimeoutMs });
  },
};
