import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors.js';
import { sendProblem } from './problem.js';

/**
 * Where `vite build console` writes the web console: dist/console, seen from dist/api (the built server)
 * or from src/api (the server run from source).
 */
function builtConsoleDir(): string | undefined {
  return [new URL('../console/', import.meta.url), new URL('../../dist/console/', import.meta.url)]
    .map((url) => fileURLToPath(url))
    .find((dir) => existsSync(`${dir}index.html`));
}

// The console loads only its own files and talks only to this server's API.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const NOT_BUILT =
  'The web console is not built yet: run `npm run build` (npm start does it for you), then reload this page.\n';

/** A client-side route of the single-page app (no file extension in its last segment), answered with index.html. */
function isAppRoute(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = request.url.split('?')[0]!;
  const last = path.slice(path.lastIndexOf('/') + 1);
  return !last.includes('.') && !path.startsWith('/console/assets/');
}

async function consoleRoutes(app: FastifyInstance, options: ConsoleOptions) {
  const root =
    options.dir === undefined ? builtConsoleDir() : existsSync(`${options.dir}/index.html`) ? options.dir : undefined;
  const hide = { schema: { hide: true } };
  if (root === undefined) {
    const notBuilt = async (_request: FastifyRequest, reply: FastifyReply) =>
      reply.code(503).type('text/plain; charset=utf-8').header('retry-after', '60').send(NOT_BUILT);
    app.get('/', hide, notBuilt);
    app.get('/*', hide, notBuilt);
    return;
  }
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    return payload;
  });
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    index: false,
    cacheControl: false,
    // Built assets carry a content hash in their names; index.html must be fetched again to find new ones.
    setHeaders: (response, path) => {
      response.setHeader(
        'cache-control',
        path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
  const sendIndex = (reply: FastifyReply) =>
    reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').sendFile('index.html');
  app.get('/', hide, async (request, reply) =>
    request.url.split('?')[0] === '/console' ? reply.redirect(`${options.basePath ?? ''}/console/`) : sendIndex(reply),
  );
  app.setNotFoundHandler((request, reply) => {
    if (isAppRoute(request)) return sendIndex(reply);
    return sendProblem(
      new DomainError('not-found', `No file ${request.url.split('?')[0]} in the web console.`),
      request,
      reply,
    );
  });
}

/**
 * Whether a request that no route took is someone opening the server's address: they are sent to the console.
 * (`/` itself belongs to the DataWorks RPC API, which passes on every request that is not one of its calls.)
 */
export function isFrontPage(request: FastifyRequest): boolean {
  return (request.method === 'GET' || request.method === 'HEAD') && request.url.split('?')[0] === '/';
}

export interface ConsoleOptions {
  /** The built console; by default dist/console. */
  readonly dir?: string;
  /** PUBLIC_URL's path prefix ('' for none), which redirects carry. */
  readonly basePath?: string;
}

/** The web console: the built single-page app at /console, or a 503 saying how to build it. */
export async function webConsole(app: FastifyInstance, options: ConsoleOptions = {}) {
  await app.register(consoleRoutes, { prefix: '/console', dir: options.dir, basePath: options.basePath });
}
