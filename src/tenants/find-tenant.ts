import { GatewayError } from '../errors.js';
import type { Tenant, TenantsRepo } from '../store/tenants-repo.js';

/** The tenant reads finding a site needs (full repositories, or the hot reads' memory of them). */
export interface TenantReads {
  tenants: Pick<TenantsRepo, 'findByCloudId' | 'findByBaseUrl' | 'list'>;
}

/**
 * A short name for a site: `acme` for `https://acme.atlassian.net/wiki`, and for the sandbox's
 * `http://127.0.0.1:4100/s/acme/wiki` too, so people and scripts can say `--site acme`.
 */
export function siteKeyOf(baseUrl: string): string {
  // Asked for every installed site on every acting call that names a site by key: parse each URL once.
  let key = siteKeys.get(baseUrl);
  if (key === undefined) {
    key = parseSiteKey(baseUrl);
    if (siteKeys.size >= 10_000) siteKeys.clear();
    siteKeys.set(baseUrl, key);
  }
  return key;
}

const siteKeys = new Map<string, string>();

function parseSiteKey(baseUrl: string): string {
  const u = new URL(baseUrl);
  const sandbox = /^\/s\/([^/]+)\/wiki\/?$/.exec(u.pathname);
  if (sandbox?.[1]) return decodeURIComponent(sandbox[1]);
  return u.hostname.split('.')[0] ?? u.hostname;
}

/**
 * The installed tenant a caller means by `site`: a cloud id, a site base URL, or a site key. Prefers an
 * active install; several active installs of different routes for one site are fine, `route` narrows them.
 */
const CLOUD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function findTenant(repos: TenantReads, site: string, options: { route?: Tenant['route']; appKey?: string } = {}): Promise<Tenant> {
  const wanted = site.trim().replace(/\/+$/, '');
  if (wanted === '') throw new GatewayError('VALIDATION_FAILED', 'Name a site: its cloud id, base URL or key (e.g. acme).', { details: { field: 'site' } });
  // Cloud ids and base URLs are indexed look-ups (this runs on every proxied call); only a short site key
  // needs the list, which holds one row per installed site.
  const found = CLOUD_ID.test(wanted)
    ? await repos.tenants.findByCloudId(wanted)
    : /^https?:\/\//.test(wanted)
      ? await repos.tenants.findByBaseUrl(wanted)
      : (await repos.tenants.list()).filter((t) => t.cloudId === wanted || siteKeyOf(t.baseUrl) === wanted);
  const matches = found.filter((t) => (!options.route || t.route === options.route) && (!options.appKey || t.appKey === options.appKey));
  const active = matches.filter((t) => t.status === 'active');
  if (active.length > 0) return active[active.length - 1] as Tenant;
  const latest = matches[matches.length - 1];
  if (latest) {
    throw new GatewayError('TENANT_UNINSTALLED', `The app is ${latest.status} on ${latest.baseUrl}.`, { details: { site: latest.baseUrl, status: latest.status } });
  }
  throw new GatewayError('TENANT_NOT_FOUND', `No site "${site}" has installed this app.`, { details: { site } });
}
