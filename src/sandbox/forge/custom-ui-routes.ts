import { randomUUID } from 'node:crypto';
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { Context, Hono } from 'hono';
import { html, raw } from 'hono/html';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { SandboxSpace, SandboxUser } from '../state/types.js';
import { canReadSpace, canUseSite, isSiteAdmin } from '../state/permissions.js';
import { sessionUser } from '../pages/session.js';
import { SANDBOX_HEAD } from '../pages/page-head.js';
import { invokeRemote, remoteUrl } from './invoke-remote.js';
import { forgeApiBaseUrl, type UiContext } from './fit-claims.js';
import { userTokenFor } from './forge-tokens.js';
import { HOST_SCRIPT, IFRAME_SHIM } from './custom-ui-scripts.js';
import type { ForgeInstallation, ForgePageModule } from './forge-types.js';

/**
 * Forge Custom UI in the sandbox's Confluence (§10.7, §10.9.9): `/wiki/apps/<appId>/<envId>/<route>` (global
 * pages and, admin-only, global settings) and `/wiki/spaces/<key>/apps/<appId>/<envId>/<route>` (space pages)
 * show the app's resource in a sandboxed iframe whose `index.html` gets the bridge shim as its first script, so
 * an unmodified `@forge/bridge` bundle runs. Bridge calls come back here and run as the signed-in user.
 */

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** 500 KB: the request limit of frontend invocations (§10.3). */
const MAX_REQUEST_BYTES = 500 * 1024;
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.map': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.gif': 'image/gif',
  '.ico': 'image/x-icon', '.woff': 'font/woff', '.woff2': 'font/woff2', '.txt': 'text/plain; charset=utf-8',
};

interface Resolved {
  inst: ForgeInstallation;
  module: ForgePageModule;
  space: SandboxSpace | null;
  user: SandboxUser;
  pagePath: string;
}

type Lookup = { ok: true; r: Resolved } | { ok: false; response: Response | Promise<Response> };

function page(c: Context, status: 403 | 404, title: string, text: string): Response | Promise<Response> {
  return c.html(html`<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>${SANDBOX_HEAD}</head><body><header><strong>Confluence (onbehalf sandbox)</strong></header><main><h1 id="forge-page-error">${title}</h1><p>${text}</p></main></body></html>`, status);
}

