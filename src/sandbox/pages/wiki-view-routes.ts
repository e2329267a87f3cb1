import type { Context, Hono, Next } from 'hono';
import { html, raw } from 'hono/html';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { SandboxPage, SandboxSite, SandboxSpace, SandboxUser } from '../state/types.js';
import { canReadPage, canReadSpace, canUseSite } from '../state/permissions.js';
import { sessionUser } from './session.js';
import { storageToHtml } from './storage-to-html.js';
import { when, wikiFrame, wikiProblem } from './wiki-view-html.js';

/**
 * Page bodies are user-written HTML: even after the allow-list, the view forbids every script, frame,
 * plugin and foreign form target, so a sanitiser bug still could not run anything.
 */
const VIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * Only browsers get the view. The REST API lives under the same base URL (`/s/<site>/wiki/rest/...`,
 * `.../api/v2/...`), so a client that did not ask for HTML falls through to the API's routes and its
 * JSON 404, exactly as before the view existed.
 */
const wantsHtml = (c: Context): boolean => /\btext\/html\b/i.test(c.req.header('accept') ?? '');

interface Viewer {
  site: SandboxSite;
  user: SandboxUser;
  siteHome: string;
}

/**
 * A read-only Confluence you can look at, under each site's base URL: the spaces, a space's page tree, and
 * a page with its title, body (sanitised), author and the app it was created through. What the signed-in
 * sandbox user may not read is not shown, as in Confluence. `_links.webui` of the sandbox's API answers
 * (`/spaces/<key>/pages/<id>/<title>`, joined to `_links.base`) lands here.
 */
