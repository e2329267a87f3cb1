import type { Kysely, Migration } from 'kysely';

/**
 * Refresh leases: the cross-process refresh lock is a row with an owner and a deadline, taken and released
 * by one short statement each, so no database connection is held while Atlassian's token endpoint is
 * waited on (see with-refresh-lock.ts). Webhook replays: the key of every accepted webhook JWT (its jti,
 * or a hash of token and body) until the token expires, so a replayed delivery is dropped.
 */
export function refreshLeasesWebhookReplaysMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('refresh_leases')
        .addColumn('lock_key', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('webhook_replays')
        .addColumn('replay_key', 'text', (c) => c.primaryKey())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhook_replays_expires').on('webhook_replays').column('expires_at').execute();
    },
  };
}
