import { CORE_SCHEMA, YAMLException, binaryTag, load, mergeTag, omapTag, pairsTag, setTag } from 'js-yaml';
import { OpenApiError } from './openapi-error.js';

/**
 * YAML 1.2's core schema, as OpenAPI tools read documents (dates stay strings, `yes` is a string), plus merge
 * keys (`<<: *base`) and the YAML 1.1 collection and binary tags that older documents still carry.
 */
const SCHEMA = CORE_SCHEMA.withTags(mergeTag, binaryTag, omapTag, pairsTag, setTag);

/**
 * How many values a document may grow by through YAML aliases. The parser shares an aliased value instead of
 * copying it, but everything after it (conversion, JSON for storage) expands each use: a few lines of nested
 * aliases ("billion laughs") would otherwise become billions of values.
 */
export const MAX_ALIAS_EXPANSION = 1_000_000;

/** Parses OpenAPI text, JSON or YAML, into plain data; syntax errors carry their line. */
export function parseDocument(text: string): unknown {
  // JSON.parse is an order of magnitude faster than the YAML parser, and JSON is the common machine-written form.
  if (/^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Fall through: the YAML parser reports the line, and also reads flow-style YAML that is not strict JSON.
    }
  }
  let value: unknown;
  try {
    value = load(text, { schema: SCHEMA });
  } catch (error) {
    if (!(error instanceof YAMLException))
      throw new OpenApiError(`the document cannot be read: ${(error as Error).message}`, '');
    const line = error.mark === undefined ? null : error.mark.line + 1;
    throw new OpenApiError(`the document is not valid YAML or JSON: ${error.reason}`, '', line);
  }
  // An alias needs an anchor (&name) and a star (*name): without both the document shares no values.
  if (text.includes('&') && text.includes('*') && !expandsWithin(value, MAX_ALIAS_EXPANSION + text.length)) {
    throw new OpenApiError(
      `the document repeats YAML aliases to more than ${MAX_ALIAS_EXPANSION.toLocaleString('en')} values beyond its own text; write out fewer nested aliases`,
      '',
    );
  }
  return value;
}

/**
 * Whether `root`, with every shared value counted at each of its uses (as JSON would write it out), has at
 * most `limit` values. A value that contains itself is counted once: conversion reports it as such.
 */
function expandsWithin(root: unknown, limit: number): boolean {
  let count = 0;
  const onPath = new Set<object>();
  // Entries are values to visit, or (as `leave`) an object whose children have all been visited.
  const stack: Array<{ value: unknown; leave: boolean }> = [{ value: root, leave: false }];
  while (stack.length > 0) {
    const { value, leave } = stack.pop()!;
    if (leave) {
      onPath.delete(value as object);
      continue;
    }
    if (++count > limit) return false;
    if (value === null || typeof value !== 'object' || onPath.has(value)) continue;
    onPath.add(value);
    stack.push({ value, leave: true });
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push({ value: child, leave: false });
  }
  return true;
}
