import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { SandboxControl } from './create-control.js';
import { toInstallInfo } from './create-control.js';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { OAuthClient, SandboxSpace } from '../state/types.js';
import { formatIssues, seedOAuthClientSchema, seedServiceAccountSchema, seedSiteSchema } from '../seed/seed-schema.js';

const principalSet = z.object({ users: z.array(z.string()).default([]), groups: z.array(z.string()).default([]) });
const userInput = z
  .object({
    accountId: z.string().min(1).optional(),
    displayName: z.string().min(1),
    publicName: z.string().optional(),
    nickname: z.string().optional(),
    email: z.string().email(),
    emailVisible: z.boolean().optional(),
    accountType: z.enum(['atlassian', 'app', 'customer']).optional(),
    accountStatus: z.enum(['active', 'inactive', 'closed']).optional(),
    groups: z.array(z.string()).optional(),
    sites: z.array(z.string()).optional(),
    apiToken: z.string().min(8).optional(),
    apiTokenScopes: z.array(z.string()).nullable().optional(),
    timeZone: z.string().nullable().optional(),
  })
  .strict();
const userPatch = userInput.omit({ accountId: true, sites: true, accountType: true, nickname: true }).partial().strict();
const spaceInput = z.object({ key: z.string().regex(/^[A-Z0-9]+$/), name: z.string().min(1), permissions: z.object({ read: principalSet, write: principalSet }).optional() }).strict();
const installInput = z.object({ descriptorUrl: z.string().url(), mode: z.enum(['signed', 'legacy']).optional(), installedBy: z.string().optional(), emailApproved: z.boolean().optional() }).strict();
const codeInput = z.object({ clientId: z.string(), accountId: z.string(), redirectUri: z.string().url(), scopes: z.array(z.string()).min(1) }).strict();
const faultMatch = z.object({ pathPrefix: z.string().optional(), method: z.string().optional(), site: z.string().optional(), token: z.string().optional() }).strict().default({});
const faultInput = z.discriminatedUnion('kind', [
  z.object({ id: z.string().optional(), kind: z.literal('rate_limit'), match: faultMatch, limit: z.number().int().min(0), windowMs: z.number().int().positive(), per: z.enum(['route', 'token', 'site']), retryAfterSeconds: z.number().int().min(0).optional(), reason: z.string().default('confluence-quota-tenant-based'), times: z.number().int().positive().nullable().optional() }).strict(),
  z.object({ id: z.string().optional(), kind: z.literal('error'), match: faultMatch, status: z.number().int().min(400).max(599), retryAfterSeconds: z.number().int().min(0).optional(), reason: z.string().optional(), times: z.number().int().positive().nullable().optional() }).strict(),
  z.object({ id: z.string().optional(), kind: z.literal('latency'), match: faultMatch, latencyMs: z.number().int().min(0).max(60_000), times: z.number().int().positive().nullable().optional() }).strict(),
  z.object({ id: z.string().optional(), kind: z.literal('drop'), match: faultMatch, times: z.number().int().positive().nullable().optional() }).strict(),
]);
const settingsPatch = z
  .object({
    refreshTokenReuseLeewayMs: z.number().int().min(0).optional(),
    refreshTokenInactivityMs: z.number().int().positive().optional(),
    refreshTokenAbsoluteMs: z.number().int().positive().optional(),
    accessTokenTtlSeconds: z.number().int().positive().optional(),
    impersonationTokenTtlSeconds: z.number().int().positive().optional(),
    authorizationCodeTtlMs: z.number().int().positive().optional(),
    jwtLeewaySeconds: z.number().int().min(0).optional(),
    installMode: z.enum(['signed', 'legacy']).optional(),
    webhookQuery: z.string().optional(),
    iframeCookies: z.enum(['allowed', 'blocked']).optional(),
    forgeOfflineTokenTtlSeconds: z.number().int().positive().max(4 * 3600).optional(),
    forgeOfflineTokenLimitPerMinute: z.number().int().min(0).optional(),
    forgeContextIdForm: z.enum(['any', 'workspace', 'site']).optional(),
    forgeEventTimeoutMs: z.number().int().positive().max(60_000).optional(),
    forgeEventMaxRetries: z.number().int().min(0).max(10).optional(),
    forgeEventRetryDelayMs: z.number().int().min(0).optional(),
    forgeUiTimeoutMs: z.number().int().positive().max(60_000).optional(),
  })
  .strict();

type Parsed<T> = { ok: true; value: T } | { ok: false; response: Response };

