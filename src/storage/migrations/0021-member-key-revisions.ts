import type { Kysely, Migration } from 'kysely';

/**
 * A revision for memberships and access keys, as every other resource has: a role change and an access key's
 * rename or disabling are row changes of the writer, written only over the revision they were computed from, and
 * answered with an ETag that `If-Match` can name. Existing rows start at revision 1. Access keys also get a
 * status: a disabled key signs nothing, and enabling it again gives its holder back the same pair.
 */
export function memberKeyRevisions(): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- frozen in time: a migration knows no schema type
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('memberships')
        .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema
        .alterTable('access_keys')
        .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema
        .alterTable('access_keys')
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
        .execute();
    },
  };
}
