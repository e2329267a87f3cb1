import type { Migration, MigrationProvider } from 'kysely';
import type { StoreDialect } from '../store-dialect.js';
import { initialMigration } from './0001-initial.js';
import { linkSessionPendingMigration } from './0002-link-session-pending.js';
import { adminConsoleMigration } from './0003-admin-console.js';
import { refreshLeasesWebhookReplaysMigration } from './0004-refresh-leases-webhook-replays.js';
import { emailIndexMigration } from './0005-email-index.js';
import { forgeBudgetSlotsMigration } from './0006-forge-budget-slots.js';
import { changeNotifyMigration } from './0007-change-notify.js';

/**
 * The one ordered migration set for both dialects. Names sort in apply order; entries are only ever
 * appended. Kept as code, not a folder scan, so the build output and the tests see the same list.
 */
export function migrationsFor(dialect: StoreDialect): Record<string, Migration> {
  return {
    '0001-initial': initialMigration(dialect),
    '0002-link-session-pending': linkSessionPendingMigration(),
    '0003-admin-console': adminConsoleMigration(),
    '0004-refresh-leases-webhook-replays': refreshLeasesWebhookReplaysMigration(),
    '0005-email-index': emailIndexMigration(),
    '0006-forge-budget-slots': forgeBudgetSlotsMigration(),
    '0007-change-notify': changeNotifyMigration(dialect),
  };
}

export function migrationProvider(dialect: StoreDialect): MigrationProvider {
  return { getMigrations: async () => migrationsFor(dialect) };
}
