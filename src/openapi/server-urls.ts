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