export function registerWikiViewRoutes(deps: SandboxDeps, app: Hono): void {
  const { state } = deps;
  const sitePath = (site: SandboxSite) => new URL(deps.urls.siteBaseUrl(site.key)).pathname;
  const spaceUrl = (site: SandboxSite, space: SandboxSpace) => `${sitePath(site)}/spaces/${encodeURIComponent(space.key)}`;
  const pageUrl = (site: SandboxSite, space: SandboxSpace, page: SandboxPage) =>
    `${spaceUrl(site, space)}/pages/${encodeURIComponent(page.id)}/${encodeURIComponent(page.title).replace(/%20/g, '+')}`;

  const userName = (accountId: string) => state.users.get(accountId)?.displayName ?? 'Unknown user';
  /** The app a page was created through: its Connect descriptor's name, the 3LO client's name, or its ID. */
  const appName = (site: SandboxSite, via: string) => {
    const install = state.installs.get(state.installKey(site.key, via));
    return install?.descriptor.name ?? state.oauthClients.get(via)?.name ?? via;
  };

  const notFound = (c: Context, v: Viewer | null, what: string) =>
    c.html(wikiProblem('Page not found', `${what} does not exist, or you do not have permission to view it.`, v ? { href: v.siteHome, label: `Back to ${v.site.name}` } : { href: '/', label: 'Sandbox home' }), 404);

  /** The signed-in viewer of this site, or the response to send instead (sign in, or not found). */
  const viewer = async (c: Context): Promise<Viewer | Response> => {
    c.header('Content-Security-Policy', VIEW_CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Cache-Control', 'no-store');
    const site = state.siteByKey(c.req.param('site') ?? '');
    if (!site) return notFound(c, null, 'This site');
    const user = sessionUser(deps, c);
    if (!user) {
      const u = new URL(c.req.url);
      return c.redirect(`/login?returnTo=${encodeURIComponent(u.pathname + u.search)}`, 302);
    }
    if (!canUseSite(state, user, site.key)) return c.html(wikiProblem('No access to this site', `${user.displayName} cannot use ${site.name}.`, { href: '/login', label: 'Sign in as someone else' }), 403);
    return { site, user, siteHome: sitePath(site) };
  };

  const readablePages = (v: Viewer, space: SandboxSpace) =>
    state.pagesOnSite(v.site.key).filter((p) => p.spaceId === space.id && p.status === 'current' && canReadPage(state, v.user, p));

  const byline = (v: Viewer, page: SandboxPage) => html`Created by <strong data-author>${userName(page.authorId)}</strong>${
    page.createdVia ? html` via <strong data-via>${appName(v.site, page.createdVia)}</strong>` : ''
  } · ${when(page.createdAt)}${
    page.version.number > 1 ? html` · last updated by ${userName(page.version.authorId)} (version ${page.version.number}, ${when(page.version.createdAt)})` : ''
  }`;

  /** The space's readable pages as a tree; a page whose parent is hidden from the viewer shows at the top. */
  const tree = (v: Viewer, space: SandboxSpace, current: string | null) => {
    const pages = readablePages(v, space);
    const ids = new Set(pages.map((p) => p.id));
    const children = new Map<string | null, SandboxPage[]>();
    for (const p of pages) {
      const parent = p.parentId !== null && ids.has(p.parentId) ? p.parentId : null;
      children.set(parent, [...(children.get(parent) ?? []), p]);
    }
    const level = (parent: string | null, depth: number): ReturnType<typeof html> | string => {
      const list = (children.get(parent) ?? []).sort((a, b) => a.position - b.position || Number(a.id) - Number(b.id));
      if (list.length === 0 || depth > 32) return '';
      return html`<ul>${list.map(
        (p) => html`<li><a href="${pageUrl(v.site, space, p)}"${p.id === current ? raw(' aria-current="page"') : ''}>${p.title || '(untitled)'}</a>${level(p.id, depth + 1)}</li>`,
      )}</ul>`;
    };
    return html`<p><a href="${spaceUrl(v.site, space)}"><strong>${space.name}</strong></a></p>${level(null, 0)}`;
  };

  const findSpace = (v: Viewer, key: string) => {
    const space = state.spaceByKey(v.site.key, key);
    return space && canReadSpace(v.user, space) ? space : undefined;
  };

  const siteHome = async (c: Context, next: Next) => {
    if (!wantsHtml(c)) return next();
    const v = await viewer(c);
    if (v instanceof Response) return v;
    const spaces = state.spacesOnSite(v.site.key).filter((s) => canReadSpace(v.user, s));
    const recent = spaces
      .flatMap((s) => readablePages(v, s).map((p) => ({ p, s })))
      .sort((a, b) => b.p.createdAt - a.p.createdAt || Number(b.p.id) - Number(a.p.id))
      .slice(0, 10);
    return c.html(
      wikiFrame({
        title: 'Spaces',
        site: v.site,
        siteHome: v.siteHome,
        user: v.user,
        here: new URL(c.req.url).pathname,
        main: html`<h1>${v.site.name}</h1>
<p class="wiki-note">A read-only view of the sandbox's Confluence, as ${v.user.displayName} sees it. Base URL <code>${deps.urls.siteBaseUrl(v.site.key)}</code></p>
<h2>Spaces</h2>
${spaces.length === 0 ? html`<p>No spaces you can see.</p>` : html`<ul class="wiki-list" id="spaces">${spaces.map((s) => html`<li><a href="${spaceUrl(v.site, s)}">${s.name}</a> <small>(${s.key})</small></li>`)}</ul>`}
<h2>Recently created</h2>
${recent.length === 0 ? html`<p>No pages yet.</p>` : html`<ul class="wiki-list" id="recent">${recent.map(({ p, s }) => html`<li><a href="${pageUrl(v.site, s, p)}">${p.title || '(untitled)'}</a> <small>in ${s.name}</small><br><span class="wiki-byline">${byline(v, p)}</span></li>`)}</ul>`}`,
      }),
    );
  };

  const spacePage = async (c: Context, next: Next) => {
    if (!wantsHtml(c)) return next();
    const v = await viewer(c);
    if (v instanceof Response) return v;
    const space = findSpace(v, c.req.param('key') ?? '');
    if (!space) return notFound(c, v, 'This space');
    const home = space.homepageId ? state.pages.get(space.homepageId) : undefined;
    return c.html(
      wikiFrame({
        title: space.name,
        site: v.site,
        siteHome: v.siteHome,
        user: v.user,
        here: new URL(c.req.url).pathname,
        nav: tree(v, space, null),
        main: html`<p class="wiki-crumbs"><a href="${v.siteHome}">${v.site.name}</a></p>
<h1>${space.name}</h1>
<p class="wiki-byline">Space key <code>${space.key}</code> · ${readablePages(v, space).length} page(s) you can see</p>
${home && canReadPage(state, v.user, home) ? html`<p>Home page: <a href="${pageUrl(v.site, space, home)}">${home.title}</a></p>` : ''}`,
      }),
    );
  };

  const pageView = async (c: Context, next: Next) => {
    if (!wantsHtml(c)) return next();
    const v = await viewer(c);
    if (v instanceof Response) return v;
    const space = findSpace(v, c.req.param('key') ?? '');
    const page = space ? state.pages.get(c.req.param('id') ?? '') : undefined;
    if (!space || !page || page.spaceId !== space.id || page.status === 'draft' || !canReadPage(state, v.user, page)) return notFound(c, v, 'This page');
    const crumbs: SandboxPage[] = [];
    for (let p = page.parentId ? state.pages.get(page.parentId) : undefined; p && crumbs.length < 32; p = p.parentId ? state.pages.get(p.parentId) : undefined) {
      if (canReadPage(state, v.user, p)) crumbs.unshift(p);
    }
    const body = page.body.representation === 'storage' ? storageToHtml(page.body.value) : null;
    return c.html(
      wikiFrame({
        title: page.title,
        site: v.site,
        siteHome: v.siteHome,
        user: v.user,
        here: new URL(c.req.url).pathname,
        nav: tree(v, space, page.id),
        main: html`<p class="wiki-crumbs"><a href="${v.siteHome}">${v.site.name}</a> / <a href="${spaceUrl(v.site, space)}">${space.name}</a>${crumbs.map((p) => html` / <a href="${pageUrl(v.site, space, p)}">${p.title}</a>`)}</p>
<article data-page-id="${page.id}">
<h1 id="page-title">${page.title || '(untitled)'}</h1>
${page.status !== 'current' ? html`<p class="wiki-note">This page is ${page.status}.</p>` : ''}
<p class="wiki-byline" id="page-byline">${byline(v, page)}</p>
<div class="wiki-body" id="page-body">${body === null ? html`<p class="wiki-note">This body is in ${page.body.representation} format, which the sandbox's view does not render:</p><pre>${page.body.value}</pre>` : raw(body)}</div>
</article>`,
      }),
    );
  };

  /** Other web links the API hands out (comment `webui`, `tinyui`) lead to the page's own URL. */
  const pageById = (id: string) => (c: Context, v: Viewer) => {
    const page = state.pages.get(id);
    const space = page ? state.spaces.get(page.spaceId) : undefined;
    if (!page || !space || page.siteKey !== v.site.key || !canReadPage(state, v.user, page)) return notFound(c, v, 'This page');
    return c.redirect(pageUrl(v.site, space, page), 302);
  };
  const redirectToPage = (idOf: (c: Context) => string | null) => async (c: Context, next: Next) => {
    if (!wantsHtml(c)) return next();
    const v = await viewer(c);
    if (v instanceof Response) return v;
    const id = idOf(c);
    return id === null ? notFound(c, v, 'This page') : pageById(id)(c, v);
  };

  app.get('/s/:site/wiki', siteHome);
  app.get('/s/:site/wiki/', siteHome);
  app.get('/s/:site/wiki/spaces/:key', spacePage);
  app.get('/s/:site/wiki/spaces/:key/overview', spacePage);
  app.get('/s/:site/wiki/spaces/:key/pages/:id', pageView);
  app.get('/s/:site/wiki/spaces/:key/pages/:id/:slug', pageView);
  app.get('/s/:site/wiki/pages/:id', redirectToPage((c) => c.req.param('id') ?? null));
  app.get(
    '/s/:site/wiki/x/:tiny',
    redirectToPage((c) => {
      const id = Buffer.from(c.req.param('tiny') ?? '', 'base64url').toString('utf8');
      return /^\d+$/.test(id) ? id : null;
    }),
  );
  // On the 3LO gateway path `_links.base` is `<origin>/ex/confluence/<cloudId>/wiki`; its web links lead
  // to the same view under the site's base URL.
  app.get('/ex/confluence/:cloudId/wiki/*', async (c, next) => {
    if (!wantsHtml(c)) return next();
    const site = state.siteByCloudId(c.req.param('cloudId'));
    const rest = new URL(c.req.url).pathname.replace(/^\/ex\/confluence\/[^/]+\/wiki/, '');
    if (!site || !/^\/(spaces|pages|x)\//.test(rest)) return next();
    return c.redirect(`${sitePath(site)}${rest}`, 302);
  });
}
