import { createHash } from 'node:crypto';
import { createQueryId, type Compilable, type CompiledQuery, type QueryResult, type SelectQueryBuilder } from 'kysely';
import type { Database } from './schema.js';
import type { Executor } from './engine.js';
import { recordRead } from './watch-changes.js';

/** SQL text of every {@link compiledOnce} statement compiled so far → the name it is prepared under on PostgreSQL. */
const prepared = new Map<string, string>();

/**
 * The name under which PostgreSQL connections prepare this statement, if it is one of the {@link compiledOnce}
 * statements (the pool's clients send it as a named statement: parsed and planned once per connection).
 */
export const preparedStatementName = (text: string): string | undefined => prepared.get(text);

/**
 * A statement whose SQL text is the same every time (its values all in parameters, many rows in one JSON
 * parameter, say), built and compiled by Kysely on its first run and then only run with new parameters:
 * building and compiling a wide statement costs more than the store takes to run it. On PostgreSQL it is also
 * a prepared statement of each connection (see {@link preparedStatementName}): parsing and planning a batch's
 * statement, with its CTEs and JSON recordsets, cost the server more than the rows' own work (bench/README.md).
 */
export function compiledOnce(
  build: (db: Executor) => Compilable<unknown>,
): (db: Executor, parameters: readonly unknown[]) => Promise<QueryResult<unknown>> {
  let compiled: CompiledQuery<unknown> | undefined;
  return (db, parameters) => {
    if (!compiled) {
      const built = build(db).compile();
      if (built.parameters.length !== parameters.length) {
        throw new Error(
          `The statement takes ${built.parameters.length} parameters, not ${parameters.length}: ${built.sql}`,
        );
      }
      // A prepared statement whose result columns change (`*` after a migration adds a column) fails on every
      // connection that prepared it, until that connection closes.
      if (/\b(select|returning)\s+\*/i.test(built.sql))
        throw new Error(`A statement compiled once must name the columns it returns: ${built.sql}`);
      compiled = built;
      // Named by the text's hash: the same text always gets the same name, and two texts never share one.
      prepared.set(built.sql, `plugboard_${createHash('sha256').update(built.sql).digest('hex').slice(0, 24)}`);
    }
    return db.executeQuery({ ...compiled, queryId: createQueryId(), parameters });
  };
}

/** The placeholder of value `i` while a {@link compiledPerDialect} statement is compiled. */
const marker = (i: number) => `\u0000value${i}`;

interface Compiled {
  readonly query: CompiledQuery<unknown>;
  /** For each parameter of the compiled statement: the index of the value it takes, or -1 for a constant. */
  readonly sources: readonly number[];
}

/**
 * A statement run many times with new values, as {@link compiledOnce}, for statements both stores run: it is built
 * and compiled once per SQL dialect (the texts differ), with a marker where each value goes, then only run with
 * the values put where the markers were. `build` receives the markers in the order the values will come, and must
 * use each one as a value (never in a list whose length varies, nor where Kysely would not pass it as a parameter).
 * What a cached lookup reads through it is recorded (watch-changes.ts), like a statement built on the spot.
 */
export function compiledPerDialect<R>(
  build: (db: Executor, ...markers: string[]) => Compilable<R>,
): (db: Executor, values: readonly unknown[]) => Promise<QueryResult<R>> {
  const byDialect = new Map<unknown, Compiled>();
  return (db, values) => {
    const dialect = db.getExecutor().adapter.constructor;
    let compiled = byDialect.get(dialect);
    if (!compiled) {
      const query = build(db, ...values.map((_, i) => marker(i))).compile() as CompiledQuery<unknown>;
      const sources = query.parameters.map((p) =>
        typeof p === 'string' && p.startsWith('\u0000value') ? Number(p.slice('\u0000value'.length)) : -1,
      );
      if (new Set(sources.filter((s) => s >= 0)).size !== values.length)
        throw new Error(`The statement does not take each of its ${values.length} values as a parameter: ${query.sql}`);
      if (/\b(select|returning)\s+\*/i.test(query.sql))
        throw new Error(`A statement compiled once must name the columns it returns: ${query.sql}`);
      compiled = { query, sources };
      byDialect.set(dialect, compiled);
      prepared.set(query.sql, `plugboard_${createHash('sha256').update(query.sql).digest('hex').slice(0, 24)}`);
    }
    const { query, sources } = compiled;
    recordRead(db, query.query);
    const parameters = sources.map((source, i) => (source >= 0 ? values[source] : query.parameters[i]));
    return db.executeQuery<R>({ ...query, queryId: createQueryId(), parameters });
  };
}

/**
 * The read of one row by a row change (every write by a single request), as {@link compiledPerDialect} twice: as
 * built, and locked until the commit (`FOR UPDATE OF table`, for PostgreSQL, where a change holds its row's lock).
 */
export function compiledRowRead<R>(
  table: keyof Database,
  build: (db: Executor, ...markers: string[]) => SelectQueryBuilder<Database, keyof Database, R>,
): (db: Executor, values: readonly unknown[], locked: boolean) => Promise<QueryResult<R>> {
  const plain = compiledPerDialect(build);
  const forUpdate = compiledPerDialect((db, ...markers) => build(db, ...markers).forUpdate(table));
  return (db, values, locked) => (locked ? forUpdate : plain)(db, values);
}
