import { Hono } from 'hono';
import { systemClock, type Clock } from '../clock.js';
import { createSandboxState, type SandboxState } from './state/create-sandbox-state.js';
import { defaultSeed } from './seed/default-seed.js';
import { parseSeed, type SandboxSeed } from './seed/seed-schema.js';
import type { PageEventInfo, SandboxDeps, SandboxSettings } from './sandbox-deps.js';
import { createSandboxUrls } from './sandbox-urls.js';
import { createCounters } from './control/create-counters.js';
import { createFaults } from './faults/create-faults.js';
import { createInstallKeys, type InstallKeys } from './connect/create-install-keys.js';
import { createConfluenceApi } from './confluence/create-confluence-api.js';
import { registerImpersonationRoutes } from './oauth/impersonation-routes.js';
import { registerThreeLoRoutes } from './oauth/three-lo-routes.js';
import { registerSignInRoutes } from './pages/sign-in-routes.js';
import { registerModulePageRoutes } from './pages/module-page-routes.js';
import { registerIframeProxyRoutes } from './pages/iframe-proxy-routes.js';
import { registerHomePageRoutes } from './pages/home-page-routes.js';
import { registerManageAppsRoutes } from './pages/manage-apps-routes.js';
import { registerWikiViewRoutes } from './pages/wiki-view-routes.js';
import { createWebhookDispatcher } from './connect/create-webhook-dispatcher.js';
import { createControl, type SandboxControl } from './control/create-control.js';
import { registerControlRoutes } from './control/control-routes.js';
import { faultsMiddleware, SandboxDroppedConnection } from './faults/faults-middleware.js';
import { createFitKeys, type FitKeys } from './forge/fit-keys.js';
import { createForge, type SandboxForge } from './forge/create-forge.js';
import { registerForgeControlRoutes } from './forge/forge-control-routes.js';

export interface CreateSandboxOptions {
  /** Time source; the sandbox adds its own offset on top so `advanceClock` works with any clock. */
  clock?: Clock;
  seed?: SandboxSeed;
  /** The origin the sandbox answers as (no trailing slash). Default `http://sandbox.localhost`. */
  origin?: string;
  /** For outbound calls to apps (descriptor, lifecycle, webhooks). Default: global fetch. */
  fetch?: typeof fetch;
  settings?: Partial<SandboxSettings>;
  /** RSA keys for signed installs; pass one `createInstallKeys()` to several sandboxes to generate the key once. */
  installKeys?: InstallKeys;
  /** Keys for Forge invocation tokens; pass one `createFitKeys()` to several sandboxes to generate it once. */
  forgeKeys?: FitKeys;
}

export interface SandboxClock extends Clock {
  /** Moves sandbox time forward (tokens, codes, refresh-token leeway and expiry all follow). */
  advance(ms: number): void;
}

export interface Sandbox {
  app: Hono;
  /** In-process fetch: requests to `origin` are answered by `app.fetch` (no socket); others go to the outbound fetch. */
  fetch: typeof fetch;
  origin: string;
  clock: SandboxClock;
  control: SandboxControl;
  /** The in-memory world (read-mostly; prefer `control` for changes). */
  state: SandboxState;
  /** The Forge platform: installs, invocations, deliveries (docs/sandbox.md, "Forge"). */
  forge: SandboxForge;
}

export const DEFAULT_SETTINGS: SandboxSettings = {
  refreshTokenReuseLeewayMs: 10 * 60 * 1000,
  refreshTokenInactivityMs: 90 * 24 * 3600 * 1000,
  refreshTokenAbsoluteMs: 365 * 24 * 3600 * 1000,
  accessTokenTtlSeconds: 3600,
  impersonationTokenTtlSeconds: 900,
  authorizationCodeTtlMs: 10 * 60 * 1000,
  jwtLeewaySeconds: 30,
  installMode: 'signed',
  webhookQuery: 'lic=none',
  iframeCookies: 'allowed',
  forgeOfflineTokenTtlSeconds: 3600,
  forgeOfflineTokenLimitPerMinute: 1000,
  forgeContextIdForm: 'any',
  forgeEventTimeoutMs: 5000,
  forgeEventMaxRetries: 4,
  forgeEventRetryDelayMs: 60_000,
  forgeUiTimeoutMs: 25_000,
};

