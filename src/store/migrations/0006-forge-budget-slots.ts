import type { Kysely, Migration } from 'kysely';

/**
 * The Forge offline-token budget shared by every instance on PostgreSQL (see forge-budget.ts): one row per
 * app and slot, each slot spendable once per minute. SQLite creates the table too (one migration set for
 * both dialects) but a single instance keeps its budget in memory. And when each Forge installation last
 * invoked the gateway (a UI call, a trigger), for the console's and `doctor`'s token health.
 */
export function forgeBudgetSlotsMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('forge_budget_slots')
        .addColumn('app_key', 'text', (c) => c.notNull())
        .addColumn('slot', 'integer', (c) => c.notNull())
        .addColumn('used_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('forge_budget_slots_pk', ['app_key', 'slot'])
        .execute();

      await db.schema
        .createTable('forge_activity')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey())
        .addColumn('last_invocation_at', 'bigint', (c) => c.notNull())
        .addColumn('last_module', 'text', (c) => c.notNull())
        .addColumn('last_trigger_at', 'bigint')
        .execute();
    },
  };
}
