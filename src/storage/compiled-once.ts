import { createQueryId, type Compilable, type CompiledQuery, type QueryResult } from 'kysely';
import type { Executor } from './writer.js';

/**
 * A statement whose SQL text is the same every time (its values all in parameters, many rows in one JSON
 * parameter, say), built and compiled by Kysely on its first run and then only run with new parameters:
 * building and compiling a wide statement costs more than the store takes to run it.
 */
export function compiledOnce(build: (db: Executor) => Compilable<unknown>): (db: Executor, parameters: readonly unknown[]) => Promise<QueryResult<unknown>> {
  let compiled: CompiledQuery<unknown> | undefined;
  return (db, parameters) => {
    if (!compiled) {
      const built = build(db).compile();
      if (built.parameters.length !== parameters.length) {
        throw new Error(`The statement takes ${built.parameters.length} parameters, not ${parameters.length}: ${built.sql}`);
      }
      compiled = built;
    }
    return db.executeQuery({ ...compiled, queryId: createQueryId(), parameters });
  };
}
