import type { Kysely, Migration } from 'kysely';

/**
 * Toolset catalogues (issue 22): each toolset's tools and the schemas they share, kept once (`catalog`, JSON), in
 * place of a self-contained schema per tool inside the status; and access clients limited to named tools
 * (`tools`, a JSON list of "toolset/tool"). Toolsets converted before are due again, so that the reconciler
 * makes their catalogue from their spec (the gateway serves their old status until then).
 */
export function toolCatalogs(): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration knows no schema type (frozen once written)
    async up(db: Kysely<any>) {
      await db.schema.alterTable('toolsets').addColumn('catalog', 'text').execute();
      await db.schema
        .alterTable('access_clients')
        .addColumn('tools', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      await db
        .updateTable('toolsets')
        .set({ observed_generation: null, claim_generation: null, claim_expires_at: null })
        .where('operations', 'is not', null)
        .execute();
    },
  };
}
