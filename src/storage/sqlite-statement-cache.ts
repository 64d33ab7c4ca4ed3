import type SqliteDatabase from 'better-sqlite3';
import type { SqliteDatabase as KyselySqliteDatabase } from 'kysely';

/**
 * Kysely asks better-sqlite3 to prepare every query it runs, and preparing costs more than running a short
 * one. A query's SQL text is the same for every set of parameters, so the most recently used statements are
 * kept and reused (SQLite re-prepares one by itself if a migration changes the schema under it). Safe because
 * better-sqlite3 runs each statement to completion synchronously: none is ever in use by two queries at once.
 */
export function withStatementCache(database: SqliteDatabase.Database, limit = 256): KyselySqliteDatabase {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => database.close(),
    prepare(text: string) {
      let statement = statements.get(text);
      if (statement) {
        // Most recently used last, so that the first key is always the one to drop.
        statements.delete(text);
      } else {
        statement = database.prepare(text);
        if (statements.size >= limit) statements.delete(statements.keys().next().value!);
      }
      statements.set(text, statement);
      return statement;
    },
  };
}
