import { MAX_JSON_DEPTH, nestsDeeperThan } from '../domain/json-input.js';

/** What the worker sends back: the value, or why the text is refused (the caller words the error). */
export type JsonParseReply =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: 'too-deep' | 'invalid' };

/**
 * A large request body's JSON parse, on a worker thread (see json-body-parser.ts): the depth check, `JSON.parse`,
 * and the prototype-poisoning check Fastify's own parser makes (secure-json-parse with `protoAction` and
 * `constructorAction` "error": an own `__proto__` key, or a `constructor` key holding an object with an own
 * `prototype`, refuses the body).
 */
export function parseJsonTask(text: string): JsonParseReply {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return { ok: false, reason: 'too-deep' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (/"(?:__proto__|constructor)"/.test(text) && isPoisoned(value)) return { ok: false, reason: 'invalid' };
  return { ok: true, value };
}

function isPoisoned(root: unknown): boolean {
  // The depth is bounded (checked above), but a wide document is walked without recursion all the same.
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    if (Object.prototype.hasOwnProperty.call(node, '__proto__')) return true;
    const record = node as Record<string, unknown>;
    const constructor = Object.prototype.hasOwnProperty.call(node, 'constructor') ? record.constructor : undefined;
    if (
      typeof constructor === 'object' &&
      constructor !== null &&
      Object.prototype.hasOwnProperty.call(constructor, 'prototype')
    )
      return true;
    for (const child of Array.isArray(node) ? node : Object.values(record)) {
      if (typeof child === 'object' && child !== null) stack.push(child);
    }
  }
  return false;
}

export default parseJsonTask;
