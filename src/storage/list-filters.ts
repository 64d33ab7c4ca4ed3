import { sql, type RawBuilder } from 'kysely';
import type { Engine } from './engine.js';

/**
 * `lower(column) like '%text%'` with the text's LIKE wildcards taken literally; lower() on both sides gives
 * SQLite and PostgreSQL the same (ASCII) case rule.
 * @example query.where(nameContains('name', 'pets'))
 */
export function nameContains(column: string, text: string): RawBuilder<boolean> {
  const pattern = `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return sql<boolean>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
}

/**
 * One top-level string member of a JSON object stored as text, in each engine's own words.
 * @example query.where(jsonMember(engine, 'health', 'state'), '=', 'ok')
 */
export function jsonMember(engine: Engine, column: string, key: string): RawBuilder<string | null> {
  return engine === 'postgres'
    ? sql<string | null>`(${sql.ref(column)}::jsonb ->> ${key})`
    : sql<string | null>`json_extract(${sql.ref(column)}, ${`$.${key}`})`;
}
