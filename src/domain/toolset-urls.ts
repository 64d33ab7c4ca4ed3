import { mapSecrets, maskInside } from './secrets.js';
import type { ToolsetSpec } from './toolset.js';

/**
 * The MCP upstream URL inside `spec.schema.detail` (a URL, or JSON `{"url", "transportType"}`) rewritten by
 * `rewrite`; the text is left exactly as it was when the URL does not change.
 */
function mapMcpUrl(detail: string, rewrite: (url: string) => string): string {
  const text = detail.trim();
  if (!text.startsWith('{')) return rewrite(detail);
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    if (typeof parsed.url !== 'string') return detail;
    const url = rewrite(parsed.url);
    return url === parsed.url ? detail : JSON.stringify({ ...parsed, url });
  } catch {
    return detail;
  }
}

/** The URL of an MCP upstream as `spec.schema.detail` names it, undefined when it names none. */
export function mcpUrlOf(detail: string): string | undefined {
  let found: string | undefined;
  mapMcpUrl(detail, (url) => (found = url));
  return found;
}

/** A spec with each URL that may carry a credential (`baseUrl`, the MCP upstream URL) rewritten. */
function mapSpecUrls(
  spec: ToolsetSpec,
  rewrite: (url: string, path: string, stored: string | undefined) => string,
  stored?: ToolsetSpec,
): ToolsetSpec {
  const baseUrl =
    typeof spec.baseUrl === 'string'
      ? rewrite(spec.baseUrl, '/spec/baseUrl', stored?.baseUrl ?? undefined)
      : spec.baseUrl;
  const storedMcp = stored?.schema.type === 'MCP' ? mcpUrlOf(stored.schema.detail) : undefined;
  const detail =
    spec.schema.type === 'MCP'
      ? mapMcpUrl(spec.schema.detail, (url) => rewrite(url, '/spec/schema/detail', storedMcp))
      : spec.schema.detail;
  if (baseUrl === spec.baseUrl && detail === spec.schema.detail) return spec;
  return { ...spec, ...(baseUrl === spec.baseUrl ? {} : { baseUrl }), schema: { ...spec.schema, detail } };
}

/** The read view of a spec's URLs: a password in userinfo or a token parameter shows as the mask. */
export function maskSpecUrls(spec: ToolsetSpec): ToolsetSpec {
  return mapSpecUrls(spec, (url) => maskInside(url));
}

/**
 * A spec's URLs with every masked credential (as a read showed it) replaced by the stored one at the same
 * place; the mask where nothing is stored is a field error. The gateway and the reconciler read these URLs as
 * stored, so they stay in clear at rest.
 */
export function keepSpecUrls(spec: ToolsetSpec, stored: ToolsetSpec | undefined): ToolsetSpec {
  const keep = (plaintext: string | undefined, previous: unknown) => plaintext ?? (previous as string);
  return mapSpecUrls(
    spec,
    (url, path, storedUrl) => mapSecrets(url, storedUrl, { path, seal: keep }) as string,
    stored,
  );
}
