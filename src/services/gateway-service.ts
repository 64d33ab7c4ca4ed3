import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { allows, isExpired } from '../domain/access-client.js';
import { DomainError, notFound, validationFailed } from '../domain/errors.js';
import { isSealed } from '../domain/secrets.js';
import type { ToolsetSpec } from '../domain/toolset.js';
import { toFieldErrors } from '../domain/validate.js';
import { egressFetch } from '../egress/egress-connect.js';
import type { EgressPolicy } from '../egress/egress-policy.js';
import { createUpstreamClient, redactCredential, type UpstreamCredential } from '../gateway/call-openapi-tool.js';
import { createSessionIds, sessionHash, type SessionClaims } from '../gateway/session-ids.js';
import type { ToolOperation } from '../openapi/convert-openapi.js';
import { createStampedCache } from '../storage/change-stamps.js';
import type { Db } from '../storage/database.js';
import * as gateway from '../storage/gateway-repo.js';
import type { Writer } from '../storage/writer.js';
import { hashApiKey } from './access-service.js';
import { ACCESS_CLIENT_TOKEN_PREFIX } from './access-client-service.js';
import type { Clock } from './context.js';
import { parseMcpTarget, type McpTarget } from './mcp-upstream.js';
import type { Vault } from './vault.js';
import { VERSION_INFO } from './version-info.js';

/** An access client as the gateway sees it on each call. */
export interface GatewayClient {
  readonly workspaceId: string;
  readonly id: string;
  readonly toolsets: readonly string[];
  /** Calls per second, or null for the server default. */
  readonly rateLimit: number | null;
}

interface ServedTool {
  readonly tool: Tool;
  readonly operation: ToolOperation | undefined;
  /** Compiled on first call, once per stored revision of the toolset. */
  validate?: ValidateFunction;
}

/** A toolset compiled for serving; rebuilt whenever its stored revision moves. */
export interface ServedToolset {
  readonly workspaceId: string;
  readonly name: string;
  readonly revision: number;
  readonly description: string | null;
  readonly tools: readonly Tool[];
  readonly byName: ReadonlyMap<string, ServedTool>;
  readonly type: ToolsetSpec['schema']['type'];
  readonly baseUrl: string | null;
  readonly credential: UpstreamCredential | null;
  readonly mcpTarget: McpTarget | null;
}

export interface GatewayOptions {
  readonly upstreamTimeoutMs: number;
  readonly maxResponseBytes: number;
  readonly sessionTtlSeconds: number;
}

const SESSION_KEY_PURPOSE = 'mcp-session-ids';
const CACHE_LIMIT = 1000;
/** Lookups kept per node between changes of the store (see ChangeStamps): tokens, toolset revisions, sessions. */
const LOOKUP_LIMIT = 10_000;
/** The longest a cached lookup is used, whatever the change stamps say. */
const LOOKUP_MAX_AGE_MS = 30_000;

/** The API key of a toolset's authConfig, opened; null when it has none. */
function credentialOf(vault: Vault, spec: ToolsetSpec): UpstreamCredential | null {
  const parameter = spec.authConfig?.parameters.apiKeyParameter;
  if (parameter?.value) return { in: parameter.in, key: parameter.key, value: isSealed(parameter.value) ? vault.open(parameter.value) : parameter.value };
  // The older DevS form: authorization {type: "APIKey", authConfig: {key, in?, name?}}.
  const legacy = spec.authorization?.authConfig as { key?: unknown; in?: unknown; name?: unknown } | undefined;
  if (typeof legacy?.key === 'string' && legacy.key !== '') {
    const value = isSealed(legacy.key) ? vault.open(legacy.key) : legacy.key;
    return { in: legacy.in === 'query' ? 'query' : 'header', key: typeof legacy.name === 'string' && legacy.name !== '' ? legacy.name : 'Authorization', value };
  }
  return null;
}

/**
 * An MCP upstream's result without the credential the gateway injected (a tool that reports the headers it
 * got, say). Redacted in its JSON text, so every string of the result is covered; a result the redaction would
 * break (the credential inside a number) is withheld.
 */
function redactMcpResult(result: CallToolResult, credential: UpstreamCredential | null): CallToolResult {
  if (credential === null) return result;
  const text = JSON.stringify(result);
  const redacted = redactCredential(text, credential);
  if (redacted === text) return result;
  try {
    return JSON.parse(redacted) as CallToolResult;
  } catch {
    return { content: [{ type: 'text', text: 'The upstream MCP server\'s answer held the toolset\'s credential and was withheld.' }], isError: true };
  }
}

/**
 * What the MCP gateway does behind its transports: who a bearer token is, which tools a toolset serves, and
 * calling one. Toolsets are compiled once per stored revision (argument validators included) and checked
 * against the store's revision on every call, so a change made through any node is served at once.
 */
