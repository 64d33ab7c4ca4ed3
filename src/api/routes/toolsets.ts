import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Slug } from '../../domain/common.js';
import {
  TOOLSET_NAME_PATTERN,
  TOOLSET_PHASES,
  ToolsetCreateInput,
  ToolsetFields,
  ToolsetSpec,
  versionOf,
} from '../../domain/toolset.js';
import type { ToolsetService } from '../../services/toolset-service.js';
import type { ToolTrialService } from '../../services/tool-trial-service.js';
import { errorResponses, pageRequestOf, sendPage, sendVersioned, withoutFields, writeErrorResponses } from '../http.js';
import { documentBodyLimit } from '../../http/body-limit.js';
import { preconditionOf, type RouteOptions } from '../../http/precondition.js';
import { MergePatchBody, PageQuery, pageOf } from '../schemas.js';

const WorkspaceParams = Type.Object({ workspaceId: Slug });
const Params = Type.Object({ workspaceId: Slug, name: Type.String({ pattern: TOOLSET_NAME_PATTERN }) });
const NullableString = Type.Union([Type.String(), Type.Null()]);
const Tool = Type.Object({
  name: Type.String(),
  description: Type.String(),
  inputSchema: Type.Record(Type.String(), Type.Unknown(), {
    description: 'As the gateway serves it: within TOOL_SCHEMA_BUDGET_BYTES (docs/mcp-gateway.md, "Schema budget").',
  }),
  method: Type.Optional(Type.String({ description: 'Upper-case HTTP method (OpenAPI toolsets).' })),
  path: Type.Optional(Type.String({ description: 'Path template (OpenAPI toolsets).' })),
  bytes: Type.Integer({ description: 'Bytes of this tool in a static tools/list answer.' }),
});
const ListedTool = Type.Object({ name: Type.String(), description: Type.String() });
const CatalogSummary = Type.Object(
  {
    servedMode: Type.Union([Type.Literal('static'), Type.Literal('dynamic')], {
      description: 'How the gateway serves the toolset now (spec.toolMode, auto decided by size).',
    }),
    tools: Type.Integer({ description: 'Tools after spec.include/exclude and hidden overrides.' }),
    listBytes: Type.Integer({ description: 'Bytes of the tools/list answer as served.' }),
    estimatedTokens: Type.Integer({ description: 'listBytes / 4, rounded up.' }),
    staticListBytes: Type.Integer({ description: 'Bytes of tools/list with every tool listed (static mode).' }),
    staticEstimatedTokens: Type.Integer(),
    staticListEstimated: Type.Boolean({
      description: 'True when served dynamically: the static figures are then an upper bound, not measured.',
    }),
    largestSchemaBytes: Type.Integer({ description: 'The largest served input schema.' }),
    storedSchemaBytes: Type.Integer({ description: 'Stored schemas: each tool its own, shared definitions once.' }),
  },
  { description: "plugboard's own: the filtered catalogue and its size; absent until the first conversion." },
);

/** The Toolset object in the DevS shape (`status` is the reconciler's; `spec` secrets read as "******"). */
const ToolsetView = Type.Object({
  name: Type.String(),
  uid: Type.String(),
  kind: Type.Literal('Toolset'),
  generation: Type.Integer({ minimum: 1, description: '+1 on every change of spec.' }),
  description: NullableString,
  labels: Type.Record(Type.String(), Type.String()),
  createdTime: Type.String({ format: 'date-time' }),
  spec: ToolsetSpec,
  status: Type.Object({
    phase: Type.Union(TOOLSET_PHASES.map((p) => Type.Literal(p))),
    message: NullableString,
    outputs: Type.Object({
      urls: Type.Object({ internetUrl: Type.String(), intranetUrl: Type.String() }),
      mcpServerConfig: Type.Object({
        url: Type.String(),
        transportType: Type.String(),
        headers: Type.Record(Type.String(), Type.String()),
      }),
      openApiTools: Type.Array(
        Type.Object({ toolId: Type.String(), toolName: Type.String(), method: Type.String(), path: Type.String() }),
      ),
      tools: Type.Array(ListedTool, {
        description: 'The served tools by name; their input schemas are listed by GET …/toolsets/{name}/tools.',
      }),
      catalog: Type.Optional(CatalogSummary),
    }),
    observedTime: NullableString,
    observedGeneration: Type.Union([Type.Integer(), Type.Null()]),
  }),
});
const SERVER_MANAGED = ['name', 'uid', 'kind', 'generation', 'createdTime', 'status'];
const ToolsetPutBody = Type.Object(
  {
    ...ToolsetFields,
    ...Object.fromEntries(
      SERVER_MANAGED.map((n) => [n, Type.Optional(Type.Unknown({ description: 'Server-managed; ignored.' }))]),
    ),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object(
  {
    ...PageQuery.properties,
    q: Type.Optional(Type.String({ maxLength: 128, description: 'Name contains (case-insensitive).' })),
    phase: Type.Optional(
      Type.Union(
        TOOLSET_PHASES.map((p) => Type.Literal(p)),
        { description: 'Only toolsets in this phase.' },
      ),
    ),
  },
  { additionalProperties: false },
);
const ToolParams = Type.Object({
  ...Params.properties,
  tool: Type.String({ minLength: 1, maxLength: 128, description: 'The name of a tool the toolset serves.' }),
});
const ToolCallBody = Type.Object(
  { arguments: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: "The tool's arguments." })) },
  { additionalProperties: false },
);
const ToolCallReply = Type.Object({
  result: Type.Object(
    {
      content: Type.Array(Type.Record(Type.String(), Type.Unknown())),
      structuredContent: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      isError: Type.Optional(Type.Boolean()),
    },
    { description: 'The MCP tools/call result, as the gateway would send it.' },
  ),
  latencyMs: Type.Number({ description: 'How long the call took.' }),
});
const tags = ['toolsets'];
const note =
  'A change of spec bumps generation; the reconciler then turns it into status (phase Installed, or Failed with the last good tools kept).';

