// MCP tool names: the conservative reading of the spec's rule, letters, digits, "_" and "-", at most 64.
const maxLength = 64;

/** A tool name from an operationId, or from method and path when there is none (or nothing usable is left of it). */
export function baseToolName(operationId: string | null, method: string, path: string): string {
  const fromId = operationId === null ? '' : sanitise(operationId);
  return fromId !== '' ? fromId : sanitise(`${method}_${path}`) || method;
}

/**
 * Unique names for tools in document order. A name is kept by the first tool that wants it; later ones get
 * "_2", "_3"… (shortened to fit 64), skipping names that some other tool wants for itself.
 */
export function uniqueToolNames(bases: readonly string[]): string[] {
  const wanted = new Set(bases);
  const used = new Set<string>();
  return bases.map((base) => {
    if (!used.has(base)) {
      used.add(base);
      return base;
    }
    for (let n = 2; ; n++) {
      const suffix = `_${n}`;
      const name = base.slice(0, maxLength - suffix.length) + suffix;
      if (!used.has(name) && !wanted.has(name)) {
        used.add(name);
        return name;
      }
    }
  });
}

function sanitise(text: string): string {
  return text
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .replace(/_{2,}/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, maxLength);
}
