import type { Repositories } from '../store/repositories.js';
import type { Tenant } from '../store/tenants-repo.js';
import { findTenant } from './find-tenant.js';

/**
 * The installation through which the gateway calls a site's Confluence as the app itself (user search,
 * account checks for admin mapping): the site's Connect install where it has an active one, else its Forge
 * installation (the app system token). New sites can no longer install a private Connect app, so a site
 * may well have only the Forge one. Throws what the Connect look-up threw when neither is there.
 */
export async function findAppTenant(repos: Repositories, site: string, apps: { connectAppKey: string; forgeAppId: string | null }): Promise<Tenant> {
  const any = await findTenant(repos, site);
  const cloudId = any.cloudId ?? site;
  try {
    return await findTenant(repos, cloudId, { route: 'connect', appKey: apps.connectAppKey });
  } catch (e) {
    if (!apps.forgeAppId) throw e;
    const forge = await findTenant(repos, cloudId, { route: 'forge', appKey: apps.forgeAppId }).catch(() => null);
    if (!forge) throw e;
    return forge;
  }
}
