import type { Tool } from '@modelcontextprotocol/sdk/types.js';

/** The most `search_tools` returns at once, and what it returns when the caller says nothing. */
export const SEARCH_LIMIT_MAX = 20;
export const SEARCH_LIMIT_DEFAULT = 8;

/**
 * The three tools a toolset in dynamic mode lists instead of its operations (docs/mcp-gateway.md): find a tool,
 * read its schema, call it.
 */
export const META_TOOLS: readonly Tool[] = Object.freeze([
  {
    name: 'search_tools',
    description:
      'Finds the tools of this API that match a request in plain words (say "list my calendar events"), best first. Then call describe_tool for the arguments of the one you want, and call_tool to run it.',
    inputSchema: {
      type: 'object',
      properties: {
        query: { type: 'string', minLength: 1, maxLength: 1000, description: 'What you want to do, in plain words.' },
        limit: {
          type: 'integer',
          minimum: 1,
          maximum: SEARCH_LIMIT_MAX,
          default: SEARCH_LIMIT_DEFAULT,
          description: 'How many tools to return at most.',
        },
      },
      required: ['query'],
      additionalProperties: false,
    },
  },
  {
    name: 'describe_tool',
    description:
      'Gives the description and the input schema of one tool (as named by search_tools). Parts of a large schema are collapsed; pass "full": true for all of it.',
    inputSchema: {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 64, description: 'The tool name.' },
        full: { type: 'boolean', default: false, description: 'The full schema, nothing collapsed.' },
      },
      required: ['name'],
      additionalProperties: false,
    },
  },
  {
    name: 'call_tool',
    description:
      'Calls one tool of this API with its arguments (as describe_tool gives its schema) and returns its result.',
    inputSchema: {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 64, description: 'The tool name.' },
        arguments: { type: 'object', description: "The tool's arguments." },
      },
      required: ['name', 'arguments'],
      additionalProperties: false,
    },
  },
] as Tool[]);

/** Bytes of the `tools/list` result in dynamic mode. */
export const META_LIST_BYTES = Buffer.byteLength(JSON.stringify({ tools: META_TOOLS }));
