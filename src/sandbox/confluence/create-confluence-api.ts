import { Hono } from 'hono';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { SandboxEnv } from '../http/sandbox-env.js';
import { registerV2Routes } from './v2-routes.js';
import { registerV1ContentRoutes } from './v1-content-routes.js';
import { registerV1UserRoutes } from './v1-user-routes.js';
import { registerRestrictionRoutes } from './restriction-routes.js';
import { registerCommentRoutes } from './comment-routes.js';

const SITE_PATH = /^\/s\/([^/]+)\/wiki(?:\/|$)/;
const GATEWAY_PATH = /^\/ex\/confluence\/([^/]+)\/wiki(?:\/|$)/;

/**
 * The Confluence REST API of every site. Mounted twice: at `/s/<site>/wiki` (site base URL) and at
 * `/ex/confluence/<cloudId>/wiki` (the api.atlassian.com-style 3LO gateway path).
 */
export function createConfluenceApi(deps: SandboxDeps): Hono<SandboxEnv> {
  const api = new Hono<SandboxEnv>();
  api.use('*', async (c, next) => {
    const path = new URL(c.req.url).pathname;
    const siteMatch = SITE_PATH.exec(path);
    const gatewayMatch = GATEWAY_PATH.exec(path);
    const site = siteMatch ? deps.state.siteByKey(decodeURIComponent(siteMatch[1]!)) : gatewayMatch ? deps.state.siteByCloudId(decodeURIComponent(gatewayMatch[1]!)) : undefined;
    if (!site) return c.json({ code: 404, message: 'Site not found' }, 404);
    c.set('site', site);
    c.set('via', siteMatch ? 'site' : 'gateway');
    c.set('apiBase', siteMatch ? deps.urls.siteBaseUrl(site.key) : deps.urls.gatewayBaseUrl(site.cloudId));
    await next();
  });
  registerV2Routes(deps, api);
  registerV1ContentRoutes(deps, api);
  registerV1UserRoutes(deps, api);
  registerRestrictionRoutes(deps, api);
  registerCommentRoutes(deps, api);
  return api;
}
