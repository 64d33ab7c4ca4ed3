import { validationFailed, type DomainError } from './errors.js';
import { nulCharacterAt, nulCharacterFound } from './nul-character.js';

/**
 * How deep objects and arrays may sit inside each other in any JSON a client sends, on every edge. Everything
 * that reads a parsed value (validators, the NUL check, merge patches, masking, JSON.stringify) recurses, and a
 * body under the size limit can nest hundreds of thousands of levels: enough to overflow the stack. No
 * document plugboard takes comes near 64.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;

/**
 * Whether JSON text opens more than `max` objects or arrays inside each other, found in one pass over the text
 * with no recursion (strings are skipped whole, so brackets inside them do not count). Malformed text is
 * measured as far as it goes; the parser refuses it afterwards.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuoteOf(text, i);
      if (i < 0) return false;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > max) return true;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}

/** Where the string opened at `open` ends: the next quote after an even run of backslashes; -1 when none. */
function closingQuoteOf(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}

/** The refusal of JSON nested deeper than {@link MAX_JSON_DEPTH}, at `path` (a JSON Pointer; '' for the body). */
export function tooDeep(path: string): DomainError {
  return validationFailed([{ path, message: `must not nest objects and arrays more than ${MAX_JSON_DEPTH} deep` }]);
}

/** Throws {@link tooDeep} when the text nests deeper than {@link MAX_JSON_DEPTH}; run before parsing. */
export function checkJsonDepth(text: string, path: string): void {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) throw tooDeep(path);
}

/**
 * Parses JSON a client sent, the one way every edge reads it: text nested too deep, or holding U+0000 (which
 * PostgreSQL text cannot store), is refused with `validation-failed` at `path`. A syntax error is thrown as
 * JSON.parse throws it, for the edge to word as its wire does.
 */
export function parseJsonInput(text: string, path = ''): unknown {
  checkJsonDepth(text, path);
  const value: unknown = JSON.parse(text);
  const nul = text.includes('\\u0000') ? nulCharacterAt(value, path) : undefined;
  if (nul !== undefined) throw nulCharacterFound(nul);
  return value;
}
