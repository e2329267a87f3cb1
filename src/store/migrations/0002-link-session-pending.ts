import type { Kysely, Migration } from 'kysely';

/**
 * For the 3LO route, a sign-in can finish before the user has chosen among several sites: the session
 * keeps the verified account and what Atlassian reported until the choice. Links remember the session
 * that created them, so one completion code confirms every link of that session.
 */
export function linkSessionPendingMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('link_sessions').addColumn('pending_account_id', 'text').execute();
      await db.schema.alterTable('link_sessions').addColumn('pending_data', 'text').execute();
      await db.schema.alterTable('links').addColumn('session_id', 'text').execute();
      await db.schema.createIndex('links_session').on('links').column('session_id').execute();
    },
  };
}
