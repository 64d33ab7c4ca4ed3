import { parseDocument as parseYaml } from 'yaml';
import { OpenApiError } from './openapi-error.js';

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
  const doc = parseYaml(text, { merge: true });
  const [error] = doc.errors;
  if (error) {
    const line = error.linePos?.[0].line ?? null;
    // yaml's message ends with its own "at line L, column C:" and a code frame; OpenApiError names the line itself.
    const reason = (error.message.split('\n')[0] ?? error.code).replace(/ at line \d+, column \d+:?$/, '');
    throw new OpenApiError(`the document is not valid YAML or JSON: ${reason}`, '', line);
  }
  try {
    // Bounds alias expansion against "billion laughs" documents; above yaml's default of 100 so that documents
    // reusing many anchors still load.
    return doc.toJS({ maxAliasCount: 1000 }) as unknown;
  } catch (cause) {
    throw new OpenApiError(`the document cannot be read: ${(cause as Error).message}`, '');
  }
}
