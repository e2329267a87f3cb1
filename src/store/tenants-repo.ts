import type { Clock } from '../clock.js';
import type { Store } from './create-store.js';
import { newId } from './ids.js';
import { purgeTenant, type PurgedCounts } from './purge-tenant.js';
import { supersedeTenant, type SupersededCounts } from './supersede-tenant.js';
import type { SecretBox } from './secret-box.js';
import { secretContext, type TenantRoute, type TenantStatus, type TenantsTable } from './schema.js';

export interface Tenant {
  id: string;
  route: TenantRoute;
  appKey: string;
  tenantKey: string;
  cloudId: string | null;
  baseUrl: string;
  displayUrl: string | null;
  oauthClientId: string | null;
  status: TenantStatus;
  productType: string | null;
  payload: Record<string, unknown> | null;
  installedAt: number;
  updatedAt: number;
  uninstalledAt: number | null;
  purgeAfter: number | null;
  hasSharedSecret: boolean;
}

export interface TenantInstall {
  route: TenantRoute;
  appKey: string;
  tenantKey: string;
  baseUrl: string;
  cloudId?: string | null;
  displayUrl?: string | null;
  oauthClientId?: string | null;
  productType?: string | null;
  /** Plaintext; sealed before it reaches the database. */
  sharedSecret?: string | null;
  payload?: Record<string, unknown> | null;
}

export interface TenantsRepo {
  /** Creates the tenant or, on reinstall, replaces its secret and details and makes it active again. */
  upsert(install: TenantInstall): Promise<Tenant>;
  get(id: string): Promise<Tenant | undefined>;
  find(route: TenantRoute, appKey: string, tenantKey: string): Promise<Tenant | undefined>;
  findByOauthClientId(oauthClientId: string): Promise<Tenant | undefined>;
  findByCloudId(cloudId: string): Promise<Tenant[]>;
  findByBaseUrl(baseUrl: string): Promise<Tenant[]>;
  list(): Promise<Tenant[]>;
  setStatus(id: string, status: TenantStatus, options?: { purgeAfter?: number | null }): Promise<void>;
  /**
   * Moves between active and disabled, but never out of `uninstalled`: `disabled` and `uninstalled` can
   * arrive together in either order, and a late `disabled` must not revive an uninstalled tenant's state.
   * Returns false when the tenant was uninstalled (nothing changed).
   */
  setEnabled(id: string, enabled: boolean): Promise<boolean>;
  /** Uninstalled tenants whose retention has passed. */
  listPurgeable(now: number): Promise<Tenant[]>;
  setCloudId(id: string, cloudId: string): Promise<void>;
  /** The decrypted shared secret, or undefined when the tenant has none. */
  sharedSecret(id: string): Promise<string | undefined>;
  /** Deletes the tenant with its tokens, links, link sessions and (when no other install serves the site) its known accounts and policy. */
  purge(tenant: Tenant): Promise<PurgedCounts>;
  /** Replaces an older install of the same app on the same site by `successorId`: links move, the old record and its tokens go. */
  supersede(old: Tenant, successorId: string): Promise<SupersededCounts>;
}

const SECRET = { table: 'tenants', column: 'shared_secret' } as const;

