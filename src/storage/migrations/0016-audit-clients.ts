import { sql, type Migration } from 'kysely';
import type { Engine, UntypedDb } from '../engine.js';

/**
 * The OAuth client an audit event was made through (`client_id`, null for everything else): a tool call with an
 * OAuth access token, a grant given or revoked, a token issued. Before this migration the client of a tool call
 * was written into `changed_fields` as `client:{id}`; those events are moved into the column, and the events of
 * grants get their grant's client while the grant is still stored. Indexed for the audit API's `clientId` filter.
 */
export function auditClients(engine: Engine): Migration {
  return {
    async up(db: UntypedDb) {
      await db.schema.alterTable('audit_events').addColumn('client_id', 'text').execute();
      // Its name when the event was recorded: what the log says once no grant of the client is left.
      await db.schema.alterTable('audit_events').addColumn('client_name', 'text').execute();
      // What one client did in a workspace, newest first (the audit API's clientId filter).
      await db.schema
        .createIndex('audit_events_client')
        .on('audit_events')
        .columns(['workspace_id', 'client_id', 'id'])
        .execute();
      const first = engine === 'sqlite' ? sql`json_extract(changed_fields, '$[0]')` : sql`(changed_fields::json ->> 0)`;
      await sql`
        update audit_events set client_id = substr(${first}, 8), changed_fields = '[]'
        where action = 'mcp-tool:call' and changed_fields like '["client:%' and changed_fields not like '%","%'`.execute(
        db,
      );
      await sql`
        update audit_events
        set client_id = (select g.client_id from oauth_grants g where g.grant_id = audit_events.resource_id)
        where resource_type = 'oauth-grant' and client_id is null`.execute(db);
      await sql`
        update audit_events
        set client_name = (select g.client_name from oauth_grants g
          where g.client_id = audit_events.client_id and g.workspace_id = audit_events.workspace_id
          order by g.created_at desc limit 1)
        where client_id is not null`.execute(db);
    },
  };
}
