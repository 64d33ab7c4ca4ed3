// Documents under the body limit that cost far more to convert than they weigh: what an attacker with the
// toolset:create permission would upload to stop a node.
import { stringify } from 'yaml';

const openApi = (paths: Record<string, unknown>, schemas: Record<string, unknown>) => ({
  openapi: '3.0.3',
  info: { title: 'bomb', version: '1' },
  paths,
  components: { schemas },
});

/** `count` POST operations whose request body is `ref`. */
function operations(count: number, ref: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    paths[`/r${i}`] = {
      post: { operationId: `op${i}`, requestBody: { content: { 'application/json': { schema: { $ref: ref } } } } },
    };
  }
  return paths;
}

/** About 880 KB of YAML: one large schema, referenced by 1,800 operations (1.4 GB once copied into every tool). */
export function sharedSchemaBomb(): string {
  const properties: Record<string, unknown> = {};
  for (let i = 0; i < 5850; i++)
    properties[`field_${i}`] = { type: 'string', description: `Field ${i} of the shared schema` };
  return stringify(openApi(operations(1800, '#/components/schemas/Big'), { Big: { type: 'object', properties } }));
}

/**
 * JSON with a huge enum/oneOf fan-out: a union of 300 enums of 40 values in one shared body, used by 500
 * operations. Each tool (120 kB) stays under the per-tool limit; together they are 60 MB.
 */
export function fanOutBomb(): string {
  const schemas: Record<string, unknown> = {};
  for (let c = 0; c < 300; c++)
    schemas[`Choice${c}`] = { type: 'string', enum: Array.from({ length: 40 }, (_, v) => `c${c}v${v}`) };
  schemas.Union = { oneOf: Array.from({ length: 300 }, (_, c) => ({ $ref: `#/components/schemas/Choice${c}` })) };
  schemas.Body = { type: 'object', properties: { choice: { $ref: '#/components/schemas/Union' } } };
  return JSON.stringify(openApi(operations(500, '#/components/schemas/Body'), schemas));
}

/** A request body schema nested 20,000 levels deep (about 700 KB of JSON). */
export function deepSchemaBomb(depth = 20_000): string {
  const open = '{"type":"object","properties":{"a":';
  const schema = `${open.repeat(depth)}{"type":"string"}${'}}'.repeat(depth)}`;
  return `{"openapi":"3.0.3","info":{"title":"deep","version":"1"},"paths":{"/d":{"post":{"operationId":"deep","requestBody":{"content":{"application/json":{"schema":${schema}}}}}}}}`;
}

/** "Billion laughs" in YAML: nine levels of ten aliases each, a billion values once expanded. */
export function yamlAliasBomb(): string {
  const lines = [
    'openapi: 3.0.3',
    'info: {title: laughs, version: "1"}',
    'x-l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]',
  ];
  for (let level = 1; level <= 9; level++)
    lines.push(`x-l${level}: &l${level} [${Array.from({ length: 10 }, () => `*l${level - 1}`).join(', ')}]`);
  lines.push(
    'paths:',
    '  /laugh:',
    '    post:',
    '      operationId: laugh',
    '      requestBody:',
    '        content:',
    '          application/json:',
  );
  lines.push('            schema: {type: string, enum: *l9}');
  return lines.join('\n');
}

/** One operation whose own (inline, unshared) body schema is about 290 kB: over the per-tool limit by itself. */
export function oversizedToolDocument(): string {
  const properties: Record<string, unknown> = {};
  for (let i = 0; i < 5850; i++) properties[`field_${i}`] = { type: 'string', description: `Field ${i} of the body` };
  const body = { content: { 'application/json': { schema: { type: 'object', properties } } } };
  return stringify(openApi({ '/r0': { post: { operationId: 'op0', requestBody: body } } }, {}));
}

/**
 * About 200 kB of YAML whose 50 operations all take one inline body through a YAML alias (under the alias limit):
 * not a shared schema ($ref), so each operation converts its own copy — some 300,000 schema nodes to hold.
 */
export function inlineAliasBomb(): string {
  const properties: string[] = [];
  for (let i = 0; i < 5850; i++) properties.push(`      field_${i}: {type: string}`);
  const lines = [
    'openapi: 3.0.3',
    'info: {title: bomb, version: "1"}',
    'x-body: &body',
    '  content:',
    '    application/json:',
    '      schema:',
    '        type: object',
    '        properties:',
    ...properties.map((p) => `    ${p}`),
    'paths:',
  ];
  for (let i = 0; i < 50; i++) lines.push(`  /r${i}:`, `    post: {operationId: op${i}, requestBody: *body}`);
  return `${lines.join('\n')}\n`;
}
