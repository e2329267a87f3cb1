import type { Hono } from 'hono';
import type { SandboxDeps } from '../sandbox-deps.js';

/** Prefix of the cookie-less iframe proxy: `<origin>/_iframe/<site>/<appKey>/<path relative to the app baseUrl>`. */
export function iframeProxyPrefix(origin: string, siteKey: string, appKey: string): string {
  return `${origin}/_iframe/${encodeURIComponent(siteKey)}/${encodeURIComponent(appKey)}`;
}

/** Rewrites a signed app URL onto the proxy; the path relative to the app baseUrl and the query stay as signed. */
export function proxiedIframeUrl(origin: string, siteKey: string, appKey: string, appBaseUrl: string, signedUrl: string): string {
  const base = appBaseUrl.replace(/\/+$/, '');
  if (!signedUrl.startsWith(base)) return signedUrl;
  return `${iframeProxyPrefix(origin, siteKey, appKey)}${signedUrl.slice(base.length)}`;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'cookie']);

/**
 * "Third-party cookies blocked" mode (§9.8.7 [I]): forwards iframe requests to the app with no `Cookie`
 * header and strips `Set-Cookie` from the answers, so tests prove an app works without cookies.
 */
export function registerIframeProxyRoutes(deps: SandboxDeps, app: Hono): void {
  app.all('/_iframe/:site/:appKey/*', async (c) => {
    const install = deps.state.installs.get(deps.state.installKey(c.req.param('site'), c.req.param('appKey')));
    if (!install || !install.installed) return c.text('Not Found', 404);
    const url = new URL(c.req.url);
    const prefix = new URL(iframeProxyPrefix(deps.origin, c.req.param('site'), c.req.param('appKey'))).pathname;
    const rest = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : '/';
    const target = `${install.descriptor.baseUrl.replace(/\/+$/, '')}${rest || '/'}${url.search}`;
    const headers = new Headers();
    c.req.raw.headers.forEach((v, k) => {
      if (!HOP_BY_HOP.has(k.toLowerCase())) headers.set(k, v);
    });
    const method = c.req.method;
    const body = method === 'GET' || method === 'HEAD' ? undefined : await c.req.arrayBuffer();
    let res: Response;
    try {
      res = await deps.outboundFetch(target, { method, headers, redirect: 'manual', ...(body ? { body } : {}) });
    } catch (e) {
      return c.text(`The app could not be reached: ${(e as Error).message}`, 502);
    }
    const out = new Headers();
    res.headers.forEach((v, k) => {
      const key = k.toLowerCase();
      if (key !== 'set-cookie' && !HOP_BY_HOP.has(key) && key !== 'content-encoding') out.set(k, v);
    });
    const location = res.headers.get('location');
    if (location && location.startsWith(install.descriptor.baseUrl.replace(/\/+$/, ''))) {
      out.set('location', proxiedIframeUrl(deps.origin, install.siteKey, install.appKey, install.descriptor.baseUrl, location));
    }
    return new Response(method === 'HEAD' ? null : await res.arrayBuffer(), { status: res.status, headers: out });
  });
}