export function createTenantsRepo(deps: { store: Store; box: SecretBox; clock: Clock }): TenantsRepo {
  const { db } = deps.store;
  const select = () => db.selectFrom('tenants').selectAll();
  const changed = (rows: readonly { cloud_id: string | null; base_url: string }[]): void => {
    if (rows.length > 0) deps.store.changes.publish(rows.map((r) => ({ kind: 'tenant', cloudId: r.cloud_id, baseUrl: r.base_url }) as const));
  };

  const repo: TenantsRepo = {
    async upsert(install) {
      const now = deps.clock.now();
      const saved = await db.transaction().execute(async (tx) => {
        const existing = await tx
          .selectFrom('tenants')
          .select(['id', 'cloud_id', 'base_url'])
          .where('route', '=', install.route)
          .where('app_key', '=', install.appKey)
          .where('tenant_key', '=', install.tenantKey)
          .executeTakeFirst();
        const id = existing?.id ?? newId();
        const values = {
          base_url: install.baseUrl,
          cloud_id: install.cloudId ?? null,
          display_url: install.displayUrl ?? null,
          oauth_client_id: install.oauthClientId ?? null,
          product_type: install.productType ?? null,
          shared_secret: install.sharedSecret ? deps.box.seal(install.sharedSecret, secretContext(SECRET, id)) : null,
          payload: install.payload ? JSON.stringify(install.payload) : null,
          status: 'active' as const,
          updated_at: now,
          uninstalled_at: null,
          purge_after: null,
        };
        if (existing) {
          await tx.updateTable('tenants').set(values).where('id', '=', id).execute();
        } else {
          await tx
            .insertInto('tenants')
            .values({ id, route: install.route, app_key: install.appKey, tenant_key: install.tenantKey, installed_at: now, ...values })
            .execute();
        }
        const row = await tx.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        return { tenant: toTenant(row), before: existing };
      });
      // A reinstall may move the site's URL or cloud id: both the old and the new keys are stale.
      changed(saved.before ? [saved.before, { cloud_id: saved.tenant.cloudId, base_url: saved.tenant.baseUrl }] : [{ cloud_id: saved.tenant.cloudId, base_url: saved.tenant.baseUrl }]);
      return saved.tenant;
    },
    async get(id) {
      const row = await select().where('id', '=', id).executeTakeFirst();
      return row && toTenant(row);
    },
    async find(route, appKey, tenantKey) {
      const row = await select().where('route', '=', route).where('app_key', '=', appKey).where('tenant_key', '=', tenantKey).executeTakeFirst();
      return row && toTenant(row);
    },
    async findByOauthClientId(oauthClientId) {
      const row = await select().where('oauth_client_id', '=', oauthClientId).executeTakeFirst();
      return row && toTenant(row);
    },
    async findByCloudId(cloudId) {
      return (await select().where('cloud_id', '=', cloudId).orderBy('installed_at').execute()).map(toTenant);
    },
    async findByBaseUrl(baseUrl) {
      return (await select().where('base_url', '=', baseUrl).orderBy('installed_at').execute()).map(toTenant);
    },
    async list() {
      return (await select().orderBy('installed_at').execute()).map(toTenant);
    },
    async setStatus(id, status, options = {}) {
      const now = deps.clock.now();
      const rows = await db
        .updateTable('tenants')
        .set({
          status,
          updated_at: now,
          ...(status === 'uninstalled' ? { uninstalled_at: now } : {}),
          ...(options.purgeAfter !== undefined ? { purge_after: options.purgeAfter } : {}),
        })
        .where('id', '=', id)
        .returning(['cloud_id', 'base_url'])
        .execute();
      changed(rows);
    },
    async setEnabled(id, enabled) {
      const r = await db
        .updateTable('tenants')
        .set({ status: enabled ? 'active' : 'disabled', updated_at: deps.clock.now() })
        .where('id', '=', id)
        .where('status', '!=', 'uninstalled')
        .returning(['cloud_id', 'base_url'])
        .execute();
      changed(r);
      return r.length === 1;
    },
    async listPurgeable(now) {
      return (await select().where('status', '=', 'uninstalled').where('purge_after', '<=', now).execute()).map(toTenant);
    },
    async setCloudId(id, cloudId) {
      await db.updateTable('tenants').set({ cloud_id: cloudId, updated_at: deps.clock.now() }).where('id', '=', id).execute();
      // Once per install: the old cloud id is not at hand, so every remembered install is dropped.
      deps.store.changes.publish({ kind: 'tenants' });
    },
    async sharedSecret(id) {
      const row = await db.selectFrom('tenants').select('shared_secret').where('id', '=', id).executeTakeFirst();
      return row?.shared_secret ? deps.box.open(row.shared_secret, secretContext(SECRET, id)) : undefined;
    },
    purge(tenant) {
      return purgeTenant(deps.store, tenant, deps.clock.now());
    },
    supersede(old, successorId) {
      return supersedeTenant(deps.store, old, successorId);
    },
  };
  return repo;
}

function toTenant(row: TenantsTable): Tenant {
  return {
    id: row.id,
    route: row.route,
    appKey: row.app_key,
    tenantKey: row.tenant_key,
    cloudId: row.cloud_id,
    baseUrl: row.base_url,
    displayUrl: row.display_url,
    oauthClientId: row.oauth_client_id,
    status: row.status,
    productType: row.product_type,
    payload: row.payload ? (JSON.parse(row.payload) as Record<string, unknown>) : null,
    installedAt: row.installed_at,
    updatedAt: row.updated_at,
    uninstalledAt: row.uninstalled_at,
    purgeAfter: row.purge_after,
    hasSharedSecret: row.shared_secret !== null,
  };
}
