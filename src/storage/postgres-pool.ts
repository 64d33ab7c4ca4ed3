import pg from 'pg';
import { preparedStatementName } from './compiled-once.js';

/**
 * The pool's connections: the statements of {@link compiledOnce} (the writer's batches, whose parsing and planning
 * cost more than their rows) go as named statements, which each connection prepares on first use and then only
 * binds and runs; everything else as Kysely sends it. A PostgreSQL pooler in between must keep prepared statements
 * apart per client (PgBouncer 1.21 and later does, with `max_prepared_statements`).
 */
class PreparingClient extends pg.Client {}
// eslint-disable-next-line @typescript-eslint/unbound-method -- only ever called with a client as `this`, below
const plainQuery = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
PreparingClient.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const [text, values] = args;
  const name =
    args.length === 2 && typeof text === 'string' && Array.isArray(values) ? preparedStatementName(text) : undefined;
  return name === undefined ? plainQuery.apply(this, args) : plainQuery.call(this, { name, text, values });
} as typeof pg.Client.prototype.query;

const INT8_OID = 20;

/** The store's connection pool: {@link PreparingClient}s whose 64-bit integers come back as JS numbers (every id we store stays below 2^53). */
export function createPostgresPool(location: string, poolSize: number): pg.Pool {
  return new pg.Pool({
    connectionString: location,
    max: poolSize,
    Client: PreparingClient,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID
          ? (value: string) => Number(value)
          : (pg.types.getTypeParser(oid, format) as (value: string) => unknown)) as typeof pg.types.getTypeParser,
    },
  });
}
