import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import type { SandboxDeps } from '../sandbox-deps.js';
import { sessionUser } from './session.js';
import { isSiteAdmin, canUseSite } from '../state/permissions.js';
import { readForm } from '../oauth/oauth-error.js';
import { installApp, setAppEnabled, uninstallApp } from '../connect/install-app.js';

/**
 * "Manage apps" in the browser (the UPM "Upload app" dialog, simplified): a signed-in site admin installs,
 * enables, disables or uninstalls a Connect app. Same code path as the control API.
 */
export function registerManageAppsRoutes(deps: SandboxDeps, app: Hono): void {
  const page = (c: Context, title: string, message: string, status: 200 | 400 | 403 | 502) =>
    c.html(html`<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p id="message">${message}</p><p><a href="/">Back</a></p></body></html>`, status);

  app.post('/s/:site/manage-apps', async (c) => {
    const siteKey = c.req.param('site');
    const user = sessionUser(deps, c);
    if (!user) return c.redirect(`/login?returnTo=${encodeURIComponent('/')}`, 302);
    if (!deps.state.siteByKey(siteKey) || !canUseSite(deps.state, user, siteKey) || !isSiteAdmin(user)) {
      return page(c, 'Access denied', 'Only site administrators can manage apps.', 403);
    }
    const form = await readForm(c);
    const action = form.get('action') ?? 'install';
    if (action === 'install') {
      const descriptorUrl = form.get('descriptorUrl') ?? '';
      const r = await installApp(deps, { siteKey, descriptorUrl, installedBy: user.accountId });
      return r.ok ? page(c, 'App installed', `${r.install.descriptor.name ?? r.install.appKey} is installed on ${siteKey}.`, 200) : page(c, 'Install failed', `${r.code}: ${r.message}`, r.code === 'DESCRIPTOR_INVALID' ? 400 : 502);
    }
    const appKey = form.get('appKey') ?? '';
    const r = action === 'enable' ? await setAppEnabled(deps, siteKey, appKey, true) : action === 'disable' ? await setAppEnabled(deps, siteKey, appKey, false) : action === 'uninstall' ? await uninstallApp(deps, siteKey, appKey) : null;
    if (!r) return page(c, 'Unknown action', action, 400);
    return r.ok ? page(c, 'Done', `${appKey}: ${action === 'uninstall' ? 'uninstalled' : `${action}d`}.`, 200) : page(c, 'Failed', r.message, 400);
  });
}
