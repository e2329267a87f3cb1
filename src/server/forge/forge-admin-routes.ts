import type { Handler } from 'hono';
import { GatewayError } from '../../errors.js';
import type { ActAsClient } from '../../confluence/create-act-as-client.js';
import type { AdminMapping } from '../../identity/admin-mapping.js';
import type { Links } from '../../identity/links.js';
import { ACTING_MODES } from '../../identity/policy-input.js';
import type { ActingMode } from '../../store/policies-repo.js';
import type { Repositories } from '../../store/repositories.js';
import type { Tenant } from '../../store/tenants-repo.js';
import { FORGE_SETTINGS_KEY } from '../../tenants/forge-app-manifest.js';
import { siteLabel } from '../pages/connect-link-page.js';
import type { RouteDef } from '../routes.js';
import { forgeCaller, uiBody } from './forge-page-input.js';
import type { Context } from 'hono';

export interface ForgeAdminRouteDeps {
  repos: Repositories;
  adminMapping: AdminMapping;
  links: Links;
  /** Calls as the app on the installation (its app system token). */
  asApp: (tenant: Tenant) => ActAsClient;
  appName: string;
  /** Groups whose members administer a site (ONBEHALF_ADMIN_GROUPS), as for the Connect configure page. */
  adminGroups: readonly string[];
}

const ACTING_LABELS: Record<ActingMode, string> = {
  linked_only: 'Only people who connected their account',
  admin_mapped: 'People who connected, and accounts an admin mapped',
  any_user: 'Anyone on this site the app may act as',
};

/**
 * The site admin's page of the Forge app (`confluence:globalSettings`, forge-app/src/settings): the acting
 * policy and the admin mapping on a Forge site. The remote trusts no page: each call must come (1) from the
 * settings module itself, by the FIT's `app.module.key` (Forge shows that page to site admins only, but a
 * non-admin can call `invokeRemote` from the "Connect your account" page, whose FIT names that module), and
 * (2) from a member of an admin group, asked of Confluence as the app with the installation's system token,
 * since nothing in a FIT says "admin".
 */
