import { createHash } from 'node:crypto';
import { createQueryId, type Compilable, type CompiledQuery, type QueryResult } from 'kysely';
import type { Executor } from './engine.js';

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
