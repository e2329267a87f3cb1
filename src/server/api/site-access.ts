import { GatewayError } from '../../errors.js';
import type { ApiKey } from '../../store/api-keys-repo.js';
import type { Repositories } from '../../store/repositories.js';
import type { Tenant } from '../../store/tenants-repo.js';
import { siteKeyOf } from '../../tenants/find-tenant.js';

/** The names a key's site list may use for one tenant: its cloud id, its site key, its base URL. */
function namesOf(t: Pick<Tenant, 'cloudId' | 'baseUrl'>): string[] {
  return [t.cloudId ?? '', siteKeyOf(t.baseUrl), t.baseUrl].filter((n) => n !== '');
}

/**
 * Per-key site limits. A key created with `--site` may only touch those sites (by cloud id or site key).
 * A site the key may not touch is FORBIDDEN whether or not it is installed, so a limited key cannot probe
 * for other installs.
 */
export function createSiteAccess(deps: { repos: Repositories }) {
  async function matching(site: string): Promise<Tenant[]> {
    const wanted = site.trim().replace(/\/+$/, '');
    return (await deps.repos.tenants.list()).filter((t) => namesOf(t).includes(wanted));
  }

  return {
    /** Throws FORBIDDEN when a site-limited key names a site outside its list. */
    async assertSite(key: ApiKey, site: string): Promise<void> {
      if (!key.sites) return;
      const allowed = new Set(key.sites);
      if (allowed.has(site.trim().replace(/\/+$/, ''))) return;
      for (const t of await matching(site)) if (namesOf(t).some((n) => allowed.has(n))) return;
      throw new GatewayError('FORBIDDEN', `This API key is limited to other sites (${key.sites.join(', ')}).`, { details: { reason: 'site_not_allowed_for_key' } });
    },
    /** Whether a cloud id is within the key's sites (for filtering lists and checking single records). */
    async allowsCloudId(key: ApiKey, cloudId: string | null): Promise<boolean> {
      if (!key.sites) return true;
      if (cloudId === null) return false;
      const allowed = new Set(key.sites);
      if (allowed.has(cloudId)) return true;
      return (await deps.repos.tenants.list()).some((t) => t.cloudId === cloudId && namesOf(t).some((n) => allowed.has(n)));
    },
  };
}

export type SiteAccess = ReturnType<typeof createSiteAccess>;
