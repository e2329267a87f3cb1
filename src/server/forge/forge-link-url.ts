import type { ActAsClient } from '../../confluence/create-act-as-client.js';
import type { Logger } from '../../logger.js';
import type { Repositories } from '../../store/repositories.js';
import type { Tenant } from '../../store/tenants-repo.js';
import { FORGE_LINK_PAGE_ROUTE } from '../../tenants/forge-app-manifest.js';

export interface ForgeLinkUrlDeps {
  repos: Repositories;
  asApp: (tenant: Tenant) => ActAsClient;
  logger: Logger;
}

const ENVIRONMENT = /^ari:cloud:ecosystem::environment\/([0-9a-f-]{36})\/([0-9a-f-]{36})$/;

/** The installation's product API base, which stands in as `baseUrl` until the site's own address is known. */
const apiStandIn = (tenant: Tenant) => typeof tenant.payload?.['apiBaseUrl'] === 'string' && tenant.baseUrl.startsWith(tenant.payload['apiBaseUrl']);

/**
 * Where a person opens the site: the tenant's `baseUrl` once a UI invocation told it (`context.siteUrl`);
 * before that, Confluence's system info asked as the app (its `baseUrl`), remembered on the tenant.
 * Triggers carry only `apiBaseUrl` (§10.4), so a site installed a minute ago needs the look-up.
 */
export async function forgeSiteUrl(deps: ForgeLinkUrlDeps, tenant: Tenant): Promise<string | null> {
  if (!apiStandIn(tenant)) return tenant.baseUrl.replace(/\/+$/, '');
  try {
    const res = await deps.asApp(tenant).fetch('/rest/api/settings/systemInfo');
    if (!res.ok) return null;
    const base = ((await res.json()) as { baseUrl?: unknown }).baseUrl;
    if (typeof base !== 'string' || !/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(base)) return null;
    const site = base.replace(/\/+$/, '');
    const wiki = site.endsWith('/wiki') ? site : `${site}/wiki`;
    await deps.repos.tenants.upsert({ route: 'forge', appKey: tenant.appKey, tenantKey: tenant.tenantKey, cloudId: tenant.cloudId, baseUrl: wiki, ...(tenant.payload ? { payload: tenant.payload } : {}) });
    return wiki;
  } catch (e) {
    deps.logger.warn({ err: e instanceof Error ? e.message : String(e), installationId: tenant.tenantKey }, 'Could not learn the address of a Forge site');
    return null;
  }
}

/**
 * The "Connect your account" global page of the Forge app on that site, carrying the link session:
 * `<site>/wiki/apps/<app uuid>/<environment uuid>/connect-account?session=<token>`. A global page keeps its
 * query, and the page reads it through `view.createHistory()`.
 */
export async function forgeLinkPageUrl(deps: ForgeLinkUrlDeps, tenant: Tenant, token: string): Promise<string | null> {
  const env = (tenant.payload?.['environment'] as { id?: unknown } | undefined)?.id;
  const m = typeof env === 'string' ? ENVIRONMENT.exec(env) : null;
  if (!m) return null;
  const site = await forgeSiteUrl(deps, tenant);
  if (!site) return null;
  return `${site}/apps/${m[1]}/${m[2]}/${FORGE_LINK_PAGE_ROUTE}?session=${encodeURIComponent(token)}`;
}
