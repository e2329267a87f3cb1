import { GatewayError } from '../errors.js';
import type { LiveLink } from '../store/links-repo.js';
import type { PoliciesRepo } from '../store/policies-repo.js';
import type { Tenant } from '../store/tenants-repo.js';
import { findTenant, type TenantReads } from '../tenants/find-tenant.js';
import { linkUsable } from './links.js';

export interface ActingRequest {
  /** The site: cloud id, base URL or key. */
  site: string;
  /** One of your users (needs a link), or an Atlassian account directly (needs a link or a permissive policy). */
  externalUserId?: string;
  accountId?: string;
}

/** The routes that act as a user: Connect impersonation, a user's 3LO grant, Forge offline user tokens. */
export type ActingRoute = 'connect' | 'oauth' | 'forge';

export interface ActingTarget {
  /** The installation to act through: the Connect tenant, the 3LO app's record of the site, or the Forge installation. */
  tenant: Tenant;
  accountId: string;
  link: LiveLink | null;
  route: ActingRoute;
  /** The site policy's scope list for this route, when it narrows the configured defaults. */
  allowedScopes: string[] | null;
}

/** The reads the acting decision makes (the hot reads' memory serves them on the hot path). */
export interface ActingReads extends TenantReads {
  policies: Pick<PoliciesRepo, 'get'>;
  links: {
    liveForUser(cloudId: string, externalUserId: string): Promise<LiveLink | undefined>;
    liveForAccount(cloudId: string, accountId: string): Promise<LiveLink | undefined>;
  };
}

export interface ActingDeps {
  repos: ActingReads;
  appKey: string;
  /** The 3LO app's client id, when the 3LO route is on. */
  oauthClientId: string | null;
  /** The Forge app's id, when the gateway is a Forge remote. */
  forgeAppId?: string | null;
}

/**
 * Decides whether the gateway may act as someone on a site, as whom, and by which route: a 3LO link acts
 * with that user's own grant; a Forge link by an offline user token of the site's Forge installation;
 * Connect and admin-mapped links by user impersonation through the site's Connect install (through its Forge
 * installation once that install was upgraded to the Forge version), or through its Forge installation where
 * the site has no Connect install (a new site since private Connect apps can no
 * longer be installed). Acting as any user (the `any_user` policy) prefers Forge, Connect's successor. By default only users linked with consent; admin-mapped links or any user only where
 * the site's policy says so. Every refusal is a stable code (USER_NOT_LINKED, REAUTH_REQUIRED,
 * POLICY_REFUSED, TENANT_NOT_FOUND, TENANT_UNINSTALLED).
 */
