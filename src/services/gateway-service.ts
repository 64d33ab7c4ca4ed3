import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { allows, allowsTool, isExpired } from '../domain/access-client.js';
import { cutText } from '../domain/cut-text.js';
import { DomainError, notFound, validationFailed } from '../domain/errors.js';
import { mcpResourceOf, type McpTransport, type OAuthCaller } from '../domain/oauth.js';
import { isSealed } from '../domain/secrets.js';
import { servedModeOf, type ToolsetSpec, type ToolsetStatus } from '../domain/toolset.js';
import { buildToolSearchIndex, type ToolSearchIndex } from '../domain/tool-search.js';
import { toFieldErrors } from '../domain/validate.js';
import { assembleInputSchema, withoutDuplicateRequired } from '../openapi/served-schema.js';
import {
  listedTool,
  servedInputSchema,
  type CatalogTool,
  type ServingBudget,
  type ToolCatalog,
} from '../openapi/tool-catalog.js';
import { egressFetch } from '../egress/egress-connect.js';
import type { EgressPolicy } from '../egress/egress-policy.js';
import {
  createUpstreamClient,
  redactCredential,
  upstreamStatusOf,
  type UpstreamCredential,
} from './call-openapi-tool.js';
import type { CallToken, UpstreamOAuthService } from './upstream-oauth-service.js';
import { createSessionIds, sessionHash, type SessionClaims } from './session-ids.js';
import type { ToolOperation } from '../openapi/tool-operation.js';
import { insertAuditEvent } from '../storage/audit-repo.js';
import { createStampedCache } from '../storage/stamped-cache.js';
import type { Db } from '../storage/database.js';
import * as gateway from '../storage/gateway-repo.js';
import type { Writer } from '../storage/writer.js';
import { hashApiKey } from './access-service.js';
import { ACCESS_CLIENT_TOKEN_PREFIX } from './access-client-service.js';
import type { Clock } from './clock.js';
import { parseMcpTarget, type McpTarget } from './mcp-upstream.js';
import { META_TOOLS, SEARCH_LIMIT_DEFAULT } from './meta-tools.js';
import { MisplacedSealedValue, type SealPlace, type Vault } from './vault.js';
import { VERSION_INFO } from './version-info.js';

/** An access client as the gateway sees it on each call. */
export interface GatewayClient {
  readonly workspaceId: string;
  readonly id: string;
  /** The client itself, where `id` is only its address (sessions are bound to it). */
  readonly uid: string;
  readonly toolsets: readonly string[];
  /** "toolset/tool" names this client is limited to (see allowsTool). */
  readonly tools: readonly string[];
  /** Calls per second, or null for the server default. */
  readonly rateLimit: number | null;
  /** Whose budget a call spends: the access client's, or the OAuth user's with this client. */
  readonly rateKey: string;
  /** The user behind an OAuth access token; undefined for an access client's static token. */
  readonly user?: OAuthCaller;
  /**
   * The person the call is made for, whose own connections per-user toolsets use: an OAuth caller's user, or the
   * person signed in to the console trying a tool; undefined for an access client (and an API key).
   */
  readonly personId?: string;
}

/** What the gateway asks of the authorization server: who an access token for one MCP endpoint stands for. */
export interface OAuthTokens {
  authenticate(token: string, resource: string, workspaceId: string): Promise<OAuthCaller | undefined>;
}

interface ServedTool {
  readonly entry: CatalogTool;
  readonly operation: ToolOperation | undefined;
  /** Compiled on first call, once per stored revision of the toolset, from the full schema. */
  validate?: ValidateFunction;
  /** The tool as `tools/list` serves it in static mode, made on first listing. */
  listed?: Tool;
}