export function createGatewayService(deps: { db: Db; writer: Writer; vault: Vault; clock: Clock; options: GatewayOptions; egress: EgressPolicy }) {
  const { db, writer, vault, clock, options } = deps;
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
  const cache = new Map<string, ServedToolset>();
  const upstreamClients = new Map<string, { revision: number; client: Promise<Client> }>();
  // Every upstream, OpenAPI or MCP, is reached through the egress policy.
  const upstream = createUpstreamClient(deps.egress);
  const upstreamFetch = egressFetch(deps.egress);
  // Derived once per master key: HKDF on every request would cost more than checking the signature.
  const sessionKeys = new Map(vault.keyIds.map((id) => [id, vault.deriveKey(SESSION_KEY_PURPOSE, id)!]));
  const sessionIds = createSessionIds({ activeKeyId: vault.activeKeyId, key: (id) => sessionKeys.get(id) });
  // Every call needs who the token is, the toolset's revision and whether its session was ended: read once,
  // then served from memory until the store signals a change to access clients, toolsets or ended sessions.
  const lookups = { limit: LOOKUP_LIMIT, maxAgeMs: LOOKUP_MAX_AGE_MS };
  const clientsByToken = createStampedCache<string, gateway.GatewayClientRow>(db.changes, lookups);
  const revisions = createStampedCache<string, number>(db.changes, lookups);
  const openSessions = createStampedCache<string, SessionClaims>(db.changes, lookups);

  function compile(workspaceId: string, name: string, row: gateway.ServableToolsetRow): ServedToolset {
    const byName = new Map<string, ServedTool>();
    const tools: Tool[] = [];
    for (const t of row.status.outputs.tools) {
      const tool = { name: t.name, description: t.description, inputSchema: t.inputSchema } as Tool;
      tools.push(tool);
      byName.set(t.name, { tool, operation: row.operations?.[t.name] as ToolOperation | undefined });
    }
    let mcpTarget: McpTarget | null = null;
    if (row.spec.schema.type === 'MCP') {
      try {
        mcpTarget = parseMcpTarget(row.spec.schema.detail);
      } catch {
        mcpTarget = null;
      }
    }
    return {
      workspaceId,
      name,
      revision: row.revision,
      description: null,
      tools,
      byName,
      type: row.spec.schema.type,
      baseUrl: row.spec.baseUrl ?? null,
      credential: credentialOf(vault, row.spec),
      mcpTarget,
    };
  }

  function validatorOf(served: ServedTool): ValidateFunction {
    if (served.validate) return served.validate;
    const { $schema: _ignored, ...schema } = served.tool.inputSchema as Record<string, unknown>;
    try {
      served.validate = ajv.compile(schema);
    } catch (error) {
      throw new DomainError('bad-request', `The inputSchema of tool "${served.tool.name}" cannot be compiled: ${(error as Error).message}`);
    }
    return served.validate;
  }

  /** A connected client of an MCP upstream, one per toolset revision, made again after a failure. */
  function upstreamClient(toolset: ServedToolset): Promise<Client> {
    const key = `${toolset.workspaceId}\u0000${toolset.name}`;
    const cached = upstreamClients.get(key);
    if (cached && cached.revision === toolset.revision) return cached.client;
    if (cached) void cached.client.then((c) => c.close()).catch(() => undefined);
    const target = toolset.mcpTarget!;
    const headers: Record<string, string> = {};
    if (toolset.credential?.in === 'header') headers[toolset.credential.key] = toolset.credential.value;
    const url = new URL(target.url);
    if (toolset.credential?.in === 'query') url.searchParams.set(toolset.credential.key, toolset.credential.value);
    const transport = target.transportType === 'sse' ? new SSEClientTransport(url, { requestInit: { headers }, fetch: upstreamFetch }) : new StreamableHTTPClientTransport(url, { requestInit: { headers }, fetch: upstreamFetch });
    const client = new Client({ name: 'plugboard-gateway', version: VERSION_INFO.version });
    client.onclose = () => {
      if (upstreamClients.get(key)?.client === connected) upstreamClients.delete(key);
    };
    const connected = client.connect(transport, { timeout: options.upstreamTimeoutMs }).then(() => client);
    connected.catch(() => upstreamClients.delete(key));
    upstreamClients.set(key, { revision: toolset.revision, client: connected });
    return connected;
  }

  async function callMcpTool(toolset: ServedToolset, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    if (!toolset.mcpTarget) return { content: [{ type: 'text', text: 'The toolset names no valid upstream MCP server.' }], isError: true };
    try {
      const client = await upstreamClient(toolset);
      const result = (await client.callTool({ name, arguments: args }, undefined, { timeout: options.upstreamTimeoutMs })) as CallToolResult;
      return redactMcpResult(result, toolset.credential);
    } catch (error) {
      upstreamClients.delete(`${toolset.workspaceId}\u0000${toolset.name}`);
      const message = redactCredential((error as Error).message, toolset.credential);
      return { content: [{ type: 'text', text: `The upstream MCP server failed on tool "${name}": ${message}` }], isError: true };
    }
  }

  return {
    /** The client a bearer token belongs to, if the token is current and the client active. */
    async authenticate(token: string): Promise<GatewayClient | undefined> {
      if (!token.startsWith(ACCESS_CLIENT_TOKEN_PREFIX)) return undefined;
      const hash = hashApiKey(token);
      const row = await clientsByToken.get(hash, () => gateway.findGatewayClient(db.kysely, hash));
      if (!row || row.status !== 'active' || (row.expiresAt !== null && isExpired(row, clock.now()))) return undefined;
      return { workspaceId: row.workspaceId, id: row.id, toolsets: row.toolsets, rateLimit: row.rateLimit };
    },

    /** Whether a client may use a toolset of its workspace. */
    allows: (client: GatewayClient, workspaceId: string, toolset: string) =>
      client.workspaceId === workspaceId && allows({ status: 'active', toolsets: client.toolsets }, toolset),

    /** The toolset as currently stored, compiled; undefined when it does not exist. */
    async toolset(workspaceId: string, name: string): Promise<ServedToolset | undefined> {
      const key = `${workspaceId}\u0000${name}`;
      const revision = await revisions.get(key, () => gateway.findToolsetRevision(db.kysely, workspaceId, name));
      if (revision === undefined) {
        cache.delete(key);
        return undefined;
      }
      const cached = cache.get(key);
      if (cached && cached.revision === revision) return cached;
      const row = await gateway.findServableToolset(db.kysely, workspaceId, name);
      if (!row) return undefined;
      const served = compile(workspaceId, name, row);
      cache.delete(key);
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
      cache.set(key, served);
      return served;
    },

    /**
     * Calls a tool. Arguments that do not fit its inputSchema, and an unknown tool, are the caller's error
     * (validation-failed / not-found); whatever the upstream does comes back as a result, `isError` on failure.
     */
    async callTool(toolset: ServedToolset, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
      const served = toolset.byName.get(name);
      if (!served) throw notFound(`Tool "${name}" in toolset "${toolset.name}"`);
      const validate = validatorOf(served);
      if (!validate(args)) {
        const errors = toFieldErrors(validate.errors, '');
        throw validationFailed(errors, `Invalid arguments for tool "${name}": ${errors.map((e) => `${e.path || 'arguments'} ${e.message}`).join('; ')}.`);
      }
      if (toolset.type === 'MCP') return callMcpTool(toolset, name, args);
      if (!served.operation) return { content: [{ type: 'text', text: `Tool "${name}" has no upstream operation recorded.` }], isError: true };
      return upstream.call({
        operation: served.operation,
        baseUrl: toolset.baseUrl,
        credential: toolset.credential,
        arguments: args,
        timeoutMs: options.upstreamTimeoutMs,
        maxResponseBytes: options.maxResponseBytes,
      });
    },

    sessions: {
      open(client: GatewayClient, toolset: string, protocolVersion: string): string {
        const expiresAt = Math.floor(Date.parse(clock.now()) / 1000) + options.sessionTtlSeconds;
        return sessionIds.issue({ workspaceId: client.workspaceId, toolset, clientId: client.id, protocolVersion, expiresAt });
      },
      /**
       * The claims of a session id that this client opened for this toolset and that is neither expired nor
       * ended; undefined otherwise (the transports answer 404, and the client starts a new session).
       */
      async check(id: string, client: GatewayClient, toolset: string): Promise<SessionClaims | undefined> {
        const claims = await openSessions.get(id, async () => {
          const verified = sessionIds.verify(id);
          return verified && !(await gateway.isSessionEnded(db.kysely, sessionHash(id))) ? verified : undefined;
        });
        if (!claims || claims.clientId !== client.id || claims.workspaceId !== client.workspaceId || claims.toolset !== toolset) return undefined;
        if (claims.expiresAt * 1000 <= Date.parse(clock.now())) return undefined;
        return claims;
      },
      async end(id: string, claims: SessionClaims): Promise<void> {
        await writer.write((tx) => gateway.endSession(tx, sessionHash(id), new Date(claims.expiresAt * 1000).toISOString()));
      },
      purgeEnded: () => writer.write((tx) => gateway.purgeEndedSessions(tx, clock.now())),
    },

    async close(): Promise<void> {
      const clients = [...upstreamClients.values()];
      upstreamClients.clear();
      await Promise.all(clients.map((c) => c.client.then((client) => client.close()).catch(() => undefined)));
      await upstream.close();
    },
  };
}

export type GatewayService = ReturnType<typeof createGatewayService>;
