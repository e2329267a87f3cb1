import type { Tenant } from '../store/tenants-repo.js';

/**
 * The newest install of each site, in the order given (oldest first). A site is its cloud id, or its base
 * URL while the cloud id is unknown. Installs are superseded on arrival, but a data folder written before
 * that rule may still hold two for one site, and the chooser must never offer the same site twice.
 */
export function oneInstallPerSite(tenants: readonly Tenant[]): Tenant[] {
  const bySite = new Map<string, Tenant>();
  for (const t of [...tenants].sort((a, b) => a.installedAt - b.installedAt)) {
    const site = t.cloudId ?? t.baseUrl;
    bySite.delete(site);
    bySite.set(site, t);
  }
  return [...bySite.values()];
}