/** A toolset compiled for serving; rebuilt whenever its stored uid or revision moves. */
export interface ServedToolset {
  readonly workspaceId: string;
  readonly name: string;
  /** The toolset itself: a toolset created again under the same name is another one, never served from this copy. */
  readonly uid: string;
  readonly revision: number;
  readonly description: string | null;
  /** Every operation a tool (`static`), or the three meta-tools (`dynamic`): see docs/mcp-gateway.md. */
  readonly mode: 'static' | 'dynamic';
  /** The tools and their shared schemas, each kept once. */
  readonly catalog: ToolCatalog;
  readonly byName: ReadonlyMap<string, ServedTool>;
  /** Built on the first search. */
  searchIndex?: ToolSearchIndex;
  readonly type: ToolsetSpec['schema']['type'];
  readonly baseUrl: string | null;
  readonly credential: UpstreamCredential | null;
  /** Why the stored credential cannot be used (a sealed value that does not belong to this toolset); no call goes out. */
  readonly credentialProblem: string | null;
  /** The connection whose OAuth access token calls carry (spec.connectionId), fetched and refreshed per call. */
  readonly connectionId: number | null;
  /** Per-user mode (spec.credentials): the connector whose connection of the calling person each call uses. */
  readonly perUserConnector: string | null;
  readonly mcpTarget: McpTarget | null;
}

export interface GatewayServiceOptions {
  readonly upstreamTimeoutMs: number;
  readonly maxResponseBytes: number;
  readonly sessionTtlSeconds: number;
  /** The origin MCP endpoints are known by (PUBLIC_URL): OAuth tokens name their endpoint's URL on it. */
  readonly publicUrl: string;
}

/** How catalogues are served: the schema budget, describe_tool's full-schema cap, the tools/list page size. */
export interface CatalogServing extends ServingBudget {
  readonly maxFullSchemaBytes: number;
  readonly pageSize: number;
}

/** A page of `tools/list`. */
export interface ToolPage {
  readonly tools: readonly Tool[];
  readonly nextCursor?: string;
}

const SESSION_KEY_PURPOSE = 'mcp-session-ids';
const CACHE_LIMIT = 1000;
/** Lookups kept per node between changes of the store (see ChangeStamps): tokens, toolset revisions, sessions. */
const LOOKUP_LIMIT = 10_000;
/** How often, at most, compiled toolsets and upstream clients are checked against the store once it changed. */
const SWEEP_INTERVAL_MS = 1000;
/** The longest a cached lookup is used, whatever the change stamps say. */
const LOOKUP_MAX_AGE_MS = 30_000;

const API_KEY_PATH = '/spec/authConfig/parameters/apiKeyParameter/value';
const LEGACY_KEY_PATH = '/spec/authorization/authConfig/key';

/**
 * The API key of a toolset's authConfig, opened at its place (the toolset's); null when it has none. A sealed
 * value that was not sealed for this toolset throws MisplacedSealedValue and is never sent.
 */
function credentialOf(vault: Vault, spec: ToolsetSpec, owner: Omit<SealPlace, 'path'>): UpstreamCredential | null {
  const open = (value: string, path: string) => (isSealed(value) ? vault.open(value, { ...owner, path }) : value);
  const parameter = spec.authConfig?.parameters.apiKeyParameter;
  if (parameter?.value) return { in: parameter.in, key: parameter.key, value: open(parameter.value, API_KEY_PATH) };
  // The older DevS form: authorization {type: "APIKey", authConfig: {key, in?, name?}}.
  const legacy = spec.authorization?.authConfig as { key?: unknown; in?: unknown; name?: unknown } | undefined;
  if (typeof legacy?.key === 'string' && legacy.key !== '') {
    const value = open(legacy.key, LEGACY_KEY_PATH);
    return {
      in: legacy.in === 'query' ? 'query' : 'header',
      key: typeof legacy.name === 'string' && legacy.name !== '' ? legacy.name : 'Authorization',
      value,
    };
  }
  return null;
}

/** The connect link a refused call carries, kept beside its result: clients that elicit URLs are sent there. */
const connectUrls = new WeakMap<CallToolResult, string>();
export const connectUrlOf = (result: CallToolResult): string | undefined => connectUrls.get(result);

/** A call that got no token: an `isError` result in words, and its connect link when a person must act. */
function refusal(why: { readonly message: string; readonly connectUrl?: string }): CallToolResult {
  const result: CallToolResult = { content: [{ type: 'text', text: why.message }], isError: true };
  if (why.connectUrl !== undefined) connectUrls.set(result, why.connectUrl);
  return result;
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
    return {
      content: [
        { type: 'text', text: "The upstream MCP server's answer held the toolset's credential and was withheld." },
      ],
      isError: true,
    };
  }
}

