import type { FastifyInstance } from 'fastify';
import type { DomainError } from '../domain/errors.js';
import { nulCharacterAt, nulCharacterFound } from '../domain/nul-character.js';
import { unacceptedMediaType } from './media-type.js';

/** The parts of a request an edge reads its input from, as that edge decoded them. */
export interface RequestInput {
  readonly params?: unknown;
  readonly query?: unknown;
  readonly body?: unknown;
}

/** Where each part's fields are named: under `path` and `query`, or (for wires that name a parameter by itself) all at the root. */
const NAMED = { params: 'path', query: 'query', body: '' } as const;
const AT_ROOT = { params: '', query: '', body: '' } as const;

/**
 * Where the first U+0000 sits in a request's path parameters, query or body, as a JSON Pointer (`path/…`,
 * `query/…`, `/…`; with `atRoot`, `/…` for all three); undefined when there is none. PostgreSQL text cannot
 * hold that character, so every edge refuses it before anything reads the input.
 */
export function nulCharacterInRequest(
  input: RequestInput,
  options: { readonly atRoot?: boolean } = {},
): string | undefined {
  const prefix = options.atRoot === true ? AT_ROOT : NAMED;
  return (
    nulCharacterAt(input.params, prefix.params) ??
    nulCharacterAt(input.query, prefix.query) ??
    nulCharacterAt(input.body, prefix.body)
  );
}

/** What an edge's JSON input may be, in its own words. */
export interface InputRules {
  /** The media types a body of `method` may have; empty for a method whose body is not read. */
  accepted(method: string): readonly string[];
  /** The refusal of a body of another media type `type`. */
  refuseMediaType(method: string, accepted: readonly string[], type: string): DomainError;
}

/**
 * The input checks of a JSON edge, as a `preValidation` hook (after authentication, before the schema): a body
 * of a media type its method does not take is refused (a body naming none is read as JSON), then U+0000
 * anywhere in the path parameters, the query or the body (400, the field named).
 */
export function registerInputChecks(app: FastifyInstance, rules: InputRules): void {
  app.addHook('preValidation', (request, _reply, done) => {
    const accepted = rules.accepted(request.method);
    const type = accepted.length > 0 ? unacceptedMediaType(request.headers, accepted) : undefined;
    if (type !== undefined) return done(rules.refuseMediaType(request.method, accepted, type));
    const path = nulCharacterInRequest(request);
    if (path !== undefined) return done(nulCharacterFound(path));
    done();
  });
}
