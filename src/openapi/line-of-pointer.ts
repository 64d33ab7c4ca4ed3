import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { pointerTokens } from './json-pointer.js';

/**
 * The 1-based line where a JSON Pointer's value starts in the source text, or null when it cannot be found.
 * Parses the text again with positions: it runs only when reporting an error, so the happy path stays fast.
 */
export function lineOfPointer(text: string, pointer: string): number | null {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true });
  if (doc.errors.length > 0) return null;
  let node: unknown = doc.contents;
  for (const token of pointerTokens(pointer)) {
    if (isAlias(node)) node = node.resolve(doc);
    node = childNode(node, token);
    if (node === undefined) return null;
  }
  const range = (node as Node | null)?.range;
  return range ? lineCounter.linePos(range[0]).line : null;
}

function childNode(node: unknown, token: string): unknown {
  if (isSeq(node)) return node.items[Number(token)];
  if (!isMap(node)) return undefined;
  const pair = node.items.find((item) => String(isScalar(item.key) ? item.key.value : item.key) === token);
  // A key with no value ("schema:") has no value node; its key still marks the line.
  return pair ? (pair.value ?? pair.key) : undefined;
}
