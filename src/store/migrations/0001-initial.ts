import { sql, type Kysely, type Migration, type SqlBool } from 'kysely';
import type { StoreDialect } from '../store-dialect.js';

/** The first schema. Forward-only: a later change is a new migration, never an edit of this one. */
export function initialMigration(dialect: StoreDialect): Migration {
  const time = 'bigint';
  // An ordered, gap-tolerant cursor for the audit log and the event feed.
  const serial = (t: string, db: Kysely<unknown>) =>
    dialect === 'postgres'
      ? db.schema.createTable(t).addColumn('id', 'bigserial', (c) => c.primaryKey())
      : db.schema.createTable(t).addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('tenants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('route', 'text', (c) => c.notNull())
        .addColumn('app_key', 'text', (c) => c.notNull())
        .addColumn('tenant_key', 'text', (c) => c.notNull())
        .addColumn('cloud_id', 'text')
        .addColumn('base_url', 'text', (c) => c.notNull())
        .addColumn('display_url', 'text')
        .addColumn('oauth_client_id', 'text')
        .addColumn('shared_secret', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('product_type', 'text')
        .addColumn('payload', 'text')
        .addColumn('installed_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .addColumn('uninstalled_at', time)
        .addColumn('purge_after', time)
        .addUniqueConstraint('tenants_identity', ['route', 'app_key', 'tenant_key'])
        .execute();
      await db.schema.createIndex('tenants_cloud_id').on('tenants').column('cloud_id').execute();
      await db.schema.createIndex('tenants_oauth_client_id').on('tenants').column('oauth_client_id').execute();

      await db.schema
        .createTable('oauth_apps')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull().unique())
        .addColumn('client_secret', 'text', (c) => c.notNull())
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('links')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('external_user_id', 'text', (c) => c.notNull())
        .addColumn('cloud_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text')
        .addColumn('route', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('evidence', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('verified_at', time)
        .addColumn('updated_at', time, (c) => c.notNull())
        .addColumn('revoked_at', time)
        .execute();
      // One live link per account per site, and per external user per site: a second claim is a conflict
      // the database itself refuses, whatever the application code does.
      const live = sql<SqlBool>`status in ('pending_confirmation', 'linked', 'reauth_required')`;
      await db.schema.createIndex('links_live_account').unique().on('links').columns(['cloud_id', 'account_id']).where(live).execute();
      await db.schema.createIndex('links_live_user').unique().on('links').columns(['cloud_id', 'external_user_id']).where(live).execute();
      await db.schema.createIndex('links_external_user').on('links').column('external_user_id').execute();
      await db.schema.createIndex('links_account').on('links').column('account_id').execute();

      await db.schema
        .createTable('link_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('external_user_id', 'text', (c) => c.notNull())
        .addColumn('cloud_id', 'text')
        .addColumn('route', 'text', (c) => c.notNull())
        .addColumn('return_url', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('require_confirmation', 'integer', (c) => c.notNull())
        .addColumn('completion_code_hash', 'text')
        .addColumn('oauth_state_hash', 'text', (c) => c.unique())
        .addColumn('link_id', 'text')
        .addColumn('email_hint', 'text')
        .addColumn('api_key_id', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('used_at', time)
        .addColumn('completed_at', time)
        .execute();
      await db.schema.createIndex('link_sessions_external_user').on('link_sessions').column('external_user_id').execute();

      await db.schema
        .createTable('known_accounts')
        .addColumn('cloud_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('display_name', 'text')
        .addColumn('public_name', 'text')
        .addColumn('email', 'text')
        .addColumn('account_type', 'text')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('seen_count', 'integer', (c) => c.notNull())
        .addColumn('first_seen_at', time, (c) => c.notNull())
        .addColumn('last_seen_at', time, (c) => c.notNull())
        .addPrimaryKeyConstraint('known_accounts_pk', ['cloud_id', 'account_id'])
        .execute();

      await db.schema
        .createTable('tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('route', 'text', (c) => c.notNull())
        .addColumn('app_key', 'text', (c) => c.notNull())
        .addColumn('tenant_key', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('scope_key', 'text', (c) => c.notNull())
        .addColumn('token', 'text', (c) => c.notNull())
        .addColumn('previous_token', 'text')
        .addColumn('expires_at', time)
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .addColumn('last_used_at', time)
        .addUniqueConstraint('tokens_identity', ['route', 'app_key', 'tenant_key', 'account_id', 'kind', 'scope_key'])
        .execute();
      await db.schema.createIndex('tokens_account').on('tokens').column('account_id').execute();

      await serial('audit_events', db)
        .addColumn('at', time, (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('actor_type', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text')
        .addColumn('cloud_id', 'text')
        .addColumn('account_id', 'text')
        .addColumn('external_user_id', 'text')
        .addColumn('route', 'text')
        .addColumn('reason', 'text')
        .addColumn('data', 'text')
        .execute();
      await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute();
      await db.schema.createIndex('audit_events_external_user').on('audit_events').column('external_user_id').execute();
      await db.schema.createIndex('audit_events_account').on('audit_events').column('account_id').execute();

      await serial('events', db)
        .addColumn('at', time, (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('cloud_id', 'text')
        .addColumn('account_id', 'text')
        .addColumn('external_user_id', 'text')
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('sites', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('last_used_at', time)
        .addColumn('revoked_at', time)
        .execute();

      await db.schema
        .createTable('policies')
        .addColumn('cloud_id', 'text', (c) => c.primaryKey())
        .addColumn('acting', 'text', (c) => c.notNull())
        .addColumn('allowed_scopes', 'text', (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .addColumn('updated_by', 'text')
        .execute();
    },
  };
}
