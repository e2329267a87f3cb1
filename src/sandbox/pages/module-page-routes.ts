import { randomBytes } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { html, raw } from 'hono/html';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { ConnectInstall, ConnectPageModule, SandboxUser } from '../state/types.js';
import { canUseSite, isSiteAdmin } from '../state/permissions.js';
import { sessionUser } from './session.js';
import { buildIframeUrl, signContextJwt } from './iframe-url.js';
import { ALL_JS } from './all-js.js';
import { HOST_API_SPEC, HOST_PAGE_SCRIPT } from './host-page-script.js';
import { proxiedIframeUrl } from './iframe-proxy-routes.js';
import { SANDBOX_HEAD } from './page-head.js';

type ModuleKind = 'generalPage' | 'configurePage' | 'postInstallPage' | 'adminPage';

function findModule(install: ConnectInstall, moduleKey: string): { module: ConnectPageModule; kind: ModuleKind } | null {
  const m = install.descriptor.modules;
  if (!m) return null;
  const general = m.generalPages?.find((p) => p.key === moduleKey);
  if (general) return { module: general, kind: 'generalPage' };
  if (m.configurePage?.key === moduleKey) return { module: m.configurePage, kind: 'configurePage' };
  if (m.postInstallPage?.key === moduleKey) return { module: m.postInstallPage, kind: 'postInstallPage' };
  const admin = m.adminPages?.find((p) => p.key === moduleKey);
  return admin ? { module: admin, kind: 'adminPage' } : null;
}

/** Conditions we evaluate: `user_is_admin` (implicit for configure/admin pages) and `user_is_logged_in`. */
function conditionsPass(kind: ModuleKind, module: ConnectPageModule, user: SandboxUser): boolean {
  const conditions = (module.conditions ?? []).map((c) => c.condition);
  if (kind === 'configurePage' || kind === 'adminPage') conditions.push('user_is_admin');
  return conditions.every((c) => (c === 'user_is_admin' ? isSiteAdmin(user) : true));
}

/**
 * Connect page modules (§9.1, §9.8): `GET /s/<site>/wiki/plugins/servlet/ac/<appKey>/<moduleKey>` renders a
 * host page with the app's iframe (signed URL, `sub` = the signed-in user), `?classifier=json` returns
 * `{url, options}`, and `POST …/context-token` issues the context JWT behind `AP.context.getToken()`.
 */
