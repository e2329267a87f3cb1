import type { Context, Handler } from 'hono';
import { GatewayError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { ConnectActAs } from '../../broker/connect-act-as.js';
import type { AdminMapping } from '../../identity/admin-mapping.js';
import type { Links } from '../../identity/links.js';
import type { ActingMode } from '../../store/policies-repo.js';
import type { Repositories } from '../../store/repositories.js';
import type { Tenant } from '../../store/tenants-repo.js';
import { ensureCloudId } from '../../tenants/ensure-cloud-id.js';
import type { ConnectAuth } from '../middleware/connect-jwt-auth.js';
import { lookUpDisplayName } from './look-up-display-name.js';
import { CONNECT_CONFIGURE_JS } from '../pages/assets.js';
import { ConfigurePage } from '../pages/configure-page.js';
import type { RouteDef } from '../routes.js';
import { ACTING_MODES } from '../../identity/policy-input.js';

export interface ConfigureRouteDeps {
  repos: Repositories;
  adminMapping: AdminMapping;
  links: Links;
  actAs: ConnectActAs;
  fetch: typeof fetch;
  logger: Logger;
  appName: string;
  baseUrl: string;
  allJsUrl: string;
  /** Groups whose members administer a site; checked as the app, never trusted from the page condition. */
  adminGroups: readonly string[];
}

const MAX_CSV_LINES = 1000;

/**
 * Admin mapping inside Confluence (the Connect configurePage). Confluence shows the page to admins only,
 * but nothing in its JWT says "admin" (addendum §9.6), so every request re-checks the user's groups as
 * the app before showing or changing anything.
 */
export function configureRoutes(deps: ConfigureRouteDeps): RouteDef[] {
  async function adminOf(c: Context, record = true): Promise<{ tenant: Tenant; accountId: string; cloudId: string }> {
    const { tenant, claims } = c.get('connect') as ConnectAuth;
    const accountId = claims.accountId;
    if (!accountId) throw new GatewayError('UNAUTHENTICATED', 'Log in to Confluence first.');
    const res = await deps.actAs.asApp(tenant, { retry: { maxAttempts: 2 } }).fetch(`/rest/api/user/memberof?accountId=${encodeURIComponent(accountId)}&limit=200`);
    if (!res.ok) throw new GatewayError('ATLASSIAN_ERROR', `Could not check your groups (HTTP ${res.status}).`);
    const groups = ((await res.json()) as { results?: { name?: string }[] }).results?.map((g) => g.name) ?? [];
    if (!groups.some((g) => g !== undefined && deps.adminGroups.includes(g))) {
      throw new GatewayError('FORBIDDEN', `Only site administrators (${deps.adminGroups.join(', ')}) can configure ${deps.appName}.`);
    }
    const cloudId = await ensureCloudId(deps, tenant);
    if (!cloudId) throw new GatewayError('ATLASSIAN_UNAVAILABLE', 'The site could not be identified; try again shortly.');
    if (record) await deps.repos.knownAccounts.record({ cloudId, accountId, source: 'iframe:configure' });
    return { tenant, accountId, cloudId };
  }

  const mapOne = (tenant: Tenant, cloudId: string, adminId: string, externalUserId: string, accountId: string) =>
    deps.adminMapping.mapOne(tenant, cloudId, { id: adminId, kind: 'atlassian' }, { externalUserId, accountId });

  const page: Handler = async (c) => {
    const { tenant, claims } = c.get('connect') as ConnectAuth;
    const site = new URL(tenant.baseUrl).origin;
    const allJs = new URL(deps.allJsUrl).origin;
    c.header('Content-Security-Policy', `default-src 'self'; script-src 'self' ${allJs}; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors ${site}; base-uri 'none'; form-action 'self'; object-src 'none'`);
    const common = { appName: deps.appName, assetsBase: deps.baseUrl, allJsUrl: deps.allJsUrl, siteHost: new URL(tenant.baseUrl).host };
    let admin;
    try {
      admin = await adminOf(c, false);
    } catch (e) {
      if (!(e instanceof GatewayError) || (e.code !== 'FORBIDDEN' && e.code !== 'UNAUTHENTICATED')) throw e;
      return c.html(<ConfigurePage {...common} admin={{ accountId: claims.accountId ?? '', displayName: null }} links={[]} acting="linked_only" problem={e.message} />, 403);
    }
    const links = await deps.repos.links.list({ cloudId: admin.cloudId, status: ['pending_confirmation', 'linked', 'reauth_required'], limit: 500 });
    const policy = await deps.repos.policies.get(admin.cloudId);
    const displayName = await lookUpDisplayName(deps, admin.tenant, admin.accountId);
    await deps.repos.knownAccounts.record({ cloudId: admin.cloudId, accountId: admin.accountId, source: 'iframe:configure', displayName });
    // Names from the directory of accounts seen (consent pages, searches, webhooks): no Confluence call per row.
    const known = await Promise.all([...new Set(links.map((l) => l.accountId))].map((id) => deps.repos.knownAccounts.get(admin.cloudId, id)));
    const names = Object.fromEntries(known.flatMap((k) => (k?.displayName ? [[k.accountId, k.displayName]] : [])));
    return c.html(<ConfigurePage {...common} admin={{ accountId: admin.accountId, displayName }} links={links} names={names} acting={policy.acting} problem={null} />);
  };

  const find: Handler = async (c) => {
    const admin = await adminOf(c);
    const body = (await c.req.json().catch(() => null)) as { q?: unknown } | null;
    const q = typeof body?.q === 'string' ? body.q : '';
    return c.json({ users: await deps.adminMapping.search(admin.tenant, admin.cloudId, q) });
  };

  const map: Handler = async (c) => {
    const admin = await adminOf(c);
    const body = (await c.req.json().catch(() => null)) as { accountId?: unknown; externalUserId?: unknown } | null;
    if (typeof body?.accountId !== 'string' || typeof body.externalUserId !== 'string') throw new GatewayError('VALIDATION_FAILED', 'Send {"accountId", "externalUserId"}.');
    const link = await mapOne(admin.tenant, admin.cloudId, admin.accountId, body.externalUserId.trim(), body.accountId.trim());
    return c.json({ id: link.id, status: link.status, route: link.route });
  };

  const importCsv: Handler = async (c) => {
    const admin = await adminOf(c);
    const body = (await c.req.json().catch(() => null)) as { csv?: unknown } | null;
    if (typeof body?.csv !== 'string') throw new GatewayError('VALIDATION_FAILED', 'Send {"csv": "userId,accountId\\n..."}.');
    const lines = body.csv.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    if (lines.length > MAX_CSV_LINES) throw new GatewayError('PAYLOAD_TOO_LARGE', `At most ${MAX_CSV_LINES} lines per import.`);
    let mapped = 0;
    const errors: string[] = [];
    for (const [i, line] of lines.entries()) {
      const [externalUserId = '', accountId = '', ...rest] = line.split(',').map((x) => x.trim().replace(/^"(.*)"$/, '$1'));
      if (i === 0 && /user/i.test(externalUserId) && /account/i.test(accountId)) continue;
      try {
        if (rest.length > 0) throw new GatewayError('VALIDATION_FAILED', 'expected two columns');
        await mapOne(admin.tenant, admin.cloudId, admin.accountId, externalUserId, accountId);
        mapped++;
      } catch (e) {
        errors.push(`line ${i + 1}: ${e instanceof GatewayError ? e.message : 'failed'}`);
      }
    }
    return c.json({ mapped, failed: errors.length, errors: errors.slice(0, 50) });
  };

  const policy: Handler = async (c) => {
    const admin = await adminOf(c);
    const body = (await c.req.json().catch(() => null)) as { acting?: unknown } | null;
    if (!ACTING_MODES.includes(body?.acting as ActingMode)) throw new GatewayError('VALIDATION_FAILED', `acting must be one of ${ACTING_MODES.join(', ')}.`);
    const saved = await deps.repos.policies.set(admin.cloudId, { acting: body?.acting as ActingMode }, admin.accountId);
    await deps.repos.audit.append({ action: 'policy.changed', actorType: 'admin', actorId: admin.accountId, cloudId: admin.cloudId, reason: saved.acting });
    return c.json({ acting: saved.acting });
  };

  const revoke: Handler = async (c) => {
    const admin = await adminOf(c);
    const body = (await c.req.json().catch(() => null)) as { linkId?: unknown } | null;
    const link = typeof body?.linkId === 'string' ? await deps.repos.links.get(body.linkId) : undefined;
    if (!link || link.cloudId !== admin.cloudId) throw new GatewayError('NOT_FOUND', 'There is no such link on this site.');
    const revoked = await deps.links.revoke({ linkId: link.id, actorType: 'admin', actorId: admin.accountId, reason: 'revoked_by_admin' });
    return c.json({ id: revoked.id, status: revoked.status });
  };

  return [
    { method: 'GET', path: '/assets/connect-configure.js', auth: 'public', summary: 'Script of the configure page.', handler: (c) => c.body(CONNECT_CONFIGURE_JS, 200, { 'Content-Type': 'application/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=3600' }) },
    { method: 'GET', path: '/connect/configure', auth: 'connectJwt', summary: 'Admin page inside Confluence: search users, map, CSV import, policy (admins re-checked).', handler: page },
    { method: 'POST', path: '/connect/configure/search', auth: 'connectContext', summary: "An admin searches the site's users (as the app).", handler: find },
    { method: 'POST', path: '/connect/configure/map', auth: 'connectContext', summary: 'An admin maps an account to one of your users.', handler: map },
    { method: 'POST', path: '/connect/configure/import', auth: 'connectContext', summary: 'An admin imports mappings from CSV.', handler: importCsv },
    { method: 'POST', path: '/connect/configure/policy', auth: 'connectContext', summary: "An admin sets the site's acting policy.", handler: policy },
    { method: 'POST', path: '/connect/configure/revoke', auth: 'connectContext', summary: 'An admin revokes a link on the site.', handler: revoke },
  ];
}
