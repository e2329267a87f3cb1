import type { Context, Hono } from 'hono';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { SandboxEnv } from '../http/sandbox-env.js';
import { defineApiRoute } from './define-api-route.js';
import { toV1User, v1Error, type WireContext } from './wire.js';
import { parseUserCql } from './cql-user-query.js';
import { hasConnectScope } from '../auth/connect-scopes.js';

const USER = ['read:confluence-user'];
const GROUPS = ['read:confluence-groups'];

/** v1 user APIs: `/user`, `/user/current`, `/search/user`, `/user/email`, `/user/email/bulk`, groups, and `/settings/systemInfo`. */
/** The Forge scope the email API needs [I: the scope Atlassian lists for email addresses in Confluence]. */
const FORGE_EMAIL_SCOPE = 'read:email-address:confluence';

export function registerV1UserRoutes(deps: SandboxDeps, app: Hono<SandboxEnv>): void {
  const { state } = deps;
  const wire = (c: Context<SandboxEnv>): WireContext => ({ base: c.get('apiBase'), state });

  defineApiRoute(deps, app, 'GET', '/rest/api/user/current', { connect: 'READ', oauth: USER }, (c) => c.json(toV1User(c.get('principal').user, wire(c))));

  defineApiRoute(deps, app, 'GET', '/rest/api/user', { connect: 'READ', oauth: USER }, (c) => {
    const accountId = c.req.query('accountId');
    if (!accountId) return c.json(v1Error(400, 'accountId is required'), 400);
    const user = state.userOnSite(accountId, c.get('site').key);
    if (!user) return c.json(v1Error(404, `No user found with accountId: ${accountId}`), 404);
    return c.json(toV1User(user, wire(c)));
  });

  // Marked INACCESSIBLE to Connect apps in the v1 spec (CSPEC1).
  defineApiRoute(deps, app, 'GET', '/rest/api/user/bulk', { connect: 'INACCESSIBLE', oauth: USER }, (c) => {
    const ids = (c.req.queries('accountId') ?? []).flatMap((v) => v.split(',')).filter(Boolean);
    if (ids.length === 0) return c.json(v1Error(400, 'accountId is required'), 400);
    const limit = Math.min(100, Math.max(1, Number(c.req.query('limit') ?? 100) || 100));
    const site = c.get('site').key;
    const results = ids.map((id) => state.userOnSite(id, site)).filter((u) => u !== undefined).slice(0, limit).map((u) => toV1User(u, wire(c)));
    return c.json({ results, start: 0, limit, size: results.length, _links: { base: c.get('apiBase'), context: '/wiki' } });
  });

  defineApiRoute(deps, app, 'GET', '/rest/api/search/user', { connect: 'READ', oauth: USER }, (c) => {
    const cql = c.req.query('cql');
    if (!cql) return c.json(v1Error(400, 'cql is required'), 400);
    const predicate = parseUserCql(cql);
    if (!predicate) return c.json(v1Error(400, `Could not parse cql : ${cql}`), 400);
    const start = Math.max(0, Number(c.req.query('start') ?? 0) || 0);
    const limit = Math.min(1000, Math.max(1, Number(c.req.query('limit') ?? 25) || 25));
    const all = state
      .usersOnSite(c.get('site').key)
      .filter((u) => u.accountStatus === 'active')
      .filter(predicate)
      .sort((a, b) => a.accountId.localeCompare(b.accountId));
    const slice = all.slice(start, start + limit);
    const results = slice.map((u) => ({
      user: toV1User(u, wire(c), { nullHiddenFields: true }),
      title: u.displayName,
      excerpt: '',
      url: `/people/${u.accountId}`,
      entityType: 'user',
      iconCssClass: 'aui-icon content-type-profile',
      lastModified: new Date(deps.clock.now()).toISOString(),
      score: 0,
    }));
    const links: Record<string, string> = { base: c.get('apiBase'), context: '/wiki' };
    if (start + limit < all.length) {
      const p = new URLSearchParams(new URL(c.req.url).searchParams);
      p.set('start', String(start + limit));
      links['next'] = `/rest/api/search/user?${p.toString()}`;
    }
    return c.json({ results, start, limit, size: results.length, totalSize: all.length, _links: links });
  });

  /** 501 when the site has the API off; 400 unless the caller is a Connect app (JWT) approved for email or a Forge app as itself. */
  const emailGate = (c: Context<SandboxEnv>): Response | null => {
    if (!c.get('site').emailApiEnabled) return c.json(v1Error(501, 'API is not currently enabled'), 501);
    const p = c.get('principal');
    // Forge: "only supports access via asApp() requests" (§6.1), i.e. the app system token, never a user's.
    const approved =
      (p.kind === 'connect' && p.install.emailApproved && hasConnectScope(p.connectScopes, 'ACCESS_EMAIL_ADDRESSES')) ||
      (p.kind === 'forge' && p.tokenKind === 'system' && p.scopes.includes(FORGE_EMAIL_SCOPE));
    if (!approved) return c.json(v1Error(400, 'The calling app is not approved to use this API'), 400);
    return null;
  };

  // 3LO tokens have no scope for these; the gate answers 400 for them (any scope passes the generic check).
  const EMAIL_OAUTH = [FORGE_EMAIL_SCOPE, 'read:confluence-user', 'read:me', 'read:page:confluence', 'read:confluence-content.all', 'offline_access'];

  defineApiRoute(deps, app, 'GET', '/rest/api/user/email', { connect: 'READ', oauth: EMAIL_OAUTH }, (c) => {
    const gate = emailGate(c);
    if (gate) return gate;
    const accountId = c.req.query('accountId');
    if (!accountId) return c.json(v1Error(400, 'accountId is required'), 400);
    const user = state.userOnSite(accountId, c.get('site').key);
    if (!user) return c.json(v1Error(404, `No user found with accountId: ${accountId}`), 404);
    return c.json({ accountId: user.accountId, email: user.email });
  });

  defineApiRoute(deps, app, 'GET', '/rest/api/user/email/bulk', { connect: 'READ', oauth: EMAIL_OAUTH }, (c) => {
    const gate = emailGate(c);
    if (gate) return gate;
    const ids = (c.req.queries('accountId') ?? []).flatMap((v) => v.split(',')).filter(Boolean);
    if (ids.length === 0) return c.json(v1Error(400, 'accountId is required'), 400);
    const site = c.get('site').key;
    return c.json(ids.map((id) => state.userOnSite(id, site)).filter((u) => u !== undefined).map((u) => ({ accountId: u.accountId, email: u.email })));
  });

  defineApiRoute(deps, app, 'GET', '/rest/api/user/memberof', { connect: 'READ', oauth: USER }, (c) => {
    const accountId = c.req.query('accountId');
    const user = accountId ? state.userOnSite(accountId, c.get('site').key) : undefined;
    if (!user) return c.json(v1Error(404, 'User not found'), 404);
    const groups = user.groups.filter((g) => c.get('site').groups.includes(g) || true);
    const results = groups.map((name) => ({ type: 'group', name, id: groupId(name) }));
    return c.json({ results, start: 0, limit: 200, size: results.length, _links: { base: c.get('apiBase'), context: '/wiki' } });
  });

  // The site's own address even when called through the API gateway: how a Forge remote, which is given only
  // `apiBaseUrl`, learns where people open the site (SystemInfoEntity; "Can use" permission).
  defineApiRoute(deps, app, 'GET', '/rest/api/settings/systemInfo', { connect: 'READ', oauth: ['read:configuration:confluence'] }, (c) => {
    const site = c.get('site');
    return c.json({ cloudId: site.cloudId, commitHash: 'sandbox', baseUrl: deps.urls.siteBaseUrl(site.key), edition: 'standard', siteTitle: site.name, defaultLocale: 'en_US', defaultTimeZone: 'UTC' });
  });

  const members = (c: Context<SandboxEnv>, name: string | undefined) => {
    if (!name) return c.json(v1Error(400, 'name is required'), 400);
    const limit = Number(c.req.query('limit') ?? 200) || 200;
    if (limit > 200) return c.json(v1Error(400, 'limit must be at most 200'), 400);
    const start = Math.max(0, Number(c.req.query('start') ?? 0) || 0);
    const all = state.usersOnSite(c.get('site').key).filter((u) => u.groups.includes(name));
    if (all.length === 0 && !c.get('site').groups.includes(name)) return c.json(v1Error(404, `No group found with name: ${name}`), 404);
    const slice = all.slice(start, start + limit);
    return c.json({ results: slice.map((u) => toV1User(u, wire(c))), start, limit, size: slice.length, _links: { base: c.get('apiBase'), context: '/wiki' } });
  };
  defineApiRoute(deps, app, 'GET', '/rest/api/group/member', { connect: 'READ', oauth: GROUPS }, (c) => members(c, c.req.query('name')));
  defineApiRoute(deps, app, 'GET', '/rest/api/group/:groupName/member', { connect: 'READ', oauth: GROUPS }, (c) => members(c, c.req.param('groupName')));
}

export function groupId(name: string): string {
  const h = Buffer.from(name).toString('hex').padEnd(32, '0').slice(0, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
