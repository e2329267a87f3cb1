import { GatewayError } from '../errors.js';
import type { Link } from '../store/links-repo.js';
import type { Repositories } from '../store/repositories.js';
import type { Tenant } from '../store/tenants-repo.js';
import { findTenant } from '../tenants/find-tenant.js';
import { linkUsable } from './links.js';

export interface ActingRequest {
  /** The site: cloud id, base URL or key. */
  site: string;
  /** One of your users (needs a link), or an Atlassian account directly (needs a link or a permissive policy). */
  externalUserId?: string;
  accountId?: string;
}

export interface ActingTarget {
  tenant: Tenant;
  accountId: string;
  link: Link | null;
}

/**
 * Decides whether the gateway may act as someone on a site, and as whom: by default only as users who are
 * linked with consent; admin-mapped links or any user only where the site's policy says so. Every refusal
 * is a clear, stable code (USER_NOT_LINKED, REAUTH_REQUIRED, POLICY_REFUSED, TENANT_NOT_FOUND/UNINSTALLED).
 */
export async function resolveActing(deps: { repos: Repositories; appKey: string }, req: ActingRequest): Promise<ActingTarget> {
  if (!req.externalUserId === !req.accountId) {
    throw new GatewayError('VALIDATION_FAILED', 'Name exactly one of externalUserId or accountId.', { details: { field: 'externalUserId' } });
  }
  const tenant = await findTenant(deps.repos, req.site, { route: 'connect', appKey: deps.appKey });
  const cloudId = tenant.cloudId;
  if (!cloudId) throw new GatewayError('ATLASSIAN_UNAVAILABLE', `The cloud id of ${tenant.baseUrl} is not known yet; try again shortly.`);
  const policy = await deps.repos.policies.get(cloudId);

  if (req.externalUserId) {
    const link = await deps.repos.links.liveForUser(cloudId, req.externalUserId);
    if (!link) {
      throw new GatewayError('USER_NOT_LINKED', `User ${req.externalUserId} has not linked an Atlassian account on ${tenant.baseUrl}.`, { details: { externalUserId: req.externalUserId, cloudId } });
    }
    const usable = linkUsable(link, policy.acting);
    if (!usable.ok) {
      throw new GatewayError(usable.code, usable.code === 'POLICY_REFUSED' ? `This site's policy does not allow acting through ${link.route}-mapped links.` : `The link of ${req.externalUserId} cannot be used: ${usable.reason}.`, {
        details: { externalUserId: req.externalUserId, cloudId, reason: usable.reason, linkId: link.id },
      });
    }
    return { tenant, accountId: link.accountId, link };
  }

  const accountId = req.accountId as string;
  const link = await deps.repos.links.liveForAccount(cloudId, accountId);
  if (link) {
    const usable = linkUsable(link, policy.acting);
    if (usable.ok) return { tenant, accountId, link };
    if (usable.code === 'REAUTH_REQUIRED') throw new GatewayError('REAUTH_REQUIRED', `The link of account ${accountId} needs the user to sign in again.`, { details: { accountId, cloudId, linkId: link.id } });
  }
  if (policy.acting === 'any_user') return { tenant, accountId, link: null };
  throw new GatewayError('POLICY_REFUSED', `This site's policy allows acting only as users who linked their account; account ${accountId} has no usable link.`, { details: { accountId, cloudId, acting: policy.acting } });
}