export function forgeAdminRoutes(deps: ForgeAdminRouteDeps): RouteDef[] {
  async function adminOf(c: Context): Promise<{ tenant: Tenant; accountId: string; cloudId: string }> {
    const caller = forgeCaller(c, FORGE_SETTINGS_KEY);
    const tenant = caller.forge.tenant;
    const res = await deps.asApp(tenant).fetch(`/rest/api/user/memberof?accountId=${encodeURIComponent(caller.accountId)}&limit=200`);
    if (!res.ok) throw new GatewayError('ATLASSIAN_ERROR', `Could not check your groups (HTTP ${res.status}).`);
    const groups = ((await res.json()) as { results?: { name?: string }[] }).results?.map((g) => g.name) ?? [];
    if (!groups.some((g) => g !== undefined && deps.adminGroups.includes(g))) {
      await deps.repos.audit.append({ action: 'admin.refused', actorType: 'user', actorId: caller.accountId, accountId: caller.accountId, cloudId: caller.cloudId, route: 'forge', reason: 'not_in_admin_group' });
      throw new GatewayError('FORBIDDEN', `Only site administrators (${deps.adminGroups.join(', ')}) can configure ${deps.appName}.`, { details: { reason: 'not_admin' } });
    }
    await deps.repos.knownAccounts.record({ cloudId: caller.cloudId, accountId: caller.accountId, source: 'forge:settings' });
    return { tenant, accountId: caller.accountId, cloudId: caller.cloudId };
  }

  async function displayNameOf(tenant: Tenant, accountId: string): Promise<string | null> {
    try {
      const res = await deps.asApp(tenant).fetch(`/rest/api/user?accountId=${encodeURIComponent(accountId)}`);
      if (!res.ok) return null;
      const name = ((await res.json()) as { displayName?: unknown }).displayName;
      return typeof name === 'string' && name !== '' ? name.slice(0, 200) : null;
    } catch {
      return null; // a greeting is not worth failing the page for
    }
  }

  const state: Handler = async (c) => {
    const admin = await adminOf(c);
    const links = await deps.repos.links.list({ cloudId: admin.cloudId, status: ['pending_confirmation', 'linked', 'reauth_required'], limit: 500 });
    const policy = await deps.repos.policies.get(admin.cloudId);
    const known = await Promise.all([...new Set([admin.accountId, ...links.map((l) => l.accountId)])].map((id) => deps.repos.knownAccounts.get(admin.cloudId, id)));
    const names = new Map(known.flatMap((k) => (k?.displayName ? [[k.accountId, k.displayName] as const] : [])));
    // The page greets the admin by name, not by account ID: asked once as the app, then kept with the accounts seen.
    if (!names.has(admin.accountId)) {
      const name = await displayNameOf(admin.tenant, admin.accountId);
      if (name) {
        names.set(admin.accountId, name);
        await deps.repos.knownAccounts.record({ cloudId: admin.cloudId, accountId: admin.accountId, source: 'forge:settings', displayName: name });
      }
    }
    return c.json({
      appName: deps.appName,
      site: { label: siteLabel(admin.tenant.baseUrl), cloudId: admin.cloudId },
      admin: { accountId: admin.accountId, displayName: names.get(admin.accountId) ?? null },
      acting: policy.acting,
      actingModes: ACTING_MODES.map((m) => ({ value: m, label: ACTING_LABELS[m] })),
      links: links.map((l) => ({ id: l.id, externalUserId: l.externalUserId, accountId: l.accountId, displayName: names.get(l.accountId) ?? null, route: l.route, status: l.status, since: new Date(l.createdAt).toISOString() })),
    });
  };

  const search: Handler = async (c) => {
    const admin = await adminOf(c);
    const q = (await uiBody(c))['q'];
    return c.json({ users: await deps.adminMapping.search(admin.tenant, admin.cloudId, typeof q === 'string' ? q : '') });
  };

  const map: Handler = async (c) => {
    const admin = await adminOf(c);
    const body = await uiBody(c);
    if (typeof body['accountId'] !== 'string' || typeof body['externalUserId'] !== 'string') throw new GatewayError('VALIDATION_FAILED', 'Send {"accountId", "externalUserId"}.');
    const link = await deps.adminMapping.mapOne(admin.tenant, admin.cloudId, { id: admin.accountId, kind: 'atlassian' }, { externalUserId: body['externalUserId'].trim(), accountId: body['accountId'].trim() });
    return c.json({ id: link.id, status: link.status, route: link.route });
  };

  const policy: Handler = async (c) => {
    const admin = await adminOf(c);
    const acting = (await uiBody(c))['acting'];
    if (!ACTING_MODES.includes(acting as ActingMode)) throw new GatewayError('VALIDATION_FAILED', `acting must be one of ${ACTING_MODES.join(', ')}.`);
    const saved = await deps.repos.policies.set(admin.cloudId, { acting: acting as ActingMode }, admin.accountId);
    await deps.repos.audit.append({ action: 'policy.changed', actorType: 'admin', actorId: admin.accountId, cloudId: admin.cloudId, route: 'forge', reason: saved.acting });
    return c.json({ acting: saved.acting });
  };

  const revoke: Handler = async (c) => {
    const admin = await adminOf(c);
    const id = (await uiBody(c))['linkId'];
    const link = typeof id === 'string' ? await deps.repos.links.get(id) : undefined;
    if (!link || link.cloudId !== admin.cloudId) throw new GatewayError('NOT_FOUND', 'There is no such link on this site.');
    const revoked = await deps.links.revoke({ linkId: link.id, actorType: 'admin', actorId: admin.accountId, reason: 'revoked_by_admin' });
    return c.json({ id: revoked.id, status: revoked.status });
  };

  const route = (path: string, summary: string, handler: Handler): RouteDef => ({ method: 'POST', path: `/forge/admin/${path}`, auth: 'forgeInvocation', summary: `Forge settings page (site admins, re-checked): ${summary}`, handler });
  return [
    route('state', "the site's policy and links.", state),
    route('search', "search the site's users (as the app).", search),
    route('map', 'map an account to one of your users.', map),
    route('policy', "set the site's acting policy.", policy),
    route('revoke', 'revoke a link on the site.', revoke),
  ];
}
