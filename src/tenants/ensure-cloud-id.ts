import type { Logger } from '../logger.js';
import type { Repositories } from '../store/repositories.js';
import type { Tenant } from '../store/tenants-repo.js';
import { processTenantInfoResponse, tenantInfoRequest } from './tenant-info.js';

/** The tenant's cloud id, looked up from `_edge/tenant_info` and stored when it is not known yet. */
export async function ensureCloudId(deps: { repos: Repositories; fetch: typeof fetch; logger: Logger }, tenant: Tenant): Promise<string | undefined> {
  if (tenant.cloudId) return tenant.cloudId;
  try {
    const cloudId = await processTenantInfoResponse(await tenantInfoRequest({ siteBaseUrl: tenant.baseUrl, fetch: deps.fetch, signal: AbortSignal.timeout(5000) }));
    await deps.repos.tenants.setCloudId(tenant.id, cloudId);
    return cloudId;
  } catch (e) {
    deps.logger.warn({ err: e, tenant: tenant.id, baseUrl: tenant.baseUrl }, 'could not fetch the site cloudId from _edge/tenant_info');
    return undefined;
  }
}
