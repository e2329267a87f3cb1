import type { Kysely, Migration } from 'kysely';

/**
 * The per-site user index of Forge sites (see identity/forge-email-index.ts): one row per account the site's
 * user search or a product event named, with a keyed hash of its email (never the email) and the key id
 * that made it; and one row per site with where the enumeration stands (a bounded chunk runs per tick).
 */
export function emailIndexMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('email_index')
        .addColumn('cloud_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('email_hash', 'text')
        .addColumn('key_id', 'text')
        .addColumn('checked_at', 'bigint')
        .addColumn('seen_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('email_index_pk', ['cloud_id', 'account_id'])
        .execute();
      await db.schema.createIndex('email_index_hash').on('email_index').columns(['cloud_id', 'email_hash']).execute();

      await db.schema
        .createTable('email_index_sites')
        .addColumn('cloud_id', 'text', (c) => c.primaryKey())
        .addColumn('next_start', 'integer', (c) => c.notNull())
        .addColumn('pass_started_at', 'bigint')
        .addColumn('last_pass_at', 'bigint')
        .addColumn('last_run_at', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}
