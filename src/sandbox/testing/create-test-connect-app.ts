import { Hono } from 'hono';

/** What the test app saw: one entry per inbound request (lifecycle, webhook, page). */
export interface ReceivedRequest {
  path: string;
  url: string;
  method: string;
  authorization: string | null;
  cookie: string | null;
  body: unknown;
}

export interface TestConnectApp {
  app: Hono;
  baseUrl: string;
  descriptorUrl: string;
  descriptor: Record<string, unknown>;
  received: ReceivedRequest[];
  /** Status the `installed` endpoint answers (default 204). */
  setInstalledStatus(status: number): void;
  /** Routes requests for `baseUrl`'s origin to this app, everything else to `fallback`. */
  fetchRouter(fallback?: typeof fetch): typeof fetch;
}

/**
 * A tiny Connect app for tests and demos: serves its descriptor, records lifecycle callbacks, webhooks and
 * page loads. It verifies nothing itself; tests assert on `received`.
 */
export function createTestConnectApp(options: { baseUrl: string; key?: string; scopes?: string[]; descriptor?: Record<string, unknown> }): TestConnectApp {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, '');
  const key = options.key ?? 'com.example.sandbox-test-app';
  const descriptor: Record<string, unknown> = options.descriptor ?? {
    key,
    name: 'Sandbox Test App',
    baseUrl,
    apiVersion: 1,
    authentication: { type: 'jwt' },
    apiMigrations: { 'signed-install': true, 'context-qsh': true, gdpr: false },
    lifecycle: { installed: '/installed', uninstalled: '/uninstalled', enabled: '/enabled', disabled: '/disabled' },
    scopes: options.scopes ?? ['READ', 'WRITE', 'ACT_AS_USER', 'ACCESS_EMAIL_ADDRESSES'],
    modules: {
      webhooks: [
        { event: 'page_created', url: '/webhooks/page-created' },
        { event: 'page_updated', url: '/webhooks/page-updated' },
      ],
      generalPages: [{ key: 'main', name: { value: 'Main' }, url: '/main?from={ac.from}', location: 'none' }],
      configurePage: { key: 'configure', name: { value: 'Configure' }, url: '/configure' },
    },
  };
  const received: ReceivedRequest[] = [];
  let installedStatus = 204;
  const app = new Hono();
  app.get(`${basePath}/atlassian-connect.json`, (c) => c.json(descriptor));
  app.all('*', async (c) => {
    const url = new URL(c.req.url);
    const text = await c.req.text().catch(() => '');
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // keep text
    }
    const path = url.pathname.slice(basePath.length) || '/';
    received.push({ path, url: c.req.url, method: c.req.method, authorization: c.req.header('authorization') ?? null, cookie: c.req.header('cookie') ?? null, body });
    if (path === '/installed') return c.body(null, installedStatus as 204);
    // Pages set a session cookie, as a cookie-dependent app would; the blocked-cookies mode strips it.
    if (c.req.method === 'GET') return c.html('<!doctype html><p>app page</p>', 200, { 'set-cookie': 'app_session=s1; Path=/; SameSite=None; Secure' });
    return c.body(null, 204);
  });
  const origin = new URL(baseUrl).origin;
  return {
    app,
    baseUrl,
    descriptorUrl: `${baseUrl}/atlassian-connect.json`,
    descriptor,
    received,
    setInstalledStatus: (s) => void (installedStatus = s),
    fetchRouter: (fallback = fetch) =>
      (async (input: string | URL | Request, init?: RequestInit) => {
        const req = input instanceof Request && init === undefined ? input : new Request(input, init);
        return new URL(req.url).origin === origin ? app.fetch(req) : fallback(req);
      }) as typeof fetch,
  };
}