/**
 * What the MCP gateway does behind its transports: who a bearer token is, which tools a toolset serves, and
 * calling one. Toolsets are compiled once per stored revision (argument validators included) and checked
 * against the store's revision on every call, so a change made through any node is served at once.
 *
 * Names are only addresses: what is compiled, connected to upstream and signed into session ids is keyed by the
 * toolset's uid (and revision), so a toolset or workspace deleted and created again under the same names, whose
 * revision starts again at 1, never gets the old one's tools, upstream or credential.
 */
export function createGatewayService(deps: {
  db: Db;
  writer: Writer;
  vault: Vault;
  clock: Clock;
  options: GatewayServiceOptions;
  egress: EgressPolicy;
  oauth: OAuthTokens;
  catalog: CatalogServing;
  upstreamOAuth: Pick<UpstreamOAuthService, 'accessToken' | 'afterRejection' | 'userAccessToken'>;
}) {
  const { db, writer, vault, clock, options } = deps;
  const catalogServing = deps.catalog;
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
  const metaValidators = new Map(META_TOOLS.map((tool) => [tool.name, ajv.compile(tool.inputSchema)]));
  /** Compiled toolsets by uid. */
  const cache = new Map<string, ServedToolset>();
  /** Connected MCP upstream clients by toolset uid. */
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
  const clientsByToken = createStampedCache<string, gateway.GatewayClientRow>(db, lookups);
  /** By workspace id and name: which toolset (uid) the name stands for now, and its revision. */
  const versions = createStampedCache<string, gateway.ToolsetVersion>(db, lookups);
  const openSessions = createStampedCache<string, SessionClaims>(db, lookups);

  /** Drops what was kept for a toolset: its compiled copy (with its opened credential) and its upstream client. */
  function forget(uid: string): void {
    cache.delete(uid);
    const client = upstreamClients.get(uid);
    upstreamClients.delete(uid);
    if (client) void client.client.then((c) => c.close()).catch(() => undefined);
  }

  // A delete anywhere (another node's included: the change stamps follow PostgreSQL notifications) drops what
  // this node kept of the deleted toolsets within about a second, whether or not their names are called again.
  let sweptStamp: number | undefined;
  let sweeping = false;
  async function sweep(): Promise<void> {
    const stamp = db.changes.current();
    if (sweeping || stamp === undefined || stamp === sweptStamp) return;
    const uids = [...new Set([...cache.keys(), ...upstreamClients.keys()])];
    sweeping = true;
    try {
      const stored = await gateway.findStoredToolsetUids(db.kysely, uids);
      sweptStamp = stamp;
      for (const uid of uids) if (!stored.has(uid)) forget(uid);
    } catch {
      // The store is unreachable: try again on the next tick.
    } finally {
      sweeping = false;
    }
  }
  const sweeper = setInterval(() => void sweep(), SWEEP_INTERVAL_MS);
  sweeper.unref();

  function compile(workspaceId: string, name: string, row: gateway.ServableToolsetRow): ServedToolset {
    const catalog = catalogOf(row);
    const byName = new Map<string, ServedTool>();
    for (const entry of catalog.tools)
      byName.set(entry.name, { entry, operation: row.operations?.[entry.name] as ToolOperation | undefined });
    let mcpTarget: McpTarget | null = null;
    if (row.spec.schema.type === 'MCP') {
      try {
        mcpTarget = parseMcpTarget(row.spec.schema.detail);
      } catch {
        mcpTarget = null;
      }
    }
    const summary = row.status.outputs.catalog;
    return {
      workspaceId,
      name,
      uid: row.uid,
      revision: row.revision,
      description: null,
      mode: servedModeOf(row.spec.toolMode, {
        tools: catalog.tools.length,
        // A status stored before catalogues had no sizes: its tools were listed whole, so they count as static.
        staticListBytes: summary?.staticListBytes ?? 0,
      }),
      catalog,
      byName,
      type: row.spec.schema.type,
      baseUrl: row.spec.baseUrl ?? null,
      ...openCredential(row),
      connectionId: row.spec.connectionId ?? null,
      perUserConnector: row.spec.credentials?.connectorId ?? null,
      mcpTarget,
    };
  }

  function openCredential(row: gateway.ServableToolsetRow): Pick<ServedToolset, 'credential' | 'credentialProblem'> {
    try {
      return {
        credential: credentialOf(vault, row.spec, { workspaceUid: row.workspaceUid, resourceUid: row.uid }),
        credentialProblem: null,
      };
    } catch (error) {
      if (!(error instanceof MisplacedSealedValue)) throw error;
      return {
        credential: null,
        credentialProblem: `The toolset's stored credential cannot be used: ${error.message}`,
      };
    }
  }

  /** A call is checked against the tool's full schema, never the budgeted one a client was shown. */
  function validatorOf(toolset: ServedToolset, served: ServedTool): ValidateFunction {
    if (served.validate) return served.validate;
    const full = withoutDuplicateRequired(assembleInputSchema(served.entry.inputSchema, toolset.catalog.definitions));
    const schema: Record<string, unknown> = { ...(full as Record<string, unknown>) };
    delete schema.$schema;
    try {
      served.validate = ajv.compile(schema);
    } catch (error) {
      throw new DomainError(
        'bad-request',
        `The inputSchema of tool "${served.entry.name}" cannot be compiled: ${(error as Error).message}`,
      );
    }
    return served.validate;
  }

  /** The catalogue tool a client may use, or not-found (a tool the client may not use does not exist for it). */
  function toolFor(toolset: ServedToolset, client: GatewayClient, name: string): ServedTool {
    const served = toolset.byName.get(name);
    if (!served || !allowsTool(client.tools, toolset.name, name))
      throw notFound(`Tool "${name}" in toolset "${toolset.name}"`);
    return served;
  }

  function visibleTools(toolset: ServedToolset, client: GatewayClient): ServedTool[] {
    return [...toolset.byName.values()].filter((served) => allowsTool(client.tools, toolset.name, served.entry.name));
  }

  function listedOf(toolset: ServedToolset, served: ServedTool): Tool {
    served.listed ??= listedTool(served.entry, toolset.catalog.definitions, catalogServing, 'static') as Tool;
    return served.listed;
  }

  /** The same path for a tool called directly (static mode) and through call_tool (dynamic mode). */
  async function callCatalogTool(
    toolset: ServedToolset,
    client: GatewayClient,
    name: string,
    args: Record<string, unknown>,
    requestId: string,
  ): Promise<CallToolResult> {
    const served = toolFor(toolset, client, name);
    const validate = validatorOf(toolset, served);
    if (!validate(args)) {
      const errors = toFieldErrors(validate.errors, '');
      throw validationFailed(
        errors,
        `Invalid arguments for tool "${name}": ${errors.map((e) => `${e.path || 'arguments'} ${e.message}`).join('; ')}.`,
      );
    }
    if (toolset.credentialProblem)
      return { content: [{ type: 'text', text: toolset.credentialProblem }], isError: true };
    if (toolset.type === 'MCP') return callMcpTool(toolset, name, args);
    if (!served.operation)
      return {
        content: [{ type: 'text', text: `Tool "${name}" has no upstream operation recorded.` }],
        isError: true,
      };
    const operation = served.operation;
    const call = (credential: UpstreamCredential | null) =>
      upstream.call({
        operation,
        baseUrl: toolset.baseUrl,
        credential,
        arguments: args,
        timeoutMs: options.upstreamTimeoutMs,
        maxResponseBytes: options.maxResponseBytes,
      });
    const { workspaceId } = toolset;
    if (toolset.perUserConnector !== null) {
      // The caller's own connection, never anyone else's: the person comes from their OAuth access token only.
      const person = client.personId;
      if (person === undefined)
        return refusal({
          message: `The toolset "${toolset.name}" uses per-user credentials: each call goes out with the calling person's own connection, so it needs a person signed in through MCP OAuth. An access client's token (pbac_…) stands for no person.`,
        });
      const first = await deps.upstreamOAuth.userAccessToken(workspaceId, toolset.perUserConnector, person, requestId);
      return callWithToken(first, call, (version) =>
        deps.upstreamOAuth.afterRejection(workspaceId, first.connectionId!, version, person),
      );
    }
    if (toolset.connectionId === null) return call(toolset.credential);
    const connectionId = toolset.connectionId;
    return callWithToken(await deps.upstreamOAuth.accessToken(workspaceId, connectionId), call, (version) =>
      deps.upstreamOAuth.afterRejection(workspaceId, connectionId, version),
    );
  }

  /**
   * A call with a connection's OAuth access token (refreshed first when due). An upstream that answers 401 gets
   * one more try, with a token refreshed for it unless another call already did.
   */
  async function callWithToken(
    first: CallToken,
    call: (credential: UpstreamCredential) => Promise<CallToolResult>,
    afterRejection: (version: number) => Promise<CallToken>,
  ): Promise<CallToolResult> {
    const bearer = (token: { token: string; onlyTo: string }): UpstreamCredential => ({
      in: 'header',
      key: 'Authorization',
      value: `Bearer ${token.token}`,
      onlyTo: token.onlyTo,
    });
    if (!first.ok) return refusal(first);
    const result = await call(bearer(first));
    if (upstreamStatusOf(result) !== 401) return result;
    const second = await afterRejection(first.version);
    if (!second.ok) return refusal(second);
    return call(bearer(second));
  }

  /** Checks a meta-tool's arguments against its schema: bad ones are the caller's -32602, as for any tool. */
  function checkMetaArguments(name: string, args: Record<string, unknown>): void {
    const validate = metaValidators.get(name)!;
    if (validate(args)) return;
    const errors = toFieldErrors(validate.errors, '');
    throw validationFailed(
      errors,
      `Invalid arguments for tool "${name}": ${errors.map((e) => `${e.path || 'arguments'} ${e.message}`).join('; ')}.`,
    );
  }

  function searchTools(toolset: ServedToolset, client: GatewayClient, query: string, limit: number): CallToolResult {
    toolset.searchIndex ??= buildToolSearchIndex(
      toolset.catalog.tools.map((tool) => ({
        name: tool.name,
        description: tool.description,
        ...(tool.method === null ? {} : { method: tool.method }),
        ...(tool.path === null ? {} : { path: tool.path }),
        tags: tool.tags,
        parameterNames: Object.keys((tool.inputSchema.properties as Record<string, unknown> | undefined) ?? {}),
      })),
    );
    // Tools the client may not use are never shown: the index is asked for enough to fill the page without them.
    const visible = client.tools.some((ref) => ref.startsWith(`${toolset.name}/`));
    const hits = toolset.searchIndex
      .search(query, visible ? toolset.searchIndex.size : limit)
      .filter((hit) => allowsTool(client.tools, toolset.name, hit.name))
      .slice(0, limit);
    const tools = hits.map((hit) => {
      const entry = toolset.byName.get(hit.name)!.entry;
      return {
        name: entry.name,
        description: firstSentence(entry.description),
        ...(entry.method === null ? {} : { method: entry.method }),
        ...(entry.path === null ? {} : { path: entry.path }),
      };
    });
    const text =
      tools.length === 0
        ? `No tool matches "${query}".`
        : tools
            .map((t, i) => `${i + 1}. ${t.name}${t.method ? ` (${t.method} ${t.path})` : ''}: ${t.description}`)
            .join('\n');
    return { content: [{ type: 'text', text }], structuredContent: { tools } };
  }

  function describeTool(toolset: ServedToolset, client: GatewayClient, name: string, full: boolean): CallToolResult {
    const { entry } = toolFor(toolset, client, name);
    let inputSchema: Record<string, unknown>;
    if (full) {
      inputSchema = withoutDuplicateRequired(
        assembleInputSchema(entry.inputSchema, toolset.catalog.definitions),
      ) as Record<string, unknown>;
      const bytes = Buffer.byteLength(JSON.stringify(inputSchema));
      if (bytes > catalogServing.maxFullSchemaBytes)
        throw new DomainError(
          'bad-request',
          `The full input schema of tool "${name}" is ${bytes} bytes, over this server's limit of ${catalogServing.maxFullSchemaBytes} (TOOL_SCHEMA_FULL_MAX_BYTES); use the budgeted schema (without "full").`,
        );
    } else inputSchema = servedInputSchema(entry, toolset.catalog.definitions, catalogServing, 'dynamic');
    const described = { name: entry.name, description: entry.description, inputSchema };
    return { content: [{ type: 'text', text: JSON.stringify(described) }], structuredContent: described };
  }

  /** A connected client of an MCP upstream, one per toolset revision, made again after a failure. */
  function upstreamClient(toolset: ServedToolset): Promise<Client> {
    const key = toolset.uid;
    const cached = upstreamClients.get(key);
    if (cached && cached.revision === toolset.revision) return cached.client;
    if (cached) void cached.client.then((c) => c.close()).catch(() => undefined);
    const target = toolset.mcpTarget!;
    const headers: Record<string, string> = {};
    if (toolset.credential?.in === 'header') headers[toolset.credential.key] = toolset.credential.value;
    const url = new URL(target.url);
    if (toolset.credential?.in === 'query') url.searchParams.set(toolset.credential.key, toolset.credential.value);
    const transport =
      target.transportType === 'sse'
        ? new SSEClientTransport(url, { requestInit: { headers }, fetch: upstreamFetch })
        : new StreamableHTTPClientTransport(url, { requestInit: { headers }, fetch: upstreamFetch });
    const client = new Client({ name: 'plugboard-gateway', version: VERSION_INFO.version });
    client.onclose = () => {
      if (upstreamClients.get(key)?.client === connected) upstreamClients.delete(key);
    };
    const connected = client.connect(transport, { timeout: options.upstreamTimeoutMs }).then(() => client);
    connected.catch(() => upstreamClients.delete(key));
    upstreamClients.set(key, { revision: toolset.revision, client: connected });
    return connected;
  }

  async function callMcpTool(
    toolset: ServedToolset,
    name: string,
    args: Record<string, unknown>,
  ): Promise<CallToolResult> {
    if (!toolset.mcpTarget)
      return { content: [{ type: 'text', text: 'The toolset names no valid upstream MCP server.' }], isError: true };
    try {
      const client = await upstreamClient(toolset);
      const result = (await client.callTool({ name, arguments: args }, undefined, {
        timeout: options.upstreamTimeoutMs,
      })) as CallToolResult;
      return redactMcpResult(result, toolset.credential);
    } catch (error) {
      const broken = upstreamClients.get(toolset.uid);
      if (broken?.revision === toolset.revision) upstreamClients.delete(toolset.uid);
      const message = redactCredential((error as Error).message, toolset.credential);
      return {
        content: [{ type: 'text', text: `The upstream MCP server failed on tool "${name}": ${message}` }],
        isError: true,
      };
    }
  }

  return {
    /** The client a bearer token belongs to, if the token is current and the client active. */
    async authenticate(token: string): Promise<GatewayClient | undefined> {
      if (!token.startsWith(ACCESS_CLIENT_TOKEN_PREFIX)) return undefined;
      const hash = hashApiKey(token);
      const row = await clientsByToken.get(hash, (reader) => gateway.findGatewayClient(reader, hash));
      if (!row || row.status !== 'active' || (row.expiresAt !== null && isExpired(row, clock.now()))) return undefined;
      return {
        workspaceId: row.workspaceId,
        id: row.id,
        uid: row.uid,
        toolsets: row.toolsets,
        tools: row.tools,
        rateLimit: row.rateLimit,
        rateKey: row.uid,
      };
    },

    /**
     * The user and client behind an OAuth access token, if it was issued for exactly this toolset's MCP
     * endpoint, on this transport (RFC 8707: a token for another toolset or endpoint, or for the native API, is no
     * token here).
     */
    async authenticateOAuth(
      token: string,
      workspaceId: string,
      toolset: string,
      transport: McpTransport = 'mcp',
    ): Promise<GatewayClient | undefined> {
      const caller = await deps.oauth.authenticate(
        token,
        mcpResourceOf(options.publicUrl, workspaceId, toolset, transport),
        workspaceId,
      );
      if (!caller) return undefined;
      return {
        workspaceId,
        id: caller.clientId,
        uid: `grant:${caller.grantId}`,
        toolsets: [toolset],
        // A grant covers the whole toolset; per-tool limits belong to access clients.
        tools: [],
        rateLimit: null,
        rateKey: `user:${caller.userId}\u0000${caller.clientId}`,
        user: caller,
        personId: caller.userId,
      };
    },

    /**
     * Audits a tool call made through an OAuth client: the user (principal), `mcp-tool:call` on
     * `{toolset}/{tool}`, and the client it came through. Calls with access-client tokens are not
     * audited (they are logged and counted like every request).
     */
    async recordCall(client: GatewayClient, toolset: ServedToolset, tool: string, requestId: string): Promise<void> {
      const caller = client.user;
      if (!caller) return;
      await writer.write((tx) =>
        insertAuditEvent(tx, {
          at: clock.now(),
          principalId: caller.userId,
          workspaceId: toolset.workspaceId,
          action: 'mcp-tool:call',
          resourceType: 'tool',
          resourceId: `${toolset.name}/${tool}`,
          requestId,
          fromRevision: null,
          toRevision: null,
          changedFields: [],
          clientId: caller.clientId,
          clientName: caller.clientName,
        }),
      );
    },

    /** Whether a client may use a toolset of its workspace. */
    allows: (client: GatewayClient, workspaceId: string, toolset: string) =>
      client.workspaceId === workspaceId && allows({ status: 'active', toolsets: client.toolsets }, toolset),

    /** The toolset as currently stored, compiled; undefined when it does not exist. */
    async toolset(workspaceId: string, name: string): Promise<ServedToolset | undefined> {
      const version = await versions.get(`${workspaceId}\u0000${name}`, (reader) =>
        gateway.findToolsetVersion(reader, workspaceId, name),
      );
      if (version === undefined) return undefined;
      const cached = cache.get(version.uid);
      if (cached && cached.revision === version.revision) return cached;
      const row = await gateway.findServableToolset(db.kysely, workspaceId, name);
      if (!row) return undefined;
      const served = compile(workspaceId, name, row);
      cache.delete(row.uid);
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
      cache.set(row.uid, served);
      return served;
    },

    /**
     * One page of `tools/list` for this client: the three meta-tools in dynamic mode; in static mode the tools
     * the client may use, `pageSize` at a time, each with its budgeted schema. The cursor names the last tool
     * of the page before; an unknown one is the caller's error.
     */
    listTools(toolset: ServedToolset, client: GatewayClient, cursor: string | undefined): ToolPage {
      if (toolset.mode === 'dynamic') return { tools: META_TOOLS };
      const visible = visibleTools(toolset, client);
      let start = 0;
      if (cursor !== undefined) {
        const after = decodeToolCursor(cursor);
        const index = after === undefined ? -1 : visible.findIndex((served) => served.entry.name === after);
        if (index < 0) throw new DomainError('bad-request', 'Invalid params: the cursor is not one this server gave.');
        start = index + 1;
      }
      const page = visible.slice(start, start + catalogServing.pageSize);
      const tools = page.map((served) => listedOf(toolset, served));
      const last = page.at(-1);
      return start + page.length < visible.length && last
        ? { tools, nextCursor: encodeToolCursor(last.entry.name) }
        : { tools };
    },

    /**
     * Calls a tool. Arguments that do not fit its inputSchema, and an unknown tool, are the caller's error
     * (validation-failed / not-found); whatever the upstream does comes back as a result, `isError` on failure.
     * In dynamic mode the meta-tools answer first; `call_tool` goes the same way as a direct call.
     */
    async callTool(
      toolset: ServedToolset,
      client: GatewayClient,
      name: string,
      args: Record<string, unknown>,
      requestId: string,
    ): Promise<CallToolResult> {
      if (toolset.mode === 'dynamic' && metaValidators.has(name)) {
        checkMetaArguments(name, args);
        if (name === 'search_tools')
          return searchTools(
            toolset,
            client,
            args.query as string,
            (args.limit as number | undefined) ?? SEARCH_LIMIT_DEFAULT,
          );
        if (name === 'describe_tool') return describeTool(toolset, client, args.name as string, args.full === true);
        return callCatalogTool(
          toolset,
          client,
          args.name as string,
          args.arguments as Record<string, unknown>,
          requestId,
        );
      }
      return callCatalogTool(toolset, client, name, args, requestId);
    },

    sessions: {
      open(client: GatewayClient, toolset: ServedToolset, protocolVersion: string, elicitsUrl = false): string {
        const expiresAt = Math.floor(Date.parse(clock.now()) / 1000) + options.sessionTtlSeconds;
        const claims = {
          workspaceId: client.workspaceId,
          toolset: toolset.name,
          toolsetUid: toolset.uid,
          clientId: client.id,
          clientUid: client.uid,
          ...(elicitsUrl ? { elicitsUrl: true as const } : {}),
        };
        return sessionIds.issue({ ...claims, protocolVersion, expiresAt });
      },
      /**
       * The claims of a session id that this client opened for this toolset and that is neither expired nor
       * ended; undefined otherwise (the transports answer 404, and the client starts a new session). Client and
       * toolset are compared by uid: a session never carries over to others created under the same names.
       */
      async check(id: string, client: GatewayClient, toolset: ServedToolset): Promise<SessionClaims | undefined> {
        const claims = await openSessions.get(id, async (reader) => {
          const verified = sessionIds.verify(id);
          return verified && !(await gateway.isSessionEnded(reader, sessionHash(id))) ? verified : undefined;
        });
        if (!claims || claims.clientUid !== client.uid || claims.toolsetUid !== toolset.uid) return undefined;
        if (
          claims.clientId !== client.id ||
          claims.workspaceId !== client.workspaceId ||
          claims.toolset !== toolset.name
        )
          return undefined;
        if (claims.expiresAt * 1000 <= Date.parse(clock.now())) return undefined;
        return claims;
      },
      async end(id: string, claims: SessionClaims): Promise<void> {
        await writer.write((tx) =>
          gateway.endSession(tx, sessionHash(id), new Date(claims.expiresAt * 1000).toISOString()),
        );
      },
      purgeEnded: () => writer.write((tx) => gateway.purgeEndedSessions(tx, clock.now())),
    },

    async close(): Promise<void> {
      clearInterval(sweeper);
      const clients = [...upstreamClients.values()];
      upstreamClients.clear();
      await Promise.all(clients.map((c) => c.client.then((client) => client.close()).catch(() => undefined)));
      await upstream.close();
    },
  };
}