export async function resolveActing(deps: ActingDeps, req: ActingRequest): Promise<ActingTarget> {
  if (!req.externalUserId === !req.accountId) {
    throw new GatewayError('VALIDATION_FAILED', 'Name exactly one of externalUserId or accountId.', { details: { field: 'externalUserId' } });
  }
  const site = await findTenant(deps.repos, req.site);
  const cloudId = site.cloudId;
  if (!cloudId) throw new GatewayError('ATLASSIAN_UNAVAILABLE', `The cloud id of ${site.baseUrl} is not known yet; try again shortly.`);
  const policy = await deps.repos.policies.get(cloudId);

  // The site look-up usually found the Connect install already; only look again when it found another route.
  const viaConnect = async () =>
    site.route === 'connect' && site.appKey === deps.appKey && site.status === 'active' ? site : findTenant(deps.repos, cloudId, { route: 'connect', appKey: deps.appKey });
  const viaOAuth = async () => {
    if (!deps.oauthClientId) throw new GatewayError('POLICY_REFUSED', 'This link was made through OAuth 2.0 (3LO), which is not configured on this gateway any more.');
    return findTenant(deps.repos, cloudId, { route: 'oauth', appKey: deps.oauthClientId });
  };
  const forgeTenant = async (): Promise<Tenant | null> => {
    if (!deps.forgeAppId) return null;
    if (site.route === 'forge' && site.appKey === deps.forgeAppId && site.status === 'active') return site;
    // On every call through Forge: the site's tenants by cloud id (a remembered read), newest active install last.
    let found: Tenant | null = null;
    for (const t of await deps.repos.tenants.findByCloudId(cloudId)) if (t.route === 'forge' && t.appKey === deps.forgeAppId && t.status === 'active') found = t;
    return found;
  };
  const viaForge = async (): Promise<Tenant> => {
    const t = await forgeTenant();
    if (!t) throw new GatewayError('POLICY_REFUSED', 'This link was made through Forge, which is not configured on this gateway (ONBEHALF_FORGE_APP_ID) or not installed on the site.');
    return t;
  };
  /** Connect where the site has it, else Forge: impersonation without a user's own grant. */
  const impersonating = async (accountId: string, link: LiveLink | null, prefer: 'connect' | 'forge'): Promise<ActingTarget> => {
    const forge = prefer === 'forge' ? await forgeTenant() : null;
    if (forge) return { tenant: forge, accountId, link, route: 'forge', allowedScopes: null };
    try {
      const connect = await viaConnect();
      // Upgraded to the Forge version (Connect-on-Forge): links made on the Connect page since the move act through Forge too.
      const upgradedTo = connect.payload?.['installationId'];
      if (typeof upgradedTo === 'string' && deps.forgeAppId) {
        const forge = await forgeTenant();
        if (forge && forge.tenantKey === upgradedTo) return { tenant: forge, accountId, link, route: 'forge', allowedScopes: null };
      }
      return { tenant: connect, accountId, link, route: 'connect', allowedScopes: policy.allowedScopes.connect ?? null };
    } catch (e) {
      const fallback = prefer === 'connect' ? await forgeTenant() : null;
      if (fallback) return { tenant: fallback, accountId, link, route: 'forge', allowedScopes: null };
      throw e;
    }
  };
  const target = async (link: LiveLink, accountId: string): Promise<ActingTarget> => {
    if (link.route === 'oauth') return { tenant: await viaOAuth(), accountId, link, route: 'oauth', allowedScopes: policy.allowedScopes.oauth ?? null };
    if (link.route === 'forge') return { tenant: await viaForge(), accountId, link, route: 'forge', allowedScopes: null };
    // An admin-mapped link moved onto the Forge installation (the site's Connect install became Forge) acts through it.
    if (link.route === 'admin' && link.tenantId !== null) {
      const forge = await forgeTenant();
      if (forge && forge.id === link.tenantId) return { tenant: forge, accountId, link, route: 'forge', allowedScopes: null };
    }
    return impersonating(accountId, link, 'connect');
  };

  if (req.externalUserId) {
    const link = await deps.repos.links.liveForUser(cloudId, req.externalUserId);
    if (!link) {
      throw new GatewayError('USER_NOT_LINKED', `User ${req.externalUserId} has not linked an Atlassian account on ${site.baseUrl}.`, { details: { externalUserId: req.externalUserId, cloudId } });
    }
    const usable = linkUsable(link, policy.acting);
    if (!usable.ok) {
      throw new GatewayError(usable.code, usable.code === 'POLICY_REFUSED' ? `This site's policy does not allow acting through ${link.route}-mapped links.` : `The link of ${req.externalUserId} cannot be used: ${usable.reason}.`, {
        details: { externalUserId: req.externalUserId, cloudId, reason: usable.reason, linkId: link.id },
      });
    }
    return target(link, link.accountId);
  }

  const accountId = req.accountId as string;
  const link = await deps.repos.links.liveForAccount(cloudId, accountId);
  if (link) {
    const usable = linkUsable(link, policy.acting);
    if (usable.ok) return target(link, accountId);
    if (usable.code === 'REAUTH_REQUIRED') throw new GatewayError('REAUTH_REQUIRED', `The link of account ${accountId} needs the user to sign in again.`, { details: { accountId, cloudId, linkId: link.id } });
  }
  if (policy.acting === 'any_user') return impersonating(accountId, null, 'forge');
  throw new GatewayError('POLICY_REFUSED', `This site's policy allows acting only as users who linked their account; account ${accountId} has no usable link.`, { details: { accountId, cloudId, acting: policy.acting } });
}
