import type { Kysely, Migration } from 'kysely';

/**
 * The admin console: its sessions live in the database (hashed), so any instance behind a balancer can
 * serve any admin and signing out ends the session everywhere. Token mints are counted in per-minute
 * buckets (one upsert per grant) for the overview's chart. The audit log gets an index for filtering by
 * action over a time range, which the console's filters and the sign-in throttle both do.
 */
export function adminConsoleMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('admin_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('client_ip', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('admin_sessions_expires').on('admin_sessions').column('expires_at').execute();

      await db.schema
        .createTable('token_mints')
        .addColumn('minute', 'bigint', (c) => c.notNull())
        .addColumn('route', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('token_mints_pk', ['minute', 'route'])
        .execute();

      await db.schema.createIndex('audit_events_action_at').on('audit_events').columns(['action', 'at']).execute();
    },
  };
}
