/**
 * The documents of `bench:gateway`: the one-operation API plugboard serves as a toolset, and a generated
 * large one for timing the converter (the shape of src/openapi/convert-openapi.scale.test.ts, which keeps its
 * own copy for the correctness checks).
 */

/** The upstream's API: one operation `echo`, `POST /echo` with a JSON body `{value: string}`. */
export function echoDocument(serverUrl: string): string {
  return JSON.stringify({
    openapi: '3.0.3',
    info: { title: 'Echo', version: '1.0.0' },
    servers: [{ url: serverUrl }],
    paths: {
      '/echo': {
        post: {
          operationId: 'echo',
          summary: 'Echoes its JSON body',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['value'],
                  properties: { value: { type: 'string' } },
                  additionalProperties: false,
                },
              },
            },
          },
          responses: {
            '200': {
              description: 'The body it received',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
          },
        },
      },
    },
  });
}

/**
 * A document with `resources` × 4 operations (2,000 for 500), sharing schemas the way large APIs do: path-level
 * and component parameters, a recursive schema, an `allOf` per item type, a `oneOf`, one operation in four without
 * an operationId.
 */
export function generatedDocument(resources: number): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (let i = 0; i < resources; i++) {
    const item = { $ref: `#/components/schemas/Item${i % 50}` };
    paths[`/tenants/{tenantId}/resources${i}`] = {
      parameters: [{ $ref: '#/components/parameters/TenantId' }],
      get: {
        operationId: `listResources${i}`,
        summary: `List resources of kind ${i}`,
        parameters: [
          { $ref: '#/components/parameters/Limit' },
          { name: 'filter', in: 'query', schema: { type: 'string' } },
        ],
      },
      post: {
        operationId: `createResource${i}`,
        requestBody: { required: true, content: { 'application/json': { schema: item } } },
      },
    };
    paths[`/tenants/{tenantId}/resources${i}/{id}`] = {
      parameters: [
        { $ref: '#/components/parameters/TenantId' },
        { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
      ],
      put: { operationId: `replaceResource${i}`, requestBody: { content: { 'application/json': { schema: item } } } },
      delete: { description: 'Deletes one resource; no operationId, so the name comes from method and path.' },
    };
  }
  const schemas: Record<string, unknown> = {
    Node: {
      type: 'object',
      properties: {
        label: { type: 'string' },
        children: { type: 'array', items: { $ref: '#/components/schemas/Node' } },
      },
    },
    Base: {
      type: 'object',
      required: ['name'],
      properties: { id: { type: 'string', readOnly: true }, name: { type: 'string' } },
    },
  };
  for (let k = 0; k < 50; k++) {
    schemas[`Item${k}`] = {
      allOf: [
        { $ref: '#/components/schemas/Base' },
        {
          type: 'object',
          properties: {
            [`field${k}`]: { type: 'integer', nullable: true, example: k },
            tags: { type: 'array', items: { type: 'string' } },
            tree: { $ref: '#/components/schemas/Node' },
            kind: { oneOf: [{ type: 'string' }, { type: 'number' }] },
          },
        },
      ],
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Generated', version: '1' },
    servers: [{ url: 'https://api.example.com' }],
    paths,
    components: {
      schemas,
      parameters: {
        TenantId: { name: 'tenantId', in: 'path', required: true, schema: { type: 'string' } },
        Limit: { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
      },
    },
  };
}
