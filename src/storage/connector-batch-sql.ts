import { sql, type QueryCreator } from 'kysely';
import type { Connector } from '../domain/connector.js';
import type { ConnectorRow, Database } from './schema.js';
import { compiledOnce } from './compiled-once.js';
import { insertEventsFromJson } from './audit-repo.js';
import { columnsOf } from './connector-row.js';
import type { Executor } from './engine.js';
import type { RowWrite } from './row-change.js';
import { inKeyArrays } from './row-keys.js';
import { ROW_VERSION, rowVersionOf } from './row-versions.js';

/**
 * The PostgreSQL statements of connector row changes (`connectorRows` in connector-repo.ts): each is compiled
 * once and prepared once per connection, the rows of a whole batch in array and JSON parameters.
 */

/**
 * Every column of the table, named: what the prepared statements select ({@link compiledOnce}), so that a column
 * a later migration adds does not change their result.
 */
export const connectorColumns = [
  'workspace_id',
  'id',
  'uid',
  'name',
  'description',
  'protocol_type',
  'documentation_url',
  'icon_url',
  'base_url',
  'dataset_id',
  'is_public',
  'tags',
  'status',
  'auth_scheme_configs',
  'connection_variables',
  'versions',
  'created_at',
  'updated_at',
  'revision',
] as const satisfies readonly (keyof ConnectorRow)[];
// A column of ConnectorRow missing from the list above fails to compile here.
const everyColumnListed: Exclude<keyof ConnectorRow, (typeof connectorColumns)[number]> extends never ? true : never =
  true;
void everyColumnListed;

/**
 * PostgreSQL: the connectors with these (workspace, id) pairs (two parallel text arrays), locked in key order so
 * that two batches wanting the same rows cannot deadlock (the plan sorts before it locks). The pairs go through
 * an index lookup each.
 */
const selectByKeys = (db: Executor) =>
  db
    .selectFrom('connectors')
    .select(connectorColumns)
    .where(inKeyArrays('workspace_id', 'id'))
    .orderBy('workspace_id')
    .orderBy('id');
export const selectLockedByKeys = compiledOnce((db) => selectByKeys(db).forUpdate());
/** The same without a lock, with each row's version: what an optimistic batch reads outside any transaction. */
export const selectUnlockedByKeys = compiledOnce((db) => selectByKeys(db).select(ROW_VERSION.as('row_version')));

/**
 * PostgreSQL: connectors whose stored revision is still `expected` (and creation time the row's) get the written
 * columns of their row in the JSON parameter ({@link writtenColumns}: an array of objects with the columns of `toRow` (connector-row.ts), plus `expected`
 * and `i`, the row's place in the array), all in one statement whose text never changes.
 */
const updateFromJsonQuery = (db: QueryCreator<Database>) =>
  db
    .updateTable('connectors')
    .from(
      sql`json_to_recordset(${'[]'}::json)`.as(
        sql`u(workspace_id text, id text, name text, description text, protocol_type text, documentation_url text, icon_url text, base_url text,
          dataset_id text, is_public integer, tags json, status text, auth_scheme_configs json, connection_variables json, versions json,
          created_at text, updated_at text, revision integer, expected integer, row_version text, i integer)`,
      ),
    )
    .set({
      name: sql.ref('u.name'),
      description: sql.ref('u.description'),
      protocol_type: sql.ref('u.protocol_type'),
      documentation_url: sql.ref('u.documentation_url'),
      icon_url: sql.ref('u.icon_url'),
      base_url: sql.ref('u.base_url'),
      dataset_id: sql.ref('u.dataset_id'),
      is_public: sql.ref('u.is_public'),
      // A JSON column the change left as it was comes as null (see writtenColumns): the stored text stays.
      tags: sql<string>`coalesce(u.tags::text, connectors.tags)`,
      status: sql.ref('u.status'),
      auth_scheme_configs: sql<string>`coalesce(u.auth_scheme_configs::text, connectors.auth_scheme_configs)`,
      connection_variables: sql<string>`coalesce(u.connection_variables::text, connectors.connection_variables)`,
      versions: sql<string>`coalesce(u.versions::text, connectors.versions)`,
      updated_at: sql.ref('u.updated_at'),
      revision: sql.ref('u.revision'),
    })
    // The keys again, as arrays: the planner knows how many elements an array has, and so looks each row up by its
    // index. It takes any recordset for 100 rows, and a hash join with the whole table would scan it all.
    .where(inKeyArrays('connectors.workspace_id', 'connectors.id'))
    // The creation time too: a connector deleted and created again under its id starts over at revision 1, and a
    // state read from the one before must not be written over it.
    .where(
      sql<boolean>`connectors.workspace_id = u.workspace_id and connectors.id = u.id and connectors.revision = u.expected and connectors.created_at = u.created_at`,
    )
    // The optimistic path also names the row's version as it read it (row-versions.ts); the locking path, which
    // holds the row's lock, sends none.
    .where(sql<boolean>`(u.row_version is null or connectors.xmin::text = u.row_version)`);
export const updateFromJson = compiledOnce(updateFromJsonQuery);

/**
 * PostgreSQL, one autocommit statement: the UPDATE of {@link updateFromJsonQuery}, and the INSERT of the audit
 * events of exactly the rows it wrote (second JSON parameter, see {@link insertEventsFromJson}); answers the
 * `i` of each written row.
 */
export const updateAuditedFromJson = compiledOnce((db) =>
  db
    .with('written', (db) =>
      updateFromJsonQuery(db).returning([
        sql<number>`u.i`.as('i'),
        sql<string>`connectors.xmin::text`.as('row_version'),
      ]),
    )
    .with('audited', (db) => insertEventsFromJson(db as unknown as QueryCreator<Database>, 'written').returning('id'))
    .selectFrom('written')
    .select(['i', 'row_version']),
);

/**
 * The JSON parameter of {@link updateFromJsonQuery}. The JSON columns travel as JSON values, not as strings inside
 * the JSON: PostgreSQL's `json` keeps a value's text as sent, so `::text` stores what `JSON.stringify` of the value
 * gives (`toRow` (connector-row.ts)), without escaping every quote twice on the way. A JSON column the change did not touch (the
 * very object that was read) travels as null and keeps its stored text: the row is written only at the revision it
 * was read at, so that text is the one read. (No JSON column is ever null itself.)
 */
export const writtenColumns = (changes: readonly RowWrite<Connector>[], optimistic = false) =>
  JSON.stringify(
    changes.map(({ row, stored }, i) => ({
      ...columnsOf(row, (value) => value),
      tags: row.tags === stored.tags ? null : row.tags,
      auth_scheme_configs: row.authSchemeConfigs === stored.authSchemeConfigs ? null : row.authSchemeConfigs,
      connection_variables: row.connectionVariables === stored.connectionVariables ? null : row.connectionVariables,
      versions: row.versions === stored.versions ? null : row.versions,
      expected: stored.revision,
      row_version: optimistic ? rowVersionOf(stored) : null,
      i,
    })),
  );