export function registerModulePageRoutes(deps: SandboxDeps, app: Hono): void {
  const { state } = deps;
  const resolve = (c: Context) => {
    const site = state.siteByKey(c.req.param('site') ?? '');
    const install = site ? state.installs.get(state.installKey(site.key, c.req.param('appKey') ?? '')) : undefined;
    if (!site || !install || !install.installed || !install.enabled) return null;
    const found = findModule(install, c.req.param('moduleKey') ?? '');
    return found ? { site, install, ...found } : null;
  };
  const problemPage = (c: Context, status: 403 | 404, title: string, body: ReturnType<typeof html>, siteKey: string | undefined, user: SandboxUser | undefined) =>
    c.html(
      html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title} - Confluence (sandbox)</title>${SANDBOX_HEAD}</head>
<body>
<header>Confluence (sandbox)${user ? html` · signed in as <span id="current-user">${user.displayName}</span>` : ''}</header>
<main><h1 id="${status === 403 ? 'access-denied' : 'not-found'}">${title}</h1>${body}
<p>${siteKey && state.siteByKey(siteKey) ? html`<a href="${new URL(deps.urls.siteBaseUrl(siteKey)).pathname}">Back to the site</a> · ` : ''}<a href="/">Sandbox home</a>${user ? html` · <a href="/login?returnTo=${encodeURIComponent(new URL(c.req.url).pathname)}">Sign in as someone else</a>` : ''}</p></main>
</body></html>`,
      status,
    );
  const notFound = (c: Context) => problemPage(c, 404, 'Page not found', html`<p>No installed, enabled app has this page on this site.</p>`, c.req.param('site'), sessionUser(deps, c));
  /** Configure and admin pages are for site admins (as in Confluence); the page says so instead of a bare refusal. */
  const denied = (c: Context, user: SandboxUser, kind: ModuleKind, title: string) =>
    problemPage(
      c,
      403,
      'Access denied',
      kind === 'configurePage' || kind === 'adminPage'
        ? html`<p>Only site administrators can open <strong>${title}</strong>. ${user.displayName} is not one on this site.</p>`
        : html`<p>${user.displayName} does not have permission to view <strong>${title}</strong>.</p>`,
      c.req.param('site'),
      user,
    );

  app.get('/atlassian-connect/all.js', (c) => c.body(ALL_JS, 200, { 'content-type': 'application/javascript; charset=utf-8', 'cache-control': 'no-cache' }));

  app.get('/s/:site/wiki/plugins/servlet/ac/:appKey/:moduleKey', (c) => {
    const r = resolve(c);
    if (!r) return notFound(c);
    const user = sessionUser(deps, c);
    if (!user) {
      const u = new URL(c.req.url);
      return c.redirect(`/login?returnTo=${encodeURIComponent(u.pathname + u.search)}`, 302);
    }
    if (!canUseSite(state, user, r.site.key) || !conditionsPass(r.kind, r.module, user)) return denied(c, user, r.kind, r.module.name?.value ?? r.module.key);
    const query = new URL(c.req.url).searchParams;
    const context: Record<string, string> = {};
    for (const [k, v] of query) if (k.startsWith('ac.') || /^(content|space|page)\./.test(k)) context[k] = v;
    const hostUrl = deps.urls.siteBaseUrl(r.site.key).replace(/\/wiki$/, '');
    const { url: signedUrl } = buildIframeUrl({ install: r.install, moduleKey: r.module.key, moduleUrl: r.module.url, context, hostUrl, accountId: user.accountId, nowSeconds: Math.floor(deps.clock.now() / 1000) });
    const url =
      deps.settings.iframeCookies === 'blocked'
        ? proxiedIframeUrl(deps.origin, r.site.key, r.install.appKey, r.install.descriptor.baseUrl, signedUrl)
        : signedUrl;
    const structuredContext = {
      confluence: { content: context['content.id'] ? { id: context['content.id'], type: context['content.type'] ?? 'page', version: context['content.version'] ?? '' } : {}, space: context['space.key'] ? { id: context['space.id'] ?? '', key: context['space.key'] } : {} },
      license: { active: false },
    };
    const servletBase = `${deps.urls.siteBaseUrl(r.site.key)}/plugins/servlet/ac`;
    const options = { hostOrigin: deps.origin, isFullPage: true, productContext: context, structuredContext };
    if (query.get('classifier') === 'json') return c.json({ url, options });
    const extensionId = `${r.install.appKey}__${r.module.key}__${randomBytes(4).toString('hex')}`;
    const name = JSON.stringify({ extension_id: extensionId, api: HOST_API_SPEC, origin: deps.origin, options });
    const hostData = JSON.stringify({
      appKey: r.install.appKey,
      moduleKey: r.module.key,
      api: HOST_API_SPEC,
      structuredContext,
      user: { atlassianAccountId: user.accountId, accountType: user.accountType === 'customer' ? 'customer' : 'atlassian' },
      timeZone: user.timeZone ?? 'UTC',
      locale: user.locale,
      contextTokenUrl: `${servletBase}/${encodeURIComponent(r.install.appKey)}/${encodeURIComponent(r.module.key)}/context-token`,
      apRequestUrl: `${servletBase}/${encodeURIComponent(r.install.appKey)}/${encodeURIComponent(r.module.key)}/ap-request`,
      servletBase,
    }).replace(/</g, '\\u003c');
    const title = r.module.name?.value ?? r.module.key;
    // No heading above the frame: the app's page carries its own, and Confluence shows none there (a second
    // one read as the title printed twice).
    return c.html(html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title} - ${r.site.name}</title>${SANDBOX_HEAD}</head>
<body>
<header><strong>${r.site.name}</strong> · ${title} · signed in as <span id="current-user">${user.displayName}</span></header>
<main>
<iframe class="ap-iframe" id="${extensionId}" name="${name}" referrerpolicy="no-referrer" style="width:100%;height:600px;border:0" src="${url}"></iframe>
</main>
<script type="application/json" id="ap-host-data">${raw(hostData)}</script>
<script>${raw(HOST_PAGE_SCRIPT)}</script>
</body></html>`);
  });

  app.post('/s/:site/wiki/plugins/servlet/ac/:appKey/:moduleKey/context-token', (c) => {
    const r = resolve(c);
    if (!r) return c.json({ code: 404, message: 'Not Found' }, 404);
    const user = sessionUser(deps, c);
    if (!user) return c.json({ code: 401, message: 'Unauthorized' }, 401);
    if (!canUseSite(state, user, r.site.key) || !conditionsPass(r.kind, r.module, user)) return c.json({ code: 403, message: 'Forbidden' }, 403);
    const token = signContextJwt(r.install, user.accountId, Math.floor(deps.clock.now() / 1000), {});
    return c.json({ token });
  });

  /**
   * The host side of `AP.request` (§9.4): runs the call against the site's REST API as the signed-in user,
   * limited to the app's descriptor scopes, and returns status, text, Content-Type and ETag.
   */
  app.post('/s/:site/wiki/plugins/servlet/ac/:appKey/:moduleKey/ap-request', async (c) => {
    const r = resolve(c);
    if (!r) return c.json({ code: 404, message: 'Not Found' }, 404);
    const user = sessionUser(deps, c);
    if (!user) return c.json({ code: 401, message: 'Unauthorized' }, 401);
    if (!canUseSite(state, user, r.site.key)) return c.json({ code: 403, message: 'Forbidden' }, 403);
    let opts: { url?: unknown; type?: unknown; data?: unknown; contentType?: unknown; headers?: unknown };
    try {
      opts = (await c.req.json()) as typeof opts;
    } catch {
      return c.json({ code: 400, message: 'body must be JSON' }, 400);
    }
    if (typeof opts.url !== 'string' || !opts.url.startsWith('/') || opts.url.startsWith('//')) return c.json({ code: 400, message: 'url must be a path relative to the product, e.g. /rest/api/user/current' }, 400);
    let path = opts.url.replace(/\/\.\.\//g, '/');
    if (path.startsWith('/wiki/')) path = path.slice('/wiki'.length);
    const method = typeof opts.type === 'string' ? opts.type.toUpperCase() : 'GET';
    const token = randomBytes(24).toString('base64url');
    state.impersonationTokens.set(token, { token, siteKey: r.site.key, appKey: r.install.appKey, accountId: user.accountId, scopes: r.install.scopes, expiresAt: deps.clock.now() + 60_000 });
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
      const h = (opts.headers ?? {}) as Record<string, unknown>;
      for (const k of ['Accept', 'If-Match', 'If-None-Match']) if (typeof h[k] === 'string') headers[k.toLowerCase()] = h[k] as string;
      const hasBody = method !== 'GET' && method !== 'HEAD' && opts.data !== undefined;
      if (hasBody) headers['content-type'] = typeof opts.contentType === 'string' ? opts.contentType : 'application/json';
      const res = await app.fetch(
        new Request(`${deps.urls.siteBaseUrl(r.site.key)}${path}`, {
          method,
          headers,
          ...(hasBody ? { body: typeof opts.data === 'string' ? opts.data : JSON.stringify(opts.data) } : {}),
        }),
      );
      return c.json({ status: res.status, statusText: res.statusText, responseText: await res.text(), contentType: res.headers.get('content-type'), etag: res.headers.get('etag') });
    } finally {
      state.impersonationTokens.delete(token);
    }
  });
}
