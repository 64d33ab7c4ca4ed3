import { createHash } from 'node:crypto';
import { checkSecretsStay, keptSecretsOf } from '../domain/secret-destinations.js';
import { MASK, maskInside } from '../domain/secrets.js';
import type { ToolsetSpec } from '../domain/toolset.js';
import { mcpUrlOf } from '../domain/toolset-urls.js';
import { parseDocument } from '../openapi/parse-document.js';
import { documentServerUrls } from '../openapi/server-urls.js';

/**
 * Where a toolset spec keeps a stored secret by its mask: the API key (or the older `authorization.authConfig.key`),
 * and a credential inside its baseUrl or MCP upstream URL.
 */
function keptKeys(spec: ToolsetSpec): string[] {
  const kept: string[] = [...keptSecretsOf(spec.baseUrl, '/spec/baseUrl')];
  if (spec.schema.type === 'MCP') kept.push(...keptSecretsOf(mcpUrlOf(spec.schema.detail), '/spec/schema/detail'));
  if (spec.authConfig?.parameters.apiKeyParameter.value === MASK)
    kept.push('/spec/authConfig/parameters/apiKeyParameter/value');
  if (spec.authorization?.authConfig?.key === MASK) kept.push('/spec/authorization/authConfig/key');
  return kept;
}

/** The server URLs of an OpenAPI document as one comparable text; a document that does not parse is its own. */
function serversOf(detail: string): string {
  try {
    return JSON.stringify(documentServerUrls(parseDocument(detail)));
  } catch {
    return 'unreadable';
  }
}

/** How many documents' servers a check remembers: a write checks before its transaction and again inside it. */
const RECENT_LIMIT = 8;

/**
 * A check that refuses a spec change sending the stored API key somewhere else while keeping it by its mask: a
 * new `baseUrl`, a document naming other servers (when no baseUrl replaces them), another MCP upstream URL. A
 * document is parsed only when a key is kept and its text changed, and its servers are remembered for the
 * next few checks.
 */
export function createToolsetSecretsCheck(): (before: ToolsetSpec, after: ToolsetSpec) => void {
  const recent = new Map<string, string>();
  const remembered = (detail: string): string => {
    // Keyed by a digest, so that no document is kept alive by the memory of its servers.
    const key = createHash('sha256').update(detail).digest('base64');
    const known = recent.get(key);
    if (known !== undefined) return known;
    const servers = serversOf(detail);
    if (recent.size >= RECENT_LIMIT) recent.delete(recent.keys().next().value!);
    recent.set(key, servers);
    return servers;
  };
  return (before, after) => checkToolsetSecretsStay(before, after, remembered);
}

function checkToolsetSecretsStay(before: ToolsetSpec, after: ToolsetSpec, serversOf: (detail: string) => string): void {
  const kept = keptKeys(after);
  if (kept.length === 0) return;
  const sameText = before.schema.type === after.schema.type && before.schema.detail === after.schema.detail;
  const target = (spec: ToolsetSpec): string => {
    if (spec.schema.type === 'MCP') return maskInside(mcpUrlOf(spec.schema.detail) ?? spec.schema.detail.trim());
    if (spec.baseUrl) return 'the baseUrl';
    return sameText ? 'the same document' : serversOf(spec.schema.detail);
  };
  const destinations = (spec: ToolsetSpec) =>
    new Map([
      ['/spec/baseUrl', maskInside(spec.baseUrl ?? '')],
      ['/spec/schema/detail', target(spec)],
    ]);
  checkSecretsStay(
    () => destinations(before),
    () => destinations(after),
    kept,
  );
}
