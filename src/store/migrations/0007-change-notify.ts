import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../store-dialect.js';

/**
 * PostgreSQL only: every committed change to a row the hot reads remember (links, installs, policies, API
 * keys) sends a NOTIFY naming its key, from a trigger, so in the same transaction as the change: it is
 * delivered only if the change commits, a crash between commit and notification cannot lose it, and it
 * covers every writer (gateways, the CLI, an older version, an operator's SQL). The channel is derived
 * from the table's schema, so deployments in different schemas of one database do not hear each other.
 * The payload holds identifiers only (never a secret or an email); one longer than PostgreSQL's limit
 * becomes "anything changed". Everything the function calls lives in pg_catalog, so it works whatever the
 * writer's search_path. SQLite has no notifications: there the gateway watches PRAGMA data_version.
 */
export function changeNotifyMigration(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'postgres') return;
      await sql`
        create or replace function onbehalf_notify_change() returns trigger language plpgsql as $fn$
        declare
          channel text := 'onbehalf_changes_' || md5(TG_TABLE_SCHEMA::text);
          r jsonb;
          p text;
        begin
          foreach r in array (case TG_OP when 'INSERT' then array[to_jsonb(NEW)] when 'DELETE' then array[to_jsonb(OLD)] else array[to_jsonb(OLD), to_jsonb(NEW)] end) loop
            p := case TG_TABLE_NAME
              when 'links' then json_build_array('link', r->>'cloud_id', r->>'external_user_id', r->>'account_id')::text
              when 'tenants' then json_build_array('tenant', r->>'cloud_id', r->>'base_url')::text
              when 'policies' then json_build_array('policy', r->>'cloud_id')::text
              when 'api_keys' then json_build_array('apiKey', r->>'id')::text
              else '["all"]'
            end;
            if octet_length(p) > 7900 then p := '["all"]'; end if;
            -- Identical notifications within one transaction are delivered once.
            perform pg_notify(channel, p);
          end loop;
          return null;
        end
        $fn$`.execute(db);
      // A new link or key needs no notice: the hot reads never remember absence. An API key's last_used_at
      // (written at most once a minute per key) changes nothing they rely on, so it does not notify.
      await sql`create trigger links_notify_change after update or delete on links for each row execute function onbehalf_notify_change()`.execute(db);
      await sql`create trigger tenants_notify_change after insert or update or delete on tenants for each row execute function onbehalf_notify_change()`.execute(db);
      await sql`create trigger policies_notify_change after insert or update or delete on policies for each row execute function onbehalf_notify_change()`.execute(db);
      await sql`create trigger api_keys_notify_change after update of revoked_at, sites, name, key_hash or delete on api_keys for each row execute function onbehalf_notify_change()`.execute(db);
    },
  };
}