export type GatewayService = ReturnType<typeof createGatewayService>;

/** The first sentence of a description (up to 200 characters): what search results show of each tool. */
export function firstSentence(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  const match = /^(.+?[.!?])(\s|$)/.exec(line);
  const sentence = match ? match[1]! : line;
  return cutText(sentence, 200);
}

const encodeToolCursor = (name: string) => Buffer.from(JSON.stringify({ after: name })).toString('base64url');

function decodeToolCursor(cursor: string): string | undefined {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    return typeof value.after === 'string' ? value.after : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A toolset's catalogue as stored; for a toolset converted before catalogues existed (until the reconciler makes
 * it again), its status's self-contained tool schemas with no shared definitions.
 */
function catalogOf(row: gateway.ServableToolsetRow): ToolCatalog {
  if (row.catalog !== null && typeof row.catalog === 'object') return row.catalog as ToolCatalog;
  const legacy = row.status.outputs.tools as readonly (ToolsetStatus['outputs']['tools'][number] & {
    inputSchema?: Record<string, unknown>;
  })[];
  const refs = new Map(row.status.outputs.openApiTools.map((ref) => [ref.toolName, ref]));
  return {
    definitions: {},
    tools: legacy.map((tool) => ({
      name: tool.name,
      description: tool.description,
      inputSchema: tool.inputSchema ?? { type: 'object' },
      method: refs.get(tool.name)?.method ?? null,
      path: refs.get(tool.name)?.path ?? null,
      tags: [],
      operationId: refs.get(tool.name)?.toolId ?? null,
    })),
  };
}
