// An OpenAPI document shaped like a large real API (Microsoft Graph's style: resources with sub-collections, tags,
// summaries, large shared schemas nested several levels deep), with the routes of test/support/upstream-api.ts in
// it, so that its tools can be called for real.

const RESOURCES = [
  'users',
  'groups',
  'sites',
  'drives',
  'teams',
  'chats',
  'devices',
  'applications',
  'contacts',
  'places',
];
const COLLECTIONS = ['events', 'messages', 'members', 'photos', 'tasks', 'notes', 'permissions', 'calendars'];

const singular = (word: string) => word.replace(/s$/, '');
const title = (word: string) => word[0]!.toUpperCase() + word.slice(1);

/** A large shared schema (about 25 kB): 43 properties, an enum, and an object nested five levels deep. */
function entitySchema(): Record<string, unknown> {
  let nested: Record<string, unknown> = { type: 'object', properties: { leaf: { type: 'string' } } };
  for (let level = 5; level >= 1; level--) {
    nested = {
      type: 'object',
      description: `Level ${level} of the nested settings. `.repeat(12),
      properties: {
        [`level${level}`]: nested,
        note: { type: 'string', description: 'A note kept with the settings, as long as the user likes.'.repeat(3) },
        mode: { type: 'string', enum: ['on', 'off', 'auto'] },
      },
    };
  }
  const properties: Record<string, unknown> = {
    displayName: { type: 'string', description: 'The name shown to people.' },
    sensitivity: { type: 'string', enum: ['normal', 'personal', 'private', 'confidential'] },
    settings: nested,
  };
  for (let i = 0; i < 40; i++)
    properties[`attribute${i}`] = {
      type: 'object',
      description: `Attribute ${i} of the entity.`,
      properties: Object.fromEntries(
        Array.from({ length: 12 }, (_, p) => [
          `part${p}`,
          { type: 'string', description: `Part ${p} of attribute ${i}, described as real documents do.` },
        ]),
      ),
    };
  return { type: 'object', required: ['displayName', 'displayName'], properties };
}

/** The document: the upstream's six operations plus 400 generated ones (10 resources × 8 collections × 5 verbs). */
export function largeApiDocument(serverUrl: string, upstreamDocument: string): string {
  const upstream = JSON.parse(upstreamDocument) as { paths: Record<string, unknown> };
  const paths: Record<string, Record<string, unknown>> = {
    ...(upstream.paths as Record<string, Record<string, unknown>>),
  };
  for (const resource of RESOURCES) {
    const id = { name: `${singular(resource)}-id`, in: 'path', required: true, schema: { type: 'string' } };
    for (const collection of COLLECTIONS) {
      const one = singular(collection);
      const itemId = { name: `${one}-id`, in: 'path', required: true, schema: { type: 'string' } };
      const body = {
        required: true,
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${one}` } } },
      };
      const base = `/${resource}/{${id.name}}/${collection}`;
      const op = (verb: string, summary: string, extra: Record<string, unknown> = {}) => ({
        operationId: `${resource}_${verb}${title(collection)}`,
        summary,
        description: `${summary} of a ${singular(resource)} in the directory.`,
        tags: [resource],
        responses: { '200': { description: 'ok' } },
        ...extra,
      });
      paths[base] = {
        get: op('List', `List ${collection}`, {
          parameters: [id, { name: '$top', in: 'query', schema: { type: 'integer', minimum: 1 } }],
        }),
        post: op('Create', `Create ${one}`, { parameters: [id], requestBody: body }),
      };
      paths[`${base}/{${itemId.name}}`] = {
        get: op('Get', `Get ${one}`, { parameters: [id, itemId] }),
        patch: op('Update', `Update ${one}`, { parameters: [id, itemId], requestBody: body }),
        delete: op('Delete', `Delete ${one}`, { parameters: [id, itemId] }),
      };
    }
  }
  const schemas = Object.fromEntries(COLLECTIONS.map((collection) => [singular(collection), entitySchema()]));
  return JSON.stringify({
    openapi: '3.0.3',
    info: { title: 'Large directory API', version: '1.0.0' },
    servers: [{ url: serverUrl }],
    paths,
    components: { schemas },
  });
}

export const LARGE_API_OPERATIONS = 6 + RESOURCES.length * COLLECTIONS.length * 5;