export const toolsetRoutes: FastifyPluginAsyncTypebox<
  RouteOptions & {
    toolsets: ToolsetService;
    toolTrials: ToolTrialService;
    /** The body limit of the routes that take a document (see `documentBodyLimit`). */
    documentBodyLimit: number;
  }
> = async (app, options) => {
  const { toolsets } = options;
  // Create, replace and patch carry the OpenAPI document: their bodies may reach the document limit.
  const takesDocument = documentBodyLimit(options.documentBodyLimit);
  const base = '/workspaces/:workspaceId/toolsets';
  const send = (
    request: Parameters<typeof sendVersioned>[0],
    reply: Parameters<typeof sendVersioned>[1],
    toolset: Parameters<typeof versionOf>[0],
    status = 200,
  ) => {
    const { workspaceId: _w, revision: _r, updatedAt: _u, ...body } = toolset;
    return sendVersioned(request, reply, versionOf(toolset), body, status);
  };

  app.get(
    base,
    {
      schema: {
        tags,
        summary: 'List toolsets',
        params: WorkspaceParams,
        querystring: ListQuery,
        response: { 200: pageOf(ToolsetView), ...errorResponses },
      },
    },
    async (request, reply) => {
      const page = await toolsets.list(request.actor, request.params.workspaceId, {
        ...pageRequestOf(request.query),
        nameContains: request.query.q,
        phase: request.query.phase,
      });
      return sendPage(request, reply, {
        ...page,
        items: page.items.map(({ workspaceId: _w, revision: _r, updatedAt: _u, ...t }) => t),
      });
    },
  );

  app.post(
    base,
    {
      ...takesDocument,
      schema: {
        tags,
        summary: 'Create a toolset from an OpenAPI document or an upstream MCP server',
        description: note,
        params: WorkspaceParams,
        body: ToolsetCreateInput,
        response: { 201: ToolsetView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const toolset = await toolsets.create(request.actor, request.params.workspaceId, request.body);
      reply.header('location', `/api/v1/workspaces/${toolset.workspaceId}/toolsets/${toolset.name}`);
      return send(request, reply, toolset, 201);
    },
  );

  app.get(
    `${base}/:name`,
    {
      schema: {
        tags,
        summary: 'Get a toolset, with its current status',
        params: Params,
        response: { 200: ToolsetView, ...errorResponses },
      },
    },
    async (request, reply) =>
      send(request, reply, await toolsets.get(request.actor, request.params.workspaceId, request.params.name)),
  );

  app.get(
    `${base}/:name/tools`,
    {
      schema: {
        tags,
        summary: 'List the tools the gateway serves for a toolset',
        params: Params,
        querystring: PageQuery,
        response: { 200: pageOf(Tool), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, name } = request.params;
      return sendPage(
        request,
        reply,
        await toolsets.listTools(request.actor, workspaceId, name, pageRequestOf(request.query)),
      );
    },
  );

  app.post(
    `${base}/:name/tools/:tool/call`,
    {
      schema: {
        tags,
        summary: 'Call a tool as the signed-in principal',
        description:
          "The gateway's own call path (argument validation against inputSchema, the upstream request with the toolset's credential, the timeout), with the caller's rights (toolset:call, editor) in place of an access client's. Arguments that do not fit are a 400; whatever the upstream does comes back as the MCP result, isError on failure.",
        params: ToolParams,
        body: ToolCallBody,
        response: { 200: ToolCallReply, ...writeErrorResponses },
      },
    },
    async (request) => {
      const { workspaceId, name, tool } = request.params;
      return options.toolTrials.call(request.actor, workspaceId, name, tool, request.body.arguments ?? {});
    },
  );

  app.put(
    `${base}/:name`,
    {
      ...takesDocument,
      schema: {
        tags,
        summary: "Replace a toolset's description, labels and spec",
        description: note,
        params: Params,
        body: ToolsetPutBody,
        response: { 200: ToolsetView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, name } = request.params;
      const toolset = await toolsets.replace(
        request.actor,
        workspaceId,
        name,
        withoutFields(request.body, SERVER_MANAGED),
        preconditionOf(request, options),
      );
      return send(request, reply, toolset);
    },
  );

  app.patch(
    `${base}/:name`,
    {
      ...takesDocument,
      schema: {
        tags,
        summary: 'Change some fields of a toolset (JSON merge patch)',
        description: note,
        params: Params,
        body: MergePatchBody,
        response: { 200: ToolsetView, ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      const { workspaceId, name } = request.params;
      return send(
        request,
        reply,
        await toolsets.patch(request.actor, workspaceId, name, request.body, preconditionOf(request, options)),
      );
    },
  );

  app.delete(
    `${base}/:name`,
    {
      schema: {
        tags,
        summary: 'Delete a toolset',
        params: Params,
        response: { 204: Type.Null(), ...writeErrorResponses },
      },
    },
    async (request, reply) => {
      await toolsets.remove(
        request.actor,
        request.params.workspaceId,
        request.params.name,
        preconditionOf(request, options),
      );
      return reply.code(204).send(null);
    },
  );
};
