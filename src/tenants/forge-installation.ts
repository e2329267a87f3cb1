import type { Clock } from '../clock.js';
import type { ForgeInvocation } from '../atlassian/verify-forge-invocation-token.js';
import type { Repositories } from '../store/repositories.js';
import type { Tenant } from '../store/tenants-repo.js';
import type { TokenKey } from '../store/tokens-repo.js';
import { connectInstallOf, moveConnectLinksToForge } from './connect-to-forge.js';

/**
 * Forge installations as tenants (protocol doc part 2, §10.4 and §10.10). A tenant is keyed by the
 * installation ARI (`tenant_key`) under the app ARI (`app_key`), and the cloudId is the recovery index: an
 * unknown `installationId` for a site the app already had (a reinstall, a site restore, or Atlassian
 * changing it without an event, which vendors report) takes over the older installation of that site, links
 * kept, and the audit log says so. Every verified invocation refreshes the record, so there is no separate
 * install step to miss; Forge sends no uninstall event, so nothing here ends a tenant.
 *
 * The app system token arrives only with invocations and has no refresh endpoint (§10.5), so each one is
 * kept, sealed like every stored secret, and the one that lives longest wins: a late, slower invocation
 * carrying an older token cannot replace a fresher one.
 */

export interface ForgeSystemToken {
  token: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export interface ForgeInstallations {
  /** Records what a verified invocation says; answers the site's Forge tenant. */
  seen(invocation: ForgeInvocation, systemToken: ForgeSystemToken | null): Promise<Tenant>;
  /** The stored system token while it has not expired (callers decide how much life they need). */
  systemToken(tenant: Tenant): Promise<ForgeSystemToken | null>;
}

export interface ForgeInstallationsDeps {
  repos: Repositories;
  clock: Clock;
  /** Told about a tenant whose installation another one replaced (cached tokens of it must go). */
  onTenantGone?: (tenant: Tenant) => void;
}

/** One system token per installation; `account_id` '' says it acts as the app, not as a user. */
export function systemTokenKey(tenant: Pick<Tenant, 'appKey' | 'tenantKey'>): TokenKey {
  return { route: 'forge', appKey: tenant.appKey, tenantKey: tenant.tenantKey, accountId: '', kind: 'access', scopeKey: 'app-system' };
}

export function createForgeInstallations(deps: ForgeInstallationsDeps): ForgeInstallations {
  const { repos } = deps;

  /** The human site URL comes only with UI invocations; until then the product API base stands in. */
  const baseUrlOf = (inv: ForgeInvocation, existing: Tenant | undefined): string => {
    const site = inv.context?.siteUrl;
    if (site && /^https?:\/\/[^/]+$/.test(site.replace(/\/+$/, ''))) return `${site.replace(/\/+$/, '')}/wiki`;
    return existing?.baseUrl ?? `${inv.apiBaseUrl}/wiki`;
  };

  async function takeOver(current: Tenant): Promise<void> {
    const older = (await repos.tenants.findByCloudId(current.cloudId ?? '')).filter((t) => t.route === 'forge' && t.appKey === current.appKey && t.id !== current.id);
    for (const old of older) {
      const moved = await repos.tenants.supersede(old, current.id);
      deps.onTenantGone?.(old);
      await repos.audit.append({
        action: 'tenant.superseded',
        actorType: 'app',
        actorId: current.tenantKey,
        cloudId: current.cloudId,
        route: 'forge',
        data: { previousInstallationId: old.tenantKey, installationId: current.tenantKey, linksMoved: moved.links },
      });
    }
  }

  return {
    async seen(inv, systemToken) {
      const existing = await repos.tenants.find('forge', inv.appId, inv.installationId);
      const payload = { apiBaseUrl: inv.apiBaseUrl, environment: inv.environment, appVersion: inv.appVersion };
      const unchanged =
        existing !== undefined &&
        existing.status === 'active' &&
        existing.cloudId === inv.cloudId &&
        existing.baseUrl === baseUrlOf(inv, existing) &&
        JSON.stringify(existing.payload) === JSON.stringify(payload);
      // Most invocations change nothing: no write then, only the token check below.
      const tenant = unchanged
        ? existing
        : await repos.tenants.upsert({ route: 'forge', appKey: inv.appId, tenantKey: inv.installationId, cloudId: inv.cloudId, baseUrl: baseUrlOf(inv, existing), payload });
      // Only a new installation or a status change leaves `tenant` behind the row: the common call reads nothing more.
      const reread = !existing || existing.status !== 'active';
      if (!existing) {
        await repos.audit.append({ action: 'tenant.installed', actorType: 'app', actorId: inv.installationId, cloudId: inv.cloudId, route: 'forge', data: { appId: inv.appId, environment: inv.environment.type } });
        await takeOver(tenant);
        // A Connect install upgraded to this Forge installation (its `installed` callback came first).
        const connect = await connectInstallOf(repos, tenant);
        if (connect) await moveConnectLinksToForge(repos, { connect, forge: tenant });
      } else if (existing.status !== 'active') {
        await repos.tenants.setStatus(tenant.id, 'active', { purgeAfter: null });
      }
      if (systemToken && systemToken.expiresAt > deps.clock.now()) {
        const key = systemTokenKey(tenant);
        const stored = await repos.tokens.get(key);
        // Ties go to the newcomer: Forge rotates tokens well before they end, so one as long-lived is as fresh.
        if (!stored || (stored.token !== systemToken.token && (stored.expiresAt ?? 0) <= systemToken.expiresAt)) {
          await repos.tokens.put(key, { token: systemToken.token, expiresAt: systemToken.expiresAt }, stored ? { expectVersion: stored.version } : {});
        }
      }
      // UI invocations carry a user context; lifecycle, scheduled and product-event triggers do not.
      await repos.forgeActivity.record(tenant.id, { module: `${inv.module.type}:${inv.module.key}`, trigger: inv.context === null });
      return reread ? ((await repos.tenants.get(tenant.id)) ?? tenant) : tenant;
    },
    async systemToken(tenant) {
      const stored = await repos.tokens.get(systemTokenKey(tenant));
      if (!stored || stored.expiresAt === null || stored.expiresAt <= deps.clock.now()) return null;
      return { token: stored.token, expiresAt: stored.expiresAt };
    },
  };
}