export function createSandbox(options: CreateSandboxOptions = {}): Sandbox {
  const origin = (options.origin ?? 'http://sandbox.localhost').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+$/.test(origin)) throw new Error(`createSandbox: origin must be scheme://host[:port] without a path, got "${origin}"`);
  const base = options.clock ?? systemClock;
  let offset = 0;
  const clock: SandboxClock = {
    now: () => base.now() + offset,
    advance: (ms) => {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance() needs a non-negative number of ms, got ${ms}`);
      offset += ms;
    },
  };
  const seed = parseSeed(options.seed ?? defaultSeed);
  const state = createSandboxState(seed, clock);
  const listeners: ((info: PageEventInfo) => void)[] = [];
  const outboundFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const deps: SandboxDeps = {
    origin,
    clock,
    state,
    settings: { ...DEFAULT_SETTINGS, ...options.settings },
    counters: createCounters(),
    faults: createFaults(clock),
    installKeys: options.installKeys ?? createInstallKeys(),
    forgeKeys: options.forgeKeys ?? createFitKeys(),
    outboundFetch,
    pageEvents: {
      emit: (info) => listeners.forEach((l) => l(info)),
      on: (l) => void listeners.push(l),
    },
    urls: createSandboxUrls(origin),
  };

  const app = new Hono();
  app.use('*', faultsMiddleware(deps));

  app.get('/s/:site/_edge/tenant_info', (c) => {
    const site = state.siteByKey(c.req.param('site'));
    return site ? c.json({ cloudId: site.cloudId }) : c.json({ code: 404, message: 'Site not found' }, 404);
  });
  app.get('/connect-install-keys/:kid', async (c) => {
    const pem = await deps.installKeys.publicPem(c.req.param('kid'));
    return pem ? c.text(pem, 200, { 'content-type': 'application/x-pem-file' }) : c.text('Not Found', 404);
  });

  const api = createConfluenceApi(deps);
  registerWikiViewRoutes(deps, app); // before the API: its routes pass anything but a browser's request on to it
  app.route('/s/:site/wiki', api);
  app.route('/ex/confluence/:cloudId/wiki', api);
  registerImpersonationRoutes(deps, app);
  const threeLo = registerThreeLoRoutes(deps, app);
  registerSignInRoutes(deps, app);
  const webhooks = createWebhookDispatcher(deps);
  const forge = createForge(deps, app);
  const reset = (): void => {
    // Swap every collection for a freshly seeded one; the state object (and its methods) stays the same.
    const fresh = createSandboxState(seed, clock) as unknown as Record<string, unknown>;
    const target = state as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(fresh)) if (v instanceof Map) target[k] = v;
    deps.counters.reset();
    deps.faults.clear();
    forge.deliveries.reset();
    Object.assign(deps.settings, DEFAULT_SETTINGS, options.settings);
  };
  const control = createControl(deps, { webhooks, threeLo, advanceClock: (ms) => {
      clock.advance(ms);
      // Retries and scheduled triggers that fell due in the jump start now.
      forge.deliveries.tick();
    }, reset });
  registerModulePageRoutes(deps, app);
  registerIframeProxyRoutes(deps, app);
  registerHomePageRoutes(deps, app);
  registerManageAppsRoutes(deps, app);
  registerControlRoutes(deps, app, control);
  registerForgeControlRoutes(deps, app, forge);
  app.notFound((c) => c.json({ code: 404, message: `No route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));
  app.onError((err, c) => {
    if (err instanceof SandboxDroppedConnection) throw err;
    return c.json({ code: 500, message: `sandbox internal error: ${err.message}` }, 500);
  });

  const inProcessFetch = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const req = input instanceof Request && init === undefined ? input : new Request(input, init);
    if (new URL(req.url).origin !== new URL(origin).origin) return outboundFetch(req);
    return app.fetch(req);
  }) as typeof fetch;

  return { app, fetch: inProcessFetch, origin, clock, control, state, forge };
}
