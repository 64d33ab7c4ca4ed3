import { isRecord } from './json-pointer.js';

/** OpenAPI 3 `servers` as URLs, with `{variables}` replaced by their defaults. */
export function serverUrls(servers: unknown): string[] {
  if (!Array.isArray(servers)) return [];
  return servers.flatMap((server) => {
    if (!isRecord(server) || typeof server.url !== 'string') return [];
    const variables = isRecord(server.variables) ? server.variables : {};
    return [
      server.url.replace(/\{([^}]+)\}/g, (whole, name: string) => {
        const variable = Object.hasOwn(variables, name) ? variables[name] : undefined;
        return isRecord(variable) && typeof variable.default === 'string' ? variable.default : whole;
      }),
    ];
  });
}

/** Swagger 2's one base URL: first scheme + host + basePath; only basePath without a host; https when no scheme is given. */
export function swaggerUrl(doc: Readonly<Record<string, unknown>>): string[] {
  const basePath = typeof doc.basePath === 'string' ? doc.basePath : '';
  if (typeof doc.host !== 'string') return basePath === '' ? [] : [basePath];
  const scheme = Array.isArray(doc.schemes) && typeof doc.schemes[0] === 'string' ? doc.schemes[0] : 'https';
  return [`${scheme}://${doc.host}${basePath}`];
}

/**
 * Every server URL a document names, wherever it names one (document, path items, operations, links; Swagger 2's
 * host), sorted and without repeats: the places its tool calls may go. Null when the document is not an object.
 */
export function documentServerUrls(doc: unknown): string[] | null {
  if (!isRecord(doc)) return null;
  const found = new Set<string>(doc.swagger !== undefined ? swaggerUrl(doc) : []);
  // A stack, not recursion: documents may nest deeper than the call stack allows.
  const stack: unknown[] = [doc];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (const item of node) stack.push(item);
    } else if (isRecord(node)) {
      for (const url of serverUrls(node.servers)) found.add(url);
      if (isRecord(node.server)) for (const url of serverUrls([node.server])) found.add(url);
      for (const child of Object.values(node)) stack.push(child);
    }
  }
  return [...found].sort();
}
