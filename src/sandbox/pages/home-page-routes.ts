import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { SandboxDeps } from '../sandbox-deps.js';
import { sessionUser } from './session.js';
import { SANDBOX_FAVICON_SVG, SANDBOX_HEAD } from './page-head.js';

/** `GET /` (and the favicon): who is signed in, the sites, and links to every installed app's pages (for the demo). */
export function registerHomePageRoutes(deps: SandboxDeps, app: Hono): void {
  // Every sandbox page asks for it (page-head.ts links it); without it each one logged a 404.
  app.get('/favicon.ico', (c) => c.body(SANDBOX_FAVICON_SVG, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=86400' }));
  app.get('/', (c) => {
    const user = sessionUser(deps, c);
    const sites = [...deps.state.sites.values()];
    return c.html(html`<!doctype html>
<html><head><meta charset="utf-8"><title>onbehalf sandbox</title>${SANDBOX_HEAD}</head>
<body>
<h1>onbehalf sandbox</h1>
<p>A local emulator of Confluence Cloud and Atlassian's auth servers.
${user ? html`Signed in as <strong id="current-user">${user.displayName}</strong>. <form method="post" action="/logout" style="display:inline"><button>Sign out</button></form>` : html`<a href="/login?returnTo=%2F">Sign in</a> as a seeded user.`}</p>
<p><a href="/_sandbox/discovery">Discovery document</a> (every endpoint, site and user)</p>
${sites.map((site) => {
  const installs = [...deps.state.installs.values()].filter((i) => i.siteKey === site.key && i.installed);
  const admin = user !== undefined && user.groups.includes('site-admins') && (user.sites === null || user.sites.includes(site.key));
  const base = deps.urls.siteBaseUrl(site.key);
  return html`<section data-site="${site.key}">
<h2>${site.name}</h2>
<p><a href="${new URL(base).pathname}">Open ${site.name}'s Confluence</a> (spaces and pages, read-only)</p>
<p>Base URL <code>${base}</code> · cloudId <code>${site.cloudId}</code></p>
${installs.length === 0
  ? html`<p>No Connect apps installed.</p>`
  : html`<ul>${installs.map((i) => {
      const m = i.descriptor.modules ?? {};
      const pages = [...(m.generalPages ?? []), ...(m.configurePage ? [m.configurePage] : []), ...(m.postInstallPage ? [m.postInstallPage] : [])];
      return html`<li>${i.descriptor.name ?? i.appKey} (${i.enabled ? 'enabled' : 'disabled'}): ${pages.map(
        (p) => html`<a href="${base}/plugins/servlet/ac/${encodeURIComponent(i.appKey)}/${encodeURIComponent(p.key)}">${p.name?.value ?? p.key}</a> `,
      )}
${admin ? html`<form method="post" action="/s/${site.key}/manage-apps" style="display:inline"><input type="hidden" name="appKey" value="${i.appKey}">
<button name="action" value="${i.enabled ? 'disable' : 'enable'}">${i.enabled ? 'Disable' : 'Enable'}</button>
<button name="action" value="uninstall">Uninstall</button></form>` : ''}</li>`;
    })}</ul>`}
${admin ? html`<form method="post" action="/s/${site.key}/manage-apps"><input type="hidden" name="action" value="install">
<label>Install a Connect app from its descriptor URL <input name="descriptorUrl" type="url" size="60" required></label>
<button>Install</button></form>` : ''}
</section>`;
})}
</body></html>`);
  });
}