export function registerCustomUiRoutes(deps: SandboxDeps, app: Hono): void {
  const { state } = deps;

  const lookup = (c: Context, forBridge: boolean): Lookup => {
    const site = state.siteByKey(c.req.param('site') ?? '');
    const appUuid = c.req.param('appId') ?? '';
    const envUuid = c.req.param('envId') ?? '';
    const spaceKey = c.req.param('spaceKey');
    const notFound = (): Lookup => ({ ok: false, response: forBridge ? c.json({ message: 'Not found' }, 404) : page(c, 404, 'Page not found', 'No app page is installed at this address.') });
    if (!site) return notFound();
    const inst = [...state.forgeInstallations.values()].find((i) => i.installed && i.siteKey === site.key && i.appId.endsWith(`/${appUuid}`) && i.environmentId.endsWith(`/${envUuid}`));
    const wanted = spaceKey === undefined ? ['confluence:globalPage', 'confluence:globalSettings'] : ['confluence:spacePage'];
    const module = inst?.current.manifest.pages.find((p) => p.route === c.req.param('route') && wanted.includes(p.type));
    if (!inst || !module) return notFound();
    const space = spaceKey === undefined ? null : (state.spaceByKey(site.key, spaceKey) ?? null);
    if (spaceKey !== undefined && !space) return notFound();
    const user = sessionUser(deps, c);
    if (!user) {
      if (forBridge) return { ok: false, response: c.json({ message: 'Your sandbox session ended; sign in again' }, 401) };
      const u = new URL(c.req.url);
      return { ok: false, response: c.redirect(`/login?returnTo=${encodeURIComponent(u.pathname + u.search)}`, 302) };
    }
    const allowed = canUseSite(state, user, site.key) && (module.type !== 'confluence:globalSettings' || isSiteAdmin(user)) && (space === null || canReadSpace(user, space));
    if (!allowed) return { ok: false, response: forBridge ? c.json({ message: 'Forbidden' }, 403) : page(c, 403, 'Access denied', 'You do not have permission to view this page.') };
    const base = deps.urls.siteBaseUrl(site.key);
    const pagePath = `${new URL(base).pathname}${space ? `/spaces/${encodeURIComponent(space.key)}` : ''}/apps/${appUuid}/${envUuid}/${encodeURIComponent(module.route)}`;
    return { ok: true, r: { inst, module, space, user, pagePath } };
  };

  const uiContext = (r: Resolved): UiContext => ({ principal: r.user, moduleType: r.module.type, moduleKey: r.module.key, space: r.space });

  const hostPage = (c: Context) => {
    const l = lookup(c, false);
    if (!l.ok) return l.response;
    const { inst, module, space, user, pagePath } = l.r;
    const site = state.siteByKey(inst.siteKey)!;
    const instUuid = inst.installationId.split('/').pop()!;
    const resourceUrl = module.resource ? `${deps.origin}/forge-resources/${instUuid}/${encodeURIComponent(module.resource)}/index.html` : null;
    const context = {
      accountId: user.accountId,
      accountType: 'licensed',
      cloudId: site.cloudId,
      siteUrl: deps.urls.siteBaseUrl(site.key).replace(/\/wiki$/, ''),
      moduleKey: module.key,
      localId: randomUUID(),
      locale: user.locale.replace('-', '_'),
      timezone: user.timeZone ?? 'UTC',
      environmentId: inst.environmentId.split('/').pop(),
      environmentType: inst.environmentType,
      appVersion: inst.current.version,
      license: null,
      extension: { type: module.type, ...(space ? { space: { key: space.key, id: space.id } } : {}) },
    };
    const data = JSON.stringify({ context, pagePath, bridgeUrl: `${pagePath}/_bridge` }).replace(/</g, '\\u003c');
    return c.html(html`<!doctype html>
<html><head><meta charset="utf-8"><title>${module.title} - ${site.name}</title>${SANDBOX_HEAD}
<style>.forge-flag{margin:.5rem 0;padding:.5rem .75rem;border-radius:4px;background:#e9f2ff}.forge-flag-error{background:#ffeceb}.forge-flag-success{background:#dcfff1}#forge-app-frame{width:100%;height:70vh;min-height:420px;border:0;background:#fff;border-radius:8px}</style></head>
<body>
<header><strong>${site.name}</strong> · signed in as <span id="current-user">${user.displayName}</span></header>
<main>
<h1>${module.title}</h1>
<div id="forge-flags" aria-live="polite"></div>
${resourceUrl
  ? html`<iframe id="forge-app-frame" title="${module.title}" sandbox="allow-scripts allow-forms allow-popups allow-downloads" src="${resourceUrl}"></iframe>`
  : html`<p id="forge-no-resource">This module has no Custom UI resource.</p>`}
</main>
<script type="application/json" id="forge-host-data">${raw(data)}</script>
<script>${raw(HOST_SCRIPT)}</script>
</body></html>`);
  };

  app.get('/s/:site/wiki/apps/:appId/:envId/:route', hostPage);
  app.get('/s/:site/wiki/spaces/:spaceKey/apps/:appId/:envId/:route', hostPage);
  // An app's own sub-paths (its router, createHistory) stay on its page.
  app.get('/s/:site/wiki/apps/:appId/:envId/:route/*', hostPage);
  app.get('/s/:site/wiki/spaces/:spaceKey/apps/:appId/:envId/:route/*', hostPage);

  const bridge = async (c: Context): Promise<Response> => {
    if (c.req.header('x-onbehalf-sandbox-bridge') !== '1') return c.json({ message: 'bridge calls come from the sandbox host page' }, 400);
    const l = lookup(c, true);
    if (!l.ok) return l.response;
    const r = l.r;
    const text = await c.req.text();
    if (Buffer.byteLength(text) > MAX_REQUEST_BYTES + 4096) return c.json({ success: false, error: { status: 413, message: 'The request is larger than 500 KB' } });
    let payload: Record<string, unknown>;
    try {
      payload = (JSON.parse(text) ?? {}) as Record<string, unknown>;
    } catch {
      return c.json({ message: 'body must be JSON' }, 400);
    }
    const name = c.req.param('name');
    if (name === 'invoke') return c.json(await invoke(r, payload));
    if (name === 'fetch-product') return c.json(await fetchProduct(r, payload));
    if (name === 'fetch-remote') return c.json(await fetchRemote(r, payload));
    return c.json({ message: `unknown bridge call ${name}` }, 404);
  };
  app.post('/s/:site/wiki/apps/:appId/:envId/:route/_bridge/:name', bridge);
  app.post('/s/:site/wiki/spaces/:spaceKey/apps/:appId/:envId/:route/_bridge/:name', bridge);

  /** `invokeRemote` (§10.7): through the module's resolver endpoint, 25 s, no retry; errors as the bridge expects. */
  const invoke = async (r: Resolved, p: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const failure = (status: number | null, message: string, code = 'INVALID_REMOTE_INVOCATION_ERROR') => ({ success: false, error: { status, message, code } });
    if (p['invokeType'] !== 'ui-remote-fetch') return failure(null, `invokeType "${String(p['invokeType'])}" is not emulated (only invokeRemote)`, 'NOT_EMULATED');
    const endpoint = r.inst.current.manifest.endpoints.find((e) => e.key === r.module.resolverEndpoint);
    if (!endpoint) return failure(null, `module "${r.module.key}" has no resolver endpoint to invoke`);
    const method = typeof p['method'] === 'string' ? p['method'].toUpperCase() : '';
    if (!METHODS.has(method)) return failure(null, 'method must be one of GET, POST, PUT, PATCH, DELETE');
    if (typeof p['path'] !== 'string' || p['path'] === '') return failure(null, 'path is required');
    const url = remoteUrl(r.inst.current, endpoint, p['path']);
    if (!url) return failure(null, `path "${p['path']}" does not stay on the remote`);
    const rawBody = p['body'];
    const body = method === 'GET' || rawBody === undefined || rawBody === null ? undefined : typeof rawBody === 'string' ? rawBody : JSON.stringify(rawBody);
    if (body !== undefined && Buffer.byteLength(body) > MAX_REQUEST_BYTES) return failure(413, 'The request is larger than 500 KB');
    const headers = p['headers'] && typeof p['headers'] === 'object' ? Object.fromEntries(Object.entries(p['headers'] as Record<string, unknown>).filter(([, v]) => typeof v === 'string')) as Record<string, string> : {};
    const out = await invokeRemote(deps, { installation: r.inst, version: r.inst.current, endpoint, method, url, body, headers, module: { type: r.module.type, key: r.module.key }, ui: uiContext(r), timeoutMs: deps.settings.forgeUiTimeoutMs });
    if (!out.ok) return failure(out.status, out.message, out.reason);
    return { success: true, payload: { status: out.status, headers: out.headers, body: out.body } };
  };

  const initOf = (p: Record<string, unknown>) => {
    const init = (p['fetchRequestInit'] ?? {}) as { method?: unknown; body?: unknown; headers?: unknown };
    const headers = new Headers();
    if (Array.isArray(init.headers)) for (const pair of init.headers) if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string') headers.set(pair[0], pair[1]);
    const method = typeof init.method === 'string' ? init.method.toUpperCase() : 'GET';
    const body = typeof init.body === 'string' && method !== 'GET' && method !== 'HEAD' ? init.body : undefined;
    return { method, headers, body };
  };
  const asBridgeResponse = async (res: Response) => {
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    return { body: await res.text(), headers, status: res.status, statusText: res.statusText, isAttachment: false };
  };

  /** `requestConfluence` from Custom UI: the product API as the viewing user, with the app's scopes. */
  const fetchProduct = async (r: Resolved, p: Record<string, unknown>) => {
    if (p['product'] !== 'confluence') return { body: JSON.stringify({ message: 'only requestConfluence is emulated' }), headers: { 'content-type': 'application/json' }, status: 400, statusText: 'Bad Request', isAttachment: false };
    const restPath = typeof p['restPath'] === 'string' && p['restPath'].startsWith('/') && !p['restPath'].startsWith('//') ? p['restPath'] : null;
    if (!restPath) return { body: JSON.stringify({ message: 'restPath must start with /' }), headers: { 'content-type': 'application/json' }, status: 400, statusText: 'Bad Request', isAttachment: false };
    const { method, headers, body } = initOf(p);
    const site = state.siteByKey(r.inst.siteKey)!;
    headers.set('authorization', `Bearer ${userTokenFor(deps, r.inst, r.user.accountId).token}`);
    const res = await app.fetch(new Request(`${forgeApiBaseUrl(deps, site.cloudId)}${restPath}`, { method, headers, ...(body !== undefined ? { body } : {}) }));
    return asBridgeResponse(res);
  };

  /** `requestRemote`: straight to the remote with a FIT and no OAuth tokens (§10.7). */
  const fetchRemote = async (r: Resolved, p: Record<string, unknown>) => {
    const remoteKey = typeof p['remoteKey'] === 'string' ? p['remoteKey'] : '';
    const init = (p['fetchRequestInit'] ?? {}) as { path?: unknown };
    const remote = r.inst.current.manifest.remotes.find((x) => x.key === remoteKey);
    const endpoint = { key: remoteKey, remote: remoteKey, routePath: null, auth: { appSystemToken: false, appUserToken: false } };
    const url = remote && typeof init.path === 'string' ? remoteUrl(r.inst.current, endpoint, init.path) : null;
    if (!url) return { body: JSON.stringify({ message: 'unknown remote or path' }), headers: { 'content-type': 'application/json' }, status: 400, statusText: 'Bad Request', isAttachment: false };
    const { method, headers, body } = initOf(p);
    const out = await invokeRemote(deps, { installation: r.inst, version: r.inst.current, endpoint, method, url, body, headers: Object.fromEntries(headers), module: { type: r.module.type, key: r.module.key }, ui: uiContext(r), timeoutMs: deps.settings.forgeUiTimeoutMs });
    if (!out.ok) return { body: JSON.stringify({ message: out.message }), headers: { 'content-type': 'application/json' }, status: out.status ?? 502, statusText: 'Error', isAttachment: false };
    return { body: out.body === undefined ? '' : JSON.stringify(out.body), headers: Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k, v.join(',')])), status: out.status, statusText: '', isAttachment: false };
  };

  /** The uploaded Custom UI files. Opaque-origin iframes load module scripts with CORS, hence `*`. */
  app.get('/forge-resources/:inst/:resource/*', async (c) => {
    const inst = [...state.forgeInstallations.values()].find((i) => i.installed && i.installationId.endsWith(`/${c.req.param('inst')}`));
    const key = decodeURIComponent(c.req.param('resource'));
    const notFound = () => c.text('Not Found', 404, { 'access-control-allow-origin': '*' });
    if (!inst || !inst.current.manifest.resources.some((r) => r.key === key)) return notFound();
    const prefix = `/forge-resources/${c.req.param('inst')}/${c.req.param('resource')}/`;
    const rel = decodeURIComponent(new URL(c.req.url).pathname.slice(prefix.length)) || 'index.html';
    const dir = inst.current.resourceDirs[key];
    let content: Buffer;
    let file = rel;
    if (dir === undefined) {
      if (rel !== 'index.html') return notFound();
      content = Buffer.from('<!doctype html><html><head><meta charset="utf-8"></head><body><p>This resource was not uploaded to the sandbox (install with "resources").</p></body></html>');
    } else {
      const root = await realpath(dir);
      let full: string;
      try {
        full = await realpath(resolve(root, rel));
      } catch {
        return notFound();
      }
      // Never serve outside the uploaded folder (`..`, or a link that points out of it).
      if (full !== root && !full.startsWith(root + sep)) return notFound();
      if ((await stat(full)).isDirectory()) full = join(full, 'index.html');
      try {
        content = await readFile(full);
      } catch {
        return notFound();
      }
      file = full;
    }
    const type = MIME[extname(file).toLowerCase()] ?? 'application/octet-stream';
    const headers = { 'content-type': type, 'access-control-allow-origin': '*', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
    if (type.startsWith('text/html')) {
      // The shim must run before any app script: several bridge modules read `__bridge` when they load.
      const text = content.toString('utf8');
      const shim = `<script>${IFRAME_SHIM}</script>`;
      const injected = /<head[^>]*>/i.test(text) ? text.replace(/<head[^>]*>/i, (m) => `${m}${shim}`) : `${shim}${text}`;
      return c.body(injected, 200, headers);
    }
    return c.body(new Uint8Array(content), 200, headers);
  });
}