/** Reads a JSON body (empty = `{}`) and validates it; a 400 with the fields' problems otherwise. */
export async function parseBody<T>(c: Context, schema: z.ZodType<T>): Promise<Parsed<T>> {
  let raw: unknown = {};
  const text = await c.req.text().catch(() => '');
  if (text.trim() !== '') {
    try {
      raw = JSON.parse(text);
    } catch {
      return { ok: false, response: c.json({ error: { code: 'BAD_REQUEST', message: 'body is not valid JSON' } }, 400) };
    }
  }
  const r = schema.safeParse(raw);
  if (!r.success) return { ok: false, response: c.json({ error: { code: 'VALIDATION_FAILED', message: formatIssues(r.error) } }, 400) };
  return { ok: true, value: r.data };
}

const errorJson = (c: Context, status: 400 | 404 | 409 | 422 | 502, code: string, message: string, details?: Record<string, unknown>) =>
  c.json({ error: { code, message, ...(details ? { details } : {}) } }, status);

/** The control API under `/_sandbox/` (docs/sandbox.md). Unauthenticated: the sandbox is a local tool. */
export function registerControlRoutes(deps: SandboxDeps, app: Hono, control: SandboxControl): void {
  const guard = async (c: Context, fn: () => Response | Promise<Response>): Promise<Response> => {
    try {
      return await fn();
    } catch (e) {
      return errorJson(c, 409, 'CONFLICT', (e as Error).message);
    }
  };

  app.get('/_sandbox/discovery', (c) => c.json(control.discovery()));
  // One name for the site throughout: `site` (the key in /_sandbox/sites/<site>), as pages and installs say.
  app.get('/_sandbox/state', (c) =>
    c.json({
      spaces: [...deps.state.spaces.values()].map(spaceWire),
      pages: [...deps.state.pages.values()].map((p) => ({ id: p.id, site: p.siteKey, spaceId: p.spaceId, title: p.title, parentId: p.parentId, version: p.version.number, restrictions: p.restrictions })),
      installs: [...deps.state.installs.values()].map((i) => ({ site: i.siteKey, key: i.appKey, enabled: i.enabled, installed: i.installed, installMode: i.installMode })),
    }),
  );

  app.post('/_sandbox/sites', async (c) => {
    const b = await parseBody(c, seedSiteSchema);
    if (!b.ok) return b.response;
    return guard(c, () => c.json(control.addSite(b.value), 201));
  });
  app.patch('/_sandbox/sites/:site', async (c) => {
    const b = await parseBody(c, z.object({ emailApiEnabled: z.boolean().optional() }).strict());
    if (!b.ok) return b.response;
    if (!deps.state.siteByKey(c.req.param('site'))) return errorJson(c, 404, 'NOT_FOUND', 'site not found');
    return c.json(control.setSite(c.req.param('site'), b.value));
  });
  app.post('/_sandbox/users', async (c) => {
    const b = await parseBody(c, userInput);
    if (!b.ok) return b.response;
    return guard(c, () => c.json(control.addUser(b.value), 201));
  });
  app.patch('/_sandbox/users/:accountId', async (c) => {
    const b = await parseBody(c, userPatch);
    if (!b.ok) return b.response;
    if (!deps.state.users.has(c.req.param('accountId'))) return errorJson(c, 404, 'NOT_FOUND', 'user not found');
    return c.json(control.updateUser(c.req.param('accountId'), b.value));
  });
  app.post('/_sandbox/sites/:site/spaces', async (c) => {
    const b = await parseBody(c, spaceInput);
    if (!b.ok) return b.response;
    return guard(c, () => c.json(spaceWire(control.addSpace(c.req.param('site'), b.value)), 201));
  });
  app.post('/_sandbox/oauth-clients', async (c) => {
    const b = await parseBody(c, seedOAuthClientSchema);
    if (!b.ok) return b.response;
    // Registering the same client again is a no-op (200), so a gateway or CLI that restarts against a
    // running sandbox can always register what it stored; a different client under a taken id is a 409.
    const existing = deps.state.oauthClients.get(b.value.clientId);
    if (existing && sameOAuthClient(existing, b.value)) return c.json(b.value, 200);
    return guard(c, () => c.json(control.addOAuthClient(b.value), 201));
  });
  app.post('/_sandbox/service-accounts', async (c) => {
    const b = await parseBody(c, seedServiceAccountSchema);
    if (!b.ok) return b.response;
    return guard(c, () => c.json(control.addServiceAccount(b.value), 201));
  });
  app.post('/_sandbox/oauth/codes', async (c) => {
    const b = await parseBody(c, codeInput);
    if (!b.ok) return b.response;
    return guard(c, () => c.json({ code: control.issueAuthorizationCode(b.value) }, 201));
  });

  app.post('/_sandbox/sites/:site/apps', async (c) => {
    const b = await parseBody(c, installInput);
    if (!b.ok) return b.response;
    const r = await control.installApp(c.req.param('site'), b.value.descriptorUrl, {
      ...(b.value.mode ? { mode: b.value.mode } : {}),
      ...(b.value.installedBy ? { installedBy: b.value.installedBy } : {}),
      ...(b.value.emailApproved !== undefined ? { emailApproved: b.value.emailApproved } : {}),
    });
    if (!r.ok) {
      const status = r.code === 'SITE_NOT_FOUND' ? 404 : r.code === 'DESCRIPTOR_INVALID' ? 422 : 502;
      return errorJson(c, status, r.code, r.message, r.status !== undefined ? { status: r.status } : undefined);
    }
    return c.json(toInstallInfo(deps, r.install), 201);
  });
  app.get('/_sandbox/sites/:site/apps/:appKey', (c) => {
    const info = control.installInfo(c.req.param('site'), c.req.param('appKey'));
    return info ? c.json(info) : errorJson(c, 404, 'NOT_FOUND', 'app not installed on this site');
  });
  const lifecycle = (fn: (site: string, app: string) => Promise<{ ok: true; install: unknown; callbackStatus: number | null } | { ok: false; message: string }>) => async (c: Context) => {
    const r = await fn(c.req.param('site') ?? '', c.req.param('appKey') ?? '');
    if (!r.ok) return errorJson(c, 404, 'NOT_FOUND', r.message);
    return c.json({ ...control.installInfo(c.req.param('site') ?? '', c.req.param('appKey') ?? ''), callbackStatus: r.callbackStatus });
  };
  app.post('/_sandbox/sites/:site/apps/:appKey/enable', lifecycle(control.enableApp));
  app.post('/_sandbox/sites/:site/apps/:appKey/disable', lifecycle(control.disableApp));
  app.delete('/_sandbox/sites/:site/apps/:appKey', lifecycle(control.uninstallApp));

  app.get('/_sandbox/counters', (c) => {
    const q = c.req.query();
    const filter = Object.fromEntries(['kind', 'app', 'user', 'route', 'site'].filter((k) => q[k] !== undefined).map((k) => [k, q[k]!]));
    const entries = control.counters.entries(filter);
    const totals: Record<string, number> = {};
    for (const e of entries) totals[e.kind] = (totals[e.kind] ?? 0) + e.count;
    return c.json({ totals, entries });
  });
  app.delete('/_sandbox/counters', (c) => {
    control.counters.reset();
    return c.body(null, 204);
  });
  app.get('/_sandbox/calls', (c) => c.json(control.counters.calls()));

  app.get('/_sandbox/faults', (c) => c.json(control.faults.list()));
  app.post('/_sandbox/faults', async (c) => {
    const b = await parseBody(c, faultInput);
    if (!b.ok) return b.response;
    return c.json(control.faults.add(b.value as Parameters<SandboxControl['faults']['add']>[0]), 201);
  });
  app.delete('/_sandbox/faults/:id', (c) => (control.faults.remove(c.req.param('id')) ? c.body(null, 204) : errorJson(c, 404, 'NOT_FOUND', 'no such fault')));
  app.delete('/_sandbox/faults', (c) => {
    control.faults.clear();
    return c.body(null, 204);
  });

  app.get('/_sandbox/clock', (c) => c.json({ now: control.now(), iso: new Date(control.now()).toISOString() }));
  app.post('/_sandbox/clock/advance', async (c) => {
    const b = await parseBody(c, z.object({ ms: z.number().int().min(0) }).strict());
    if (!b.ok) return b.response;
    const now = control.advanceClock(b.value.ms);
    return c.json({ now, iso: new Date(now).toISOString() });
  });
  app.get('/_sandbox/settings', (c) => c.json(control.settings()));
  app.patch('/_sandbox/settings', async (c) => {
    const b = await parseBody(c, settingsPatch);
    if (!b.ok) return b.response;
    return c.json(control.updateSettings(b.value as Partial<ReturnType<SandboxControl['settings']>>));
  });
  app.post('/_sandbox/webhooks/flush', async (c) => {
    await control.flushWebhooks();
    return c.body(null, 204);
  });
  app.post('/_sandbox/reset', async (c) => {
    await control.reset();
    return c.body(null, 204);
  });
  app.post('/_sandbox/install-keys/rotate', async (c) => c.json({ kid: await control.rotateInstallKey() }));
}

/** A space as the control API shows it: the site is `site`, as on pages and installs, not the state's `siteKey`. */
function spaceWire({ siteKey, ...space }: SandboxSpace): Omit<SandboxSpace, 'siteKey'> & { site: string } {
  return { ...space, site: siteKey };
}

function sameOAuthClient(a: OAuthClient, b: OAuthClient): boolean {
  const sameList = (x: readonly string[], y: readonly string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return a.clientSecret === b.clientSecret && a.name === b.name && sameList(a.redirectUris, b.redirectUris) && sameList([...a.scopes].sort(), [...b.scopes].sort());
}
